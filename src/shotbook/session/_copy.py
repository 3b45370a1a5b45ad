"""Copy a whole store into another one, of any backend, verifying every shot.

>>> from shotbook.session._copy import copy_store
>>> summary = copy_store(duckdb_manager, postgresql_manager)   # doctest: +SKIP
>>> summary.shots                                              # doctest: +SKIP
2400
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from shotbook.types._paths import PureSequencePath

from ._errors import StorageError
from ._interfaces import (
    DatedPaths,
    ExperimentSession,
    RestorableSequences,
    RunOwner,
    SequenceStats,
    StorageManager,
)
from ._states import State


@dataclass(frozen=True)
class CopyProgress:
    """Where a copy is: the sequence just copied and the totals so far."""

    sequence: PureSequencePath
    sequences_done: int
    sequences_total: int
    shots_copied: int


@dataclass(frozen=True)
class CopySummary:
    """What :func:`copy_store` copied."""

    folders: int
    sequences: int
    shots: int
    default_device_configurations: int


class CopyVerificationError(StorageError):
    """A shot read back from the destination differs from the source."""


class _StoredUnit:
    """A display unit whose values are already converted (``from_si`` keeps them)."""

    __slots__ = ("symbol",)

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol

    def from_si(self, x: Any) -> Any:
        return x


def copy_store(
    source_manager: StorageManager,
    destination_manager: StorageManager,
    progress: Callable[[CopyProgress], None] | None = None,
) -> CopySummary:
    """Copy everything of one store into an empty store (``shotbook copy SRC DST``).

    Copies the folders, the sequences in every state (scan, time lanes, notes, snapshots
    of globals and device configurations, owner, traceback), the global parameters, the
    default device configurations and every shot; each shot is read back from the
    destination and compared with the source (parameters, units, times, scalars and array
    bytes), else :class:`CopyVerificationError` names the sequence and the shot. When the
    destination backend can record them (the SQL backends), creation, start and stop
    times and who ran each sequence are kept too; otherwise they are those of the copy.
    ``progress`` is called after each sequence. Sequences being run are copied with the
    shots they have at that moment and stay PREPARING or RUNNING in the copy.
    """
    with source_manager.session() as source, destination_manager.session() as destination:
        if destination.paths.all_paths():
            raise StorageError(
                repr(destination_manager),
                "the destination store is not empty: copy into a new store (nothing was copied)",
            )
        destination.set_global_parameters(source.get_global_parameters())
        configurations = dict(source.default_device_configurations)
        for name, configuration in configurations.items():
            destination.default_device_configurations[name] = configuration
        sequences = source.sequences.all_sequences()
        sequence_paths = {stats.path for stats in sequences}
        folders = sorted(source.paths.all_paths() - sequence_paths, key=lambda p: p.parts)
        for folder in folders:
            destination.paths.create(folder)
        if isinstance(destination.paths, DatedPaths):
            for folder in folders:
                destination.paths.set_creation_date(folder, source.paths.creation_date(folder))
        shots = 0
        for done, stats in enumerate(sequences, start=1):
            shots += _copy_sequence(source, destination, stats)
            if progress is not None:
                progress(CopyProgress(stats.path, done, len(sequences), shots))
    return CopySummary(len(folders), len(sequences), shots, len(configurations))


def _copy_sequence(
    source: ExperimentSession, destination: ExperimentSession, stats: SequenceStats
) -> int:
    path = stats.path
    source_sequences = source.sequences
    target = destination.sequences
    target.create(path, source_sequences.get_iteration(path), source_sequences.get_time_lanes(path))
    target.set_notes(path, source_sequences.get_notes(path))
    state = stats.state
    copied = 0
    if state is not State.DRAFT:
        from shotbook.types import ParameterNamespace

        global_parameters = source_sequences.get_global_parameters(path)
        configurations = source_sequences.get_device_configurations(path) or {}
        prepare: Any = target.prepare
        prepare(
            path,
            global_parameters if global_parameters is not None else ParameterNamespace.empty(),
            configurations,
            stats.owner if stats.owner is not None else RunOwner.current(),
            stats.expected_number_of_shots,
            ran_by=stats.ran_by,
            host=stats.host,
        )
        shots = source_sequences.get_shots(path)
        if state in (State.RUNNING, State.FINISHED) or shots:
            with target.start(path) as writer:
                for shot in shots:
                    units = {
                        name: _StoredUnit(symbol)
                        for name, symbol in shot.units.items()
                        if symbol is not None
                    }
                    writer.write_shot(
                        shot.index,
                        shot.parameters,
                        shot.data,
                        shot.start_time,
                        shot.end_time,
                        units=units,
                        data_units=shot.data_units,
                    )
            for shot in shots:
                _verify(path, shot, target.get_shot(path, shot.index))
            copied = len(shots)
        if state is State.FINISHED:
            target.finish(path)
        elif state is State.INTERRUPTED:
            target.interrupt(path, detail="the copy of a sequence interrupted in the source store")
        elif state is State.CRASHED:
            target.crash(path, source_sequences.get_traceback(path) or "")
    if isinstance(target, RestorableSequences):
        target.restore_record(path, stats)
    return copied


def _verify(path: PureSequencePath, original: Any, copy: Any) -> None:
    def fail(what: str) -> None:
        raise CopyVerificationError(
            path, f"shot {original.index} differs in the copy: {what}; the copy is incomplete"
        )

    if not _same_mapping(original.parameters, copy.parameters):
        fail(f"parameters {original.parameters!r} became {copy.parameters!r}")
    if original.units != copy.units:
        fail(f"units {original.units!r} became {copy.units!r}")
    if original.data_units != copy.data_units:
        fail(f"data units {original.data_units!r} became {copy.data_units!r}")
    if not _same_time(original.start_time, copy.start_time) or not _same_time(
        original.end_time, copy.end_time
    ):
        fail("its start or end time changed")
    if not _same_mapping(original.data, copy.data):
        changed = sorted(
            set(original.data) ^ set(copy.data)
            or {k for k in original.data if not _same_value(original.data[k], copy.data[k])}
        )
        fail(f"data {', '.join(changed)} changed")


def _same_time(a: datetime, b: datetime) -> bool:
    return a == b


def _same_mapping(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return set(a) == set(b) and all(_same_value(a[key], b[key]) for key in a)


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()
        )
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


__all__ = ["CopyProgress", "CopySummary", "CopyVerificationError", "copy_store"]
