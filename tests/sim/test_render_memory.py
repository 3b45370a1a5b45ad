"""The simulated camera draws its pictures in reused scratch memory (issue #16's budget).

A picture's temporaries (the float frame, the cloud's means and Poisson counts: ~4 MB for
512×512) allocated afresh every picture came from the operating system as new pages in a
device server's worker threads: ~1,000 page faults, ~2 ms a shot that the same shot in
process did not pay. Measured here as memory, not time: while a shot runs, the memory
allocated beyond its pictures stays small.
"""

from __future__ import annotations

import tracemalloc

from shotbook.compile import SequenceCompiler
from shotbook.control._runner import with_shot_key
from shotbook.device import ShotRunner, open_devices

from .lab import lab, parameters, registry_and_compilers, tof_lanes, world

SLACK = 384 * 1024
"""Bytes a shot may allocate beyond its pictures (the old code: ~3.5 MB a picture)."""


def test_a_shot_allocates_little_beyond_its_pictures() -> None:
    registry, compilers = registry_and_compilers()
    configurations = lab(world())
    compiler = SequenceCompiler(tof_lanes(), configurations, compilers)
    shots = [
        with_shot_key(compiler.compile_shot(parameters(flight=flight)), key)
        for key, flight in enumerate((8e-3, 9e-3))
    ]
    with (
        open_devices(
            configurations, registry, initialization=compiler.compile_initialization_parameters()
        ) as devices,
        ShotRunner(devices) as runner,
    ):
        first = runner.run_shot(shots[0], timeout=30)  # the scratch memory is sized here
        tracemalloc.start()
        try:
            data = runner.run_shot(shots[1], timeout=30)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    pictures = sum(picture.nbytes for picture in data.values())
    assert set(data) == {"camera.atoms", "camera.background"}
    assert all(picture.shape == (512, 512) for picture in data.values())
    assert data["camera.atoms"].sum() > first["camera.background"].sum()  # a cloud was drawn
    assert peak < pictures + SLACK, f"{peak / 2**20:.2f} MiB for {pictures / 2**20:.2f} MiB"
