"""Stores for the analysis tests, filled through the public storage interfaces."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from shotbook.registry import Serializer, default_registry
from shotbook.session import DuckDBConfig, RunOwner, ShotWriter, StorageManager
from shotbook.types import (
    ExecuteShot,
    ParameterNamespace,
    ShotParameters,
    StepsConfiguration,
    TimeLanes,
    parse_unit,
)

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
IMAGE_SHAPE = (8, 10)


def image(seed: int, shape: tuple[int, ...] = IMAGE_SHAPE) -> np.ndarray:
    """A distinct uint16 image per seed."""
    return np.random.default_rng(seed).integers(0, 4096, size=shape, dtype=np.uint16)


@dataclass
class SequenceSpec:
    """How to fill one sequence: per shot, SI parameters with units and data."""

    path: str
    shots: int
    parameters: Callable[[int], dict[str, Any]]
    units: dict[str, str | None]
    data: Callable[[int], dict[str, Any]] = field(default=lambda i: {})
    notes: str = ""
    data_units: dict[str, str | None] = field(default_factory=dict)


def new_manager(root: Path, compact_every: int = 4) -> StorageManager:
    """A storage manager on a new DuckDB + Parquet store."""
    manager = DuckDBConfig(root, compact_every=compact_every).create_storage_manager(
        Serializer(default_registry())
    )
    manager.upgrade()
    return manager


def shot_parameters(spec: SequenceSpec, index: int) -> ShotParameters:
    """The parameters of shot ``index`` of ``spec`` with their display units."""
    units = {name: None if u is None else parse_unit(u) for name, u in spec.units.items()}
    return ShotParameters(spec.parameters(index), units)


def write(writer: ShotWriter, spec: SequenceSpec, indices: range) -> None:
    """Write these shots of ``spec`` through the run's writer."""
    for index in indices:
        begin = T0 + timedelta(seconds=index)
        writer.write_shot(
            index,
            shot_parameters(spec, index),
            spec.data(index),
            begin,
            begin + timedelta(milliseconds=145),
            data_units=spec.data_units,
        )


@contextmanager
def running(manager: StorageManager, spec: SequenceSpec) -> Iterator[ShotWriter]:
    """Create, prepare and start the sequence; yield its open writer; finish it afterwards."""
    with manager.session() as session:
        session.sequences.create(spec.path, StepsConfiguration([ExecuteShot()]), TimeLanes([], []))
        if spec.notes:
            session.sequences.set_notes(spec.path, spec.notes)
        session.sequences.prepare(
            spec.path, ParameterNamespace.empty(), {}, RunOwner.current(), spec.shots
        )
        writer = session.sequences.start(spec.path)
    try:
        yield writer
    finally:
        writer.close()
    with manager.session() as session:
        session.sequences.finish(spec.path)


def fill(manager: StorageManager, spec: SequenceSpec) -> None:
    """A FINISHED sequence with all the shots of ``spec``."""
    with running(manager, spec) as writer:
        write(writer, spec, range(spec.shots))


def draft(manager: StorageManager, path: str) -> None:
    """A DRAFT sequence (no shots)."""
    with manager.session() as session:
        session.sequences.create(path, StepsConfiguration([ExecuteShot()]), TimeLanes([], []))


def tof_a() -> SequenceSpec:
    """6 shots: detuning in MHz, wait in ms, an int and a bool, an image and a result."""
    return SequenceSpec(
        "/tof/a",
        6,
        lambda i: {
            "mot.detuning": -2e6 + 1e5 * i,
            "wait_time": 1e-3 * (i + 1),
            "repeat": i % 2,
            "imaging.enabled": i % 3 != 0,
        },
        {"mot.detuning": "MHz", "wait_time": "ms", "repeat": None, "imaging.enabled": None},
        lambda i: {"camera.picture": image(i), "analysis.atom_number": 1000.0 + i},
        notes="first scan",
    )


def tof_b() -> SequenceSpec:
    """5 shots: detuning stored in kHz, a parameter /tof/a lacks, no bool."""
    return SequenceSpec(
        "/tof/b",
        5,
        lambda i: {
            "mot.detuning": -1.5e6 + 2.5e5 * i,
            "wait_time": 2e-3 * (i + 1),
            "repeat": i % 2,
            "probe.power": 1e-3 * i,
        },
        {"mot.detuning": "kHz", "wait_time": "ms", "repeat": None, "probe.power": "mW"},
        lambda i: {"camera.picture": image(100 + i), "analysis.atom_number": 2000.0 + i},
    )


def tof_sub_d() -> SequenceSpec:
    """3 shots, nested one level deeper, without images."""
    return SequenceSpec(
        "/tof/sub/d",
        3,
        lambda i: {"wait_time": 0.5e-3 * (i + 1)},
        {"wait_time": "ms"},
        lambda i: {"analysis.atom_number": 3000.0 + i},
    )


def other_c() -> SequenceSpec:
    """2 shots elsewhere in the tree, with a bigger image."""
    return SequenceSpec(
        "/other/c",
        2,
        lambda i: {"wait_time": 1e-3},
        {"wait_time": "ms"},
        lambda i: {"camera.picture": image(200 + i, (4, 4))},
    )
