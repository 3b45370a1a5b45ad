"""The lab of the control tests: the simulated lab, a reference sequence, test devices."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from shotbook.device import CameraTimeoutError
from shotbook.device.remote import register_device_class
from shotbook.device.sim import SimulatedCamera, SimulatedSequencer, register_sim_types
from shotbook.registry import Serializer, TypeRegistry, default_registry
from shotbook.session import DuckDBConfig
from shotbook.types import (
    AnalogTimeLane,
    CameraTimeLane,
    DigitalTimeLane,
    ExecuteShot,
    LinspaceLoop,
    ParameterNamespace,
    Ramp,
    StepsConfiguration,
    TakePicture,
    TimeLanes,
)


class FlakyCamera(SimulatedCamera):
    """A simulated camera whose first ``failures`` pictures time out (class-wide budget)."""

    failures: ClassVar[int] = 0
    lock: ClassVar[threading.Lock] = threading.Lock()

    def acquire(self, picture_names: Sequence[str]) -> Iterator[np.ndarray]:
        with FlakyCamera.lock:
            fail = FlakyCamera.failures > 0
            if fail:
                FlakyCamera.failures -= 1
        if fail:
            return self._fail_pictures(list(picture_names))
        return super().acquire(picture_names)

    def _fail_pictures(self, names: list[str]) -> Iterator[np.ndarray]:
        raise CameraTimeoutError(self.name, names[0], 0.01)
        yield  # pragma: no cover - makes this a generator


class CountingSequencer(SimulatedSequencer):
    """A simulated sequencer counting how many were ever built (to see devices untouched)."""

    instances: ClassVar[int] = 0

    def __init__(self, name: str, **kwargs: Any) -> None:
        with FlakyCamera.lock:
            CountingSequencer.instances += 1
        super().__init__(name, **kwargs)


def lab_registry() -> tuple[TypeRegistry, dict[type, Any]]:
    """A registry with the simulated lab and the test devices; the sim compilers."""
    registry = default_registry()
    compilers = register_sim_types(registry)
    register_device_class(registry, "flaky_camera", FlakyCamera)
    register_device_class(registry, "counting_sequencer", CountingSequencer)
    return registry, compilers


def lab_lanes(tof_duration: str = "time_of_flight") -> TimeLanes:
    """The reference shot: load, ramp, time of flight, image, background."""
    return TimeLanes(
        ["load", "ramp", "tof", "image", "background"],
        ["mot.loading_time", "10 ms", tof_duration, "1 ms", "1 ms"],
        {
            "mot light": DigitalTimeLane([True, True, False, True, True]),
            # the simulated world loads with the repumper on and sees the cloud only while
            # the imaging light is on: the background is a dark frame
            "repump": DigitalTimeLane([True, True, False, True, False]),
            "imaging light": DigitalTimeLane([False, False, False, True, False]),
            "mot detuning": AnalogTimeLane.from_blocks(
                [("mot.detuning", 1), (Ramp(), 1), ("mot.detuning + 2 MHz", 3)]
            ),
            "coil current": AnalogTimeLane.from_blocks([("10 A", 2), ("0 A", 3)]),
            "camera": CameraTimeLane.from_blocks(
                [(None, 3), (TakePicture("cloud"), 1), (TakePicture("background"), 1)]
            ),
        },
    )


def lab_globals(loading_time: str = "20 ms") -> ParameterNamespace:
    return ParameterNamespace.from_mapping(
        {"mot": {"detuning": "-15 MHz", "loading_time": loading_time}}
    )


def tof_scan(num: int = 5, start: str = "2 ms", stop: str = "10 ms") -> StepsConfiguration:
    return StepsConfiguration([LinspaceLoop("time_of_flight", start, stop, num, [ExecuteShot()])])


def make_storage(root: Path, registry: TypeRegistry) -> Any:
    storage = DuckDBConfig(root, compact_every=1000).create_storage_manager(Serializer(registry))
    storage.upgrade()
    return storage


def setup_store(
    storage: Any,
    configurations: Mapping[str, Any],
    global_parameters: ParameterNamespace | None = None,
) -> None:
    with storage.session() as session:
        session.set_global_parameters(global_parameters or lab_globals())
        for name in list(session.default_device_configurations):
            del session.default_device_configurations[name]
        for name, configuration in configurations.items():
            session.default_device_configurations[name] = configuration


def create_sequence(
    storage: Any,
    path: str,
    scan: StepsConfiguration | None = None,
    lanes: TimeLanes | None = None,
) -> str:
    with storage.session() as session:
        session.sequences.create(path, scan or tof_scan(), lanes or lab_lanes())
    return path


def state_of(storage: Any, path: str) -> str:
    with storage.session() as session:
        return str(session.sequences.get_state(path).value)


def shots_of(storage: Any, path: str) -> Any:
    with storage.session() as session:
        return session.sequences.read(path)
