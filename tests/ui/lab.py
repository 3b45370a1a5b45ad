"""A small simulated lab for the panel's tests: a store, a time-of-flight scan, a manager."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shotbook.control import LocalExperimentManager
from shotbook.device.sim import register_sim_types, simulated_lab
from shotbook.registry import Serializer, default_registry
from shotbook.session import DuckDBConfig
from shotbook.types import (
    AnalogTimeLane,
    CameraTimeLane,
    DigitalTimeLane,
    ExecuteShot,
    LinspaceLoop,
    ParameterNamespace,
    StepsConfiguration,
    TakePicture,
    TimeLanes,
)


def lab_globals() -> ParameterNamespace:
    """The globals of the simulated lab."""
    return ParameterNamespace.from_mapping(
        {"mot": {"detuning": "-15 MHz", "loading_time": "500 ms", "power": "10 dBm"}}
    )


def tof_scan(points: int = 4, repetitions: int = 2) -> StepsConfiguration:
    """Time of flight from 2 to 14 ms, ``repetitions`` shots per point."""
    inner = LinspaceLoop(
        "repetition", "0", str(max(repetitions - 1, 0)), repetitions, [ExecuteShot()]
    )
    return StepsConfiguration([LinspaceLoop("time_of_flight", "2 ms", "14 ms", points, [inner])])


def tof_lanes() -> TimeLanes:
    """Load, drop, image: the lanes the simulated lab needs."""
    return TimeLanes(
        ["load", "drop", "image"],
        ["mot.loading_time", "time_of_flight", "1 ms"],
        {
            "mot light": DigitalTimeLane([True, False, False]),
            # the simulated world loads with the repumper and images with the imaging light
            "repump": DigitalTimeLane([True, False, True]),
            "imaging light": DigitalTimeLane([False, False, True]),
            "mot detuning": AnalogTimeLane(["mot.detuning", "mot.detuning", "0 MHz"]),
            "coil current": AnalogTimeLane(["10 A", "0 A", "0 A"]),
            "camera": CameraTimeLane([None, None, TakePicture("cloud")]),
        },
    )


def atom_number(data: Any, parameters: Any) -> float:
    """A per-shot scalar: the counts of the cloud picture above its median."""
    image = data["camera.cloud"]
    return float((image.astype("f8") - float(_median(image))).clip(0).sum())


def _median(image: Any) -> float:
    import numpy as np

    return float(np.median(image))


def make_store(root: Path, *, speed: float = 0.0) -> tuple[Any, Any, dict[Any, Any]]:
    """A DuckDB store at ``root`` with the lab's globals and devices; returns
    ``(storage_manager, registry, compilers)``."""
    registry = default_registry()
    compilers = register_sim_types(registry)
    storage = DuckDBConfig(root).create_storage_manager(Serializer(registry))
    storage.upgrade()
    with storage.session() as session:
        session.set_global_parameters(lab_globals())
        for name, configuration in simulated_lab(speed=speed).items():
            session.default_device_configurations[name] = configuration
    return storage, registry, compilers


def make_manager(storage: Any, registry: Any, compilers: Any) -> LocalExperimentManager:
    """A local manager with the ``atom_number`` analysis."""
    return LocalExperimentManager(
        storage, registry, compilers=compilers, analyses={"atom_number": atom_number}
    )


def add_scan(storage: Any, path: str, points: int = 4, repetitions: int = 2) -> None:
    """Create the time-of-flight scan at ``path``."""
    with storage.session() as session:
        session.sequences.create(path, tof_scan(points, repetitions), tof_lanes())


def open_store(root: Path) -> tuple[Any, Any, dict[Any, Any]]:
    """The store made by :func:`make_store` at ``root``, opened as it is (another process,
    such as an experiment server, may use it too); returns ``(storage, registry, compilers)``."""
    registry = default_registry()
    compilers = register_sim_types(registry)
    storage = DuckDBConfig(root).create_storage_manager(Serializer(registry))
    return storage, registry, compilers
