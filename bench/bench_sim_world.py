"""Benchmark: one 512×512 fluorescence picture of the simulated world vs the closed-form
simulated camera of before (``AtomCloudModel.image``), side by side in one run.

Run from the repository root::

    PYTHONPATH=src .venv/bin/python bench/bench_sim_world.py [--runs 7]

The world's figure is what its camera does per picture once a shot is programmed: read the
imaging light and the trigger from the compiled instructions, evolve the cloud through the
shot's signals (loading, molasses ramp, flight), draw the shot's noise and render the
picture (``SimulatedCamera._draw``). The baseline renders the same cloud (same atom number,
temperature and time of flight) with ``AtomCloudModel.image``. Clouds after 2, 8 and 14 ms of
flight. Figures: median over ``--runs`` runs of the mean time per picture in each run
(interleaved: baseline and world alternate within a run). The last columns time the same
camera switched to absorption imaging (``AbsorptionImaging()``: the probe through the same
cloud, with fringes and saturation) on the same shot.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shotbook.cli._demo import demo_time_lanes  # noqa: E402
from shotbook.cli._demo_scan import demo_globals  # noqa: E402
from shotbook.compile import SequenceCompiler  # noqa: E402
from shotbook.control._runner import with_shot_key  # noqa: E402
from shotbook.device import ShotRunner, open_devices  # noqa: E402
from shotbook.device.sim import (  # noqa: E402
    AbsorptionImaging,
    AtomCloudModel,
    register_sim_types,
    simulated_lab,
)
from shotbook.registry import default_registry  # noqa: E402
from shotbook.types import ShotParameters, parse_unit  # noqa: E402

FLIGHTS = (2e-3, 8e-3, 14e-3)
PICTURES = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    registry = default_registry()
    compilers = register_sim_types(registry)
    lab = simulated_lab(seed=1)
    compiler = SequenceCompiler(demo_time_lanes(), lab, compilers)
    values = demo_globals().compile().evaluate()
    rows = []
    with (
        open_devices(
            lab, registry, initialization=compiler.compile_initialization_parameters()
        ) as devices,
        ShotRunner(devices) as runner,
    ):
        camera = devices["camera"]
        for flight in FLIGHTS:
            parameters = ShotParameters(
                {**dict(values), "time_of_flight": flight},
                {**values.units, "time_of_flight": parse_unit("ms")},
            )
            shot = with_shot_key(compiler.compile_shot(parameters), 0)
            runner.run_shot(shot, timeout=10)  # programs the world with this shot
            plan = [("atoms", 100e-6)]
            camera._exposures, camera._names = [100e-6], ["atoms"]
            (cloud,) = camera._world.evolve([0.5 + 12e-3 + flight + 50e-6])
            model = AtomCloudModel(
                temperature=cloud.temperature,
                max_atom_number=cloud.atoms,
                loading_time_constant=1e-9,
                optimal_detuning=-1e6,
            )
            rng = np.random.default_rng(0)
            world_runs, model_runs, absorption_runs = [], [], []
            for _ in range(args.runs):
                start = time.perf_counter()
                for _ in range(PICTURES):
                    model.image(
                        loading_time=1.0, detuning=-1e6, time_of_flight=flight + 50e-6, rng=rng
                    )
                model_runs.append((time.perf_counter() - start) / PICTURES)
                start = time.perf_counter()
                for _ in range(PICTURES):
                    camera._draw(plan)
                world_runs.append((time.perf_counter() - start) / PICTURES)
                camera.absorption = AbsorptionImaging()
                start = time.perf_counter()
                for _ in range(PICTURES):
                    camera._draw(plan)
                absorption_runs.append((time.perf_counter() - start) / PICTURES)
                camera.absorption = None
            rows.append(
                (
                    flight,
                    statistics.median(model_runs),
                    statistics.median(world_runs),
                    statistics.median(absorption_runs),
                )
            )
    print("| flight | closed-form camera (baseline) | world | ratio | absorption | ratio |")
    print("|---|---|---|---|---|---|")
    for flight, baseline, world, absorption in rows:
        print(
            f"| {flight * 1e3:g} ms | {baseline * 1e3:.2f} ms | {world * 1e3:.2f} ms | "
            f"{world / baseline:.2f} | {absorption * 1e3:.2f} ms | {absorption / baseline:.2f} |"
        )


if __name__ == "__main__":
    main()
