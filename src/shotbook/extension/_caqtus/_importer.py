"""Import a whole caqtus database into a shotbook store, resumably, verifying every shot."""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from shotbook.session import (
    DatedPaths,
    ExperimentSession,
    RestorableSequences,
    RunOwner,
    SequenceStats,
    State,
    StorageManager,
)
from shotbook.types import InvalidPathError, PureSequencePath

from ._convert import (
    Converter,
    Names,
    Problem,
    data_label,
    decode_array,
    shot_parameters,
    structured_value,
    traceback_text,
)
from ._devices import DeviceConverter, convert_configuration
from ._source import CaqtusImportError, CaqtusSequence, CaqtusShotRow, CaqtusSource

IN_PROGRESS = "caqtus import in progress: this sequence is NOT complete"
"""First line of the notes of a sequence whose import has not finished (resumed on rerun)."""
IMPORTED = "Imported from caqtus"
"""First line of the notes of a sequence imported whole."""
INCOMPLETE = "INCOMPLETE IMPORT"
"""Heads the list of expressions kept as text in an imported sequence's notes."""


class CaqtusImportWarning(UserWarning):
    """Something imported differently from caqtus (a renamed name, an opaque device...)."""


@dataclass
class CaqtusImportSummary:
    """What :func:`import_caqtus` did."""

    folders: int = 0
    sequences_imported: int = 0
    sequences_skipped: int = 0
    shots_written: int = 0
    incomplete: dict[str, list[str]] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class _StoredUnit:
    """A display unit whose values are already in that unit (``from_si`` keeps them)."""

    __slots__ = ("symbol",)

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol

    def from_si(self, x: Any) -> Any:
        return x


_STATES = {
    "DRAFT": State.DRAFT,
    "FINISHED": State.FINISHED,
    "INTERRUPTED": State.INTERRUPTED,
    "CRASHED": State.CRASHED,
    # a run still going on (or whose process died) in caqtus is imported as interrupted
    "PREPARING": State.INTERRUPTED,
    "RUNNING": State.INTERRUPTED,
}


def import_caqtus(
    source: str | Path,
    destination: StorageManager,
    device_types: Mapping[str, DeviceConverter] | None = None,
    *,
    progress: bool = True,
    warn: Callable[[str], None] | None = None,
) -> CaqtusImportSummary:
    """Import the caqtus database ``source`` (a SQLite file or a ``postgresql://`` URL).

    Writes the path tree, the global parameters, the default device configurations and
    every sequence (steps, time lanes, state, times, globals and device configurations
    frozen at launch, traceback, every shot's parameters and data), reading each shot back
    to compare it. ``device_types`` maps a caqtus configuration type name to a converter
    (see :func:`sequencer_converter`); an unmapped type is kept as an
    :class:`~shotbook.registry.OpaqueDeviceConfiguration` with a warning.

    Resumable: a sequence is marked in progress in its notes until its last shot is verified;
    a rerun skips the sequences already imported and imports again (from scratch) the one
    interrupted. An expression shotbook cannot parse is kept as text in the sequence's notes,
    which then start with ``INCOMPLETE IMPORT`` and name the lane or step.
    Raises :class:`CaqtusImportError` naming the table, sequence or shot of bad input.
    """
    summary = CaqtusImportSummary()

    def note(message: str) -> None:
        summary.warnings.append(message)
        if warn is not None:
            warn(message)
        else:
            warnings.warn(message, CaqtusImportWarning, stacklevel=3)

    names = Names(warn=note)
    mapping = dict(device_types or {})
    with CaqtusSource(source) as caqtus, destination.session() as session:
        globals_converter = Converter(names, "(current globals)")
        session.set_global_parameters(globals_converter.namespace(caqtus.global_parameters()))
        for problem in globals_converter.problems:
            note(str(problem))
        for name, type_name, content in caqtus.default_device_configurations():
            session.default_device_configurations[name] = convert_configuration(
                name, type_name, content, mapping, note, "default device configurations"
            )
        sequences = caqtus.sequences()
        sequence_paths = {s.path for s in sequences}
        paths = session.paths
        created: dict[str, datetime] = {}
        for row in caqtus.paths():
            created[row.path] = row.created
            if row.path in sequence_paths:
                continue
            folder = _path(row.path, "table path")
            if not session.paths.exists(folder):
                session.paths.create(folder)
                if isinstance(paths, DatedPaths):
                    paths.set_creation_date(folder, row.created)
            summary.folders += 1
        counts = {s.id: caqtus.shot_count(s) for s in sequences}
        from tqdm.auto import tqdm

        with tqdm(
            total=sum(counts.values()), unit="shot", desc="import-caqtus", disable=not progress
        ) as bar:
            for sequence in sequences:
                _import_sequence(
                    caqtus, session, sequence, created, names, mapping, note, summary, bar
                )
    summary.renamed = dict(names.renamed)
    return summary


def _path(text: str, where: str) -> PureSequencePath:
    try:
        return PureSequencePath(text)
    except InvalidPathError as error:
        raise CaqtusImportError(f"{where}: {error}") from None


def _import_sequence(
    caqtus: CaqtusSource,
    session: ExperimentSession,
    sequence: CaqtusSequence,
    created: Mapping[str, datetime],
    names: Names,
    mapping: Mapping[str, DeviceConverter],
    note: Callable[[str], None],
    summary: CaqtusImportSummary,
    bar: Any,
) -> None:
    path = _path(sequence.path, "table sequences")
    target = session.sequences
    if session.paths.exists(path):
        notes = target.get_notes(path) if target.is_sequence(path) else ""
        if notes.startswith(IN_PROGRESS):
            if target.get_state(path) in (State.PREPARING, State.RUNNING):
                target.interrupt(path, detail="a caqtus import resumed after it was cut off")
            session.paths.delete(path, delete_sequences=True)
        elif notes.startswith((IMPORTED, INCOMPLETE)):
            summary.sequences_skipped += 1
            bar.update(len(target.get_shots(path)))
            return
        else:
            raise CaqtusImportError(
                f"sequence {sequence.path}: {path} already exists in the destination store and "
                "was not imported from caqtus (nothing was written for it)"
            )
    state = _STATES.get(sequence.state)
    if state is None:
        raise CaqtusImportError(
            f"table sequences, sequence {sequence.path}: unknown state {sequence.state!r}"
        )
    converter = Converter(names, sequence.path)
    iteration = converter.steps(caqtus.sequence_content(sequence, "sequence.iteration"))
    lanes = converter.time_lanes(caqtus.sequence_content(sequence, "sequence.time_lanes"))
    header = f"{IMPORTED} ({caqtus.location}, sequence id {sequence.id}, state {sequence.state})."
    with session.transaction():  # never a sequence without the in-progress mark
        target.create(path, iteration, lanes)
        target.set_notes(path, f"{IN_PROGRESS}\n{header}")
    written = 0
    try:
        if state is not State.DRAFT:
            written = _run(caqtus, session, sequence, state, converter, mapping, note, bar)
        owner = None
        record = SequenceStats(
            path=path,
            state=state,
            number_of_shots=written,
            expected_number_of_shots=sequence.expected_number_of_shots,
            created=created.get(sequence.path, datetime.now().astimezone()),
            start_time=sequence.start_time,
            stop_time=sequence.stop_time,
            owner=owner,
            last_heartbeat=None,
            ran_by=None,
            host=None,
            shotbook_version=None,
        )
        if isinstance(target, RestorableSequences):
            target.restore_record(path, record)
    except Exception as error:
        reason = str(error)
        try:
            if target.get_state(path) in (State.PREPARING, State.RUNNING):
                target.interrupt(path, detail="a caqtus import failed")
            target.set_notes(path, f"{IN_PROGRESS}\n{header}\nimport failed: {reason}")
        finally:
            if isinstance(error, CaqtusImportError):
                raise
            raise CaqtusImportError(f"sequence {sequence.path}: {reason}") from error
    notes = header
    if converter.problems:
        listed = [str(problem) for problem in converter.problems]
        summary.incomplete[str(path)] = listed
        notes = (
            f"{INCOMPLETE}: expressions kept as text only\n"
            + "\n".join(f"- {line}" for line in listed)
            + f"\n{header}"
        )
        note(f"sequence {sequence.path}: incomplete, {len(listed)} expression(s) kept as text")
    target.set_notes(path, notes)
    summary.sequences_imported += 1
    summary.shots_written += written


def _run(
    caqtus: CaqtusSource,
    session: ExperimentSession,
    sequence: CaqtusSequence,
    state: State,
    converter: Converter,
    mapping: Mapping[str, DeviceConverter],
    note: Callable[[str], None],
    bar: Any,
) -> int:
    path = _path(sequence.path, "table sequences")
    target = session.sequences
    global_parameters = converter.namespace(
        caqtus.sequence_content(sequence, "sequence.parameters"),
        "global parameters frozen at launch",
    )
    devices = {
        name: convert_configuration(
            name, type_name, content, mapping, note, f"sequence {sequence.path}"
        )
        for name, type_name, content in caqtus.sequence_device_configurations(sequence)
    }
    target.prepare(
        path, global_parameters, devices, RunOwner.current(), sequence.expected_number_of_shots
    )
    written: list[tuple[int, dict[str, Any], dict[str, str], dict[str, Any], Any, Any]] = []
    if state is State.FINISHED or caqtus.shot_count(sequence) > 0:
        with target.start(path) as writer:
            for row in caqtus.shots(sequence):
                shot = _decode_shot(row, sequence, converter.names)
                values, units, data = shot
                writer.write_shot(
                    row.index,
                    values,
                    data,
                    row.start_time,
                    row.end_time,
                    units={name: _StoredUnit(symbol) for name, symbol in units.items()},
                )
                digest = {label: _digest(value) for label, value in data.items()}
                written.append((row.index, values, units, digest, row.start_time, row.end_time))
                bar.update(1)
        _verify_sequence(session, path, written)
    if state is State.FINISHED:
        target.finish(path)
    elif state is State.INTERRUPTED:
        target.interrupt(path, detail="imported from caqtus, where it was interrupted")
    elif state is State.CRASHED:
        summary = caqtus.sequence_content(sequence, "sequence.exception_tracebacks")
        target.crash(path, traceback_text(summary) if summary is not None else "")
    return len(written)


def _decode_shot(
    row: CaqtusShotRow, sequence: CaqtusSequence, names: Names
) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    from ._source import decode_json

    where = f"sequence {sequence.path}, shot {row.index}"
    if row.parameters is None:
        raise CaqtusImportError(f"table shot.parameters: no parameters for {where} (corrupt shot)")
    values, units = shot_parameters(
        decode_json(row.parameters, f"table shot.parameters, {where}"), names, where
    )
    data: dict[str, Any] = {}
    for label, dtype, shape, raw in row.arrays:
        data[data_label(label)] = decode_array(dtype, shape, raw, f"{where}, {label}")
    for label, content in row.structured:
        value = structured_value(
            decode_json(content, f"table shot.data.structured, {where}, {label}"),
            f"{where}, {label}",
        )
        if isinstance(value, int) and not isinstance(value, bool):
            value = float(value)  # SQLite's JSON affinity turns 88749.0 into 88749
        data[data_label(label)] = value
    return values, units, data


def _digest(value: Any) -> Any:
    """What verification compares for a data value: an array's dtype, shape and hash."""
    if isinstance(value, np.ndarray):
        raw = np.ascontiguousarray(value).tobytes()
        return ("array", value.dtype.str, tuple(value.shape), hashlib.sha256(raw).hexdigest())
    return value


def _verify_sequence(
    session: ExperimentSession,
    path: PureSequencePath,
    written: list[tuple[int, dict[str, Any], dict[str, str], dict[str, Any], Any, Any]],
) -> None:
    """Read the sequence's shots back in one frame and compare them with what was written."""

    def fail(index: int, what: str) -> None:
        raise CaqtusImportError(
            f"sequence {path}, shot {index}: read back differently ({what}); the import of "
            "this sequence is not complete"
        )

    frame = session.sequences.read(path)
    indices = frame["shot_index"].to_list() if len(frame) else []
    if indices != [entry[0] for entry in written]:
        raise CaqtusImportError(
            f"sequence {path}: shots {indices} read back but {[e[0] for e in written]} written; "
            "the import of this sequence is not complete"
        )
    if not written:
        return
    fixed = {"shot_index", "start_time", "end_time"}
    columns: dict[str, list[Any]] = {}
    for name in frame.columns:
        if name in fixed:
            continue
        series = frame[name]
        if series.dtype.__class__.__name__ == "Array":
            array = series.to_numpy()
            columns[name] = [_digest(array[row]) for row in range(len(frame))]
        else:
            columns[name] = series.to_list()
    starts, ends = frame["start_time"].to_list(), frame["end_time"].to_list()
    units = session.sequences.get_shot(path, written[0][0]).units
    for row, (index, values, expected_units, digest, start, end) in enumerate(written):
        expected = {**values, **digest}
        for name, cells in columns.items():
            if not _same_value(expected.get(name), cells[row]):
                fail(index, f"{name} = {expected.get(name)!r} became {cells[row]!r}")
        if set(expected) - set(columns):
            fail(index, f"{', '.join(sorted(set(expected) - set(columns)))} missing")
        for name in values:
            if units.get(name) != expected_units.get(name):
                fail(
                    index, f"unit of {name} {expected_units.get(name)!r} became {units.get(name)!r}"
                )
        if starts[row] != start or ends[row] != end:
            fail(index, "start or end time changed")


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, int) and not isinstance(a, bool) and type(b) is float:
        return False
    return type(a) is type(b) and bool(a == b)


__all__ = [
    "IMPORTED",
    "INCOMPLETE",
    "IN_PROGRESS",
    "CaqtusImportSummary",
    "CaqtusImportWarning",
    "Problem",
    "import_caqtus",
]
