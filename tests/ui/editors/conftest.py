"""A real store (DuckDB + Parquet in a temporary folder) with the demo lab and one draft."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shotbook.device.sim import simulated_lab
from shotbook.extension import Experiment
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
    TimeLanes,
    VariableDeclaration,
)

PATH = "/scans/tof"


def demo_lanes() -> TimeLanes:
    """Three steps on the demo lab's lanes; nothing to complain about."""
    return TimeLanes(
        ["load", "tof", "image"],
        ["mot.loading_time", "time_of_flight", "100 us"],
        {
            "mot light": DigitalTimeLane([True, False, False]),
            "mot detuning": AnalogTimeLane(["mot.detuning", Ramp(), "0 MHz"]),
            "coil current": AnalogTimeLane(["10 A", "0 A", "0 A"]),
            "camera": CameraTimeLane([None, None, "atoms"]),
        },
    )


def demo_scan() -> StepsConfiguration:
    """A declaration then a 4-point linspace loop (4 shots)."""
    return StepsConfiguration(
        [
            VariableDeclaration("probe.power", "1 mW"),
            LinspaceLoop("time_of_flight", "2 ms", "8 ms", 4, [ExecuteShot()]),
        ]
    )


def demo_globals() -> ParameterNamespace:
    """The globals the lanes use."""
    return ParameterNamespace.from_mapping(
        {"mot": {"detuning": "-15 MHz", "loading_time": "100 ms"}, "offset": "2 * mot.detuning"}
    )


def make_experiment(root: Path) -> Experiment:
    """An experiment on a fresh store at ``root`` with the demo lab and the draft ``PATH``."""
    experiment = Experiment(DuckDBConfig(root))
    experiment.setup_default_extensions()
    with experiment.storage_session() as session:
        for name, configuration in simulated_lab().items():
            session.default_device_configurations[name] = configuration
        session.set_global_parameters(demo_globals())
        session.sequences.create(PATH, demo_scan(), demo_lanes())
    return experiment


@pytest.fixture
def experiment(tmp_path: Path) -> Iterator[Experiment]:
    experiment = make_experiment(tmp_path / "store")
    yield experiment
    experiment.close()


@pytest.fixture
def storage(experiment: Experiment) -> Any:
    return experiment.get_storage_manager()


def stored(storage: Any, what: str, path: str = PATH) -> Any:
    """Read the value straight from the store (not through an editor)."""
    with storage.session() as session:
        if what == "lanes":
            return session.sequences.get_time_lanes(path)
        if what == "scan":
            return session.sequences.get_iteration(path)
        if what == "globals":
            return session.get_global_parameters()
        if what == "devices":
            return dict(session.default_device_configurations)
    raise ValueError(what)
