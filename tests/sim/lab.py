"""Helpers of the simulated-world tests: lanes, shot parameters and in-process runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from shotbook.compile import SequenceCompiler
from shotbook.control._runner import with_shot_key
from shotbook.device import ShotRunner, open_devices
from shotbook.device.sim import SimulatedWorld, register_sim_types, simulated_lab
from shotbook.registry import TypeRegistry, default_registry
from shotbook.types import (
    AnalogTimeLane,
    CameraTimeLane,
    DigitalTimeLane,
    ShotParameters,
    TimeLanes,
    parse_unit,
)

QUIET = {
    "atom_number_noise": 0.0,
    "temperature_noise": 0.0,
    "size_noise": 0.0,
    "position_jitter": 0.0,
    "probe_intensity_noise": 0.0,
    "probe_pointing_jitter": 0.0,
}
"""World settings without shot-to-shot noise (camera noise stays)."""

EXPOSURE = 100e-6


def registry_and_compilers() -> tuple[TypeRegistry, dict[type, Any]]:
    registry = default_registry()
    return registry, register_sim_types(registry)


def world(**changes: Any) -> SimulatedWorld:
    return dataclasses.replace(SimulatedWorld(), **changes)


def lab(world_settings: SimulatedWorld | None = None, **kwargs: Any) -> dict[str, Any]:
    return simulated_lab(world=world_settings, **kwargs)


def tof_lanes(
    *,
    flight: str = "flight",
    mot_light: bool = True,
    detuning: Sequence[Any] = ("mot.detuning", "0 MHz", "0 MHz", "0 MHz", "0 MHz"),
    imaging: Sequence[bool] = (False, False, True, False, True),
    coils: str = "coils.current",
) -> TimeLanes:
    """Load, fly (no molasses: the cloud keeps the MOT's temperature), image, wait, background.

    No parameter is named ``time_of_flight``: the flight is the ``fly`` step's duration.
    """
    return TimeLanes(
        ["load", "fly", "image", "wait", "background"],
        ["mot.loading_time", flight, "imaging.exposure", "100 ms", "imaging.exposure"],
        {
            "mot light": DigitalTimeLane([mot_light, False, False, False, False]),
            "repump": DigitalTimeLane([True, False, True, False, True]),
            "imaging light": DigitalTimeLane(list(imaging)),
            "mot detuning": AnalogTimeLane(list(detuning)),
            "coil current": AnalogTimeLane([coils, "0 A", "0 A", "0 A", "0 A"]),
            "camera": CameraTimeLane([None, None, "atoms", None, "background"]),
        },
    )


UNITS = {
    "mot.loading_time": "ms",
    "mot.detuning": "MHz",
    "flight": "ms",
    "imaging.exposure": "us",
    "coils.current": "A",
    "molasses.detuning": "MHz",
    "molasses.duration": "ms",
}


def parameters(**values: float) -> ShotParameters:
    """Shot parameters (SI) with defaults: 500 ms loading at -15 MHz, 10 A, 5 ms flight."""
    merged = {
        "mot.loading_time": 0.5,
        "mot.detuning": -15e6,
        "flight": 5e-3,
        "imaging.exposure": EXPOSURE,
        "coils.current": 10.0,
    }
    merged.update({name.replace("__", "."): value for name, value in values.items()})
    units = {name: parse_unit(UNITS[name]) if name in UNITS else None for name in merged}
    return ShotParameters(merged, units)


def run_shots(
    lanes: TimeLanes,
    shots: Sequence[ShotParameters],
    configurations: Mapping[str, Any] | None = None,
    keys: Sequence[int] | None = None,
    inspect: Any = None,
) -> list[dict[str, Any]]:
    """Compile and run ``shots`` in this process, keyed ``0, 1, ...`` (or ``keys``)."""
    registry, compilers = registry_and_compilers()
    configurations = dict(configurations or lab())
    compiler = SequenceCompiler(lanes, configurations, compilers)
    out = []
    with (
        open_devices(
            configurations, registry, initialization=compiler.compile_initialization_parameters()
        ) as devices,
        ShotRunner(devices) as runner,
    ):
        for index, shot in enumerate(shots):
            key = index if keys is None else keys[index]
            compiled = with_shot_key(compiler.compile_shot(shot), key)
            out.append(runner.run_shot(compiled, timeout=30))
            if inspect is not None:
                inspect(devices)
    return out
