"""Loading shots into polars: one row per shot, across any number of sequences.

Columns, in order: ``sequence`` (the path, text), ``shot_index``, ``start_time`` and
``end_time`` (UTC), then every parameter under its dotted name (in its display unit), every
data column ``device.label`` (arrays as ``pl.Array`` of their own dtype and shape) and the
per-shot analysis results ``analysis.<name>``, in the order they first appear.

Sequences with different columns are stacked with nulls where a sequence lacks a column.
A column stored in different units by different sequences is converted to the unit of the
first sequence that has it (see :func:`units`). A data column stored with a unit in some
sequences and without one in others (read-outs stored before shotbook kept their units) is
read from all of them, its unit ``None``.
"""

from __future__ import annotations

import builtins
import datetime as _dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from ._parquet_fast import folder_part, locate_folders, parquet_part, read_folder
from ._selection import SequenceSelection, reusable, select_sequences
from ._sequence_columns import ColumnMeta, columns_probe
from ._time_range import check_where, time_range
from ._units import UnitMismatchError, convert_expression, remember_kinds, remember_units

if TYPE_CHECKING:
    from shotbook.session import StorageManager
    from shotbook.types import PureSequencePath

__all__ = ["FIXED_COLUMNS", "Loaded", "load", "read_shots", "scan_shots", "store_units"]

SEQUENCE = "sequence"
FIXED_COLUMNS = (SEQUENCE, "shot_index", "start_time", "end_time")
"""The columns every loaded frame starts with."""

_FIXED_SCHEMA: dict[str, pl.DataType] = {
    SEQUENCE: pl.String(),
    "shot_index": pl.Int64(),
    "start_time": pl.Datetime("us", "UTC"),
    "end_time": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class _Part:
    """One sequence: its lazy frame as the store gives it and its column descriptions."""

    path: str
    frame: pl.LazyFrame
    columns: dict[str, ColumnMeta]


@dataclass
class Loaded:
    """A lazy frame over the shots of several sequences, with its units and column kinds."""

    frame: pl.LazyFrame
    units: dict[str, str | None]
    kinds: dict[str, str] = field(default_factory=dict)


def _known(columns: dict[str, ColumnMeta]) -> Callable[[], dict[str, ColumnMeta]]:
    return lambda: columns


def _open_parts(
    storage_manager: StorageManager, what: SequenceSelection | None
) -> builtins.list[_Part]:
    """The lazy frame and columns of each selected sequence (``None``: every sequence).

    Sequences named by their exact paths are found without the catalog when the manager can
    vouch for their shot folders (``locate_folders``); otherwise the catalog is read in one
    short transaction (``_catalog_parts``). The shots are read only when collected.
    """
    what = reusable(what)  # read twice when the located parts fall back to the catalog
    folders = locate_folders(storage_manager, what)
    if folders is not None:
        return _folder_parts(folders)
    return _catalog_parts(storage_manager, what)


def _folder_parts(folders: builtins.list[tuple[str, Path]]) -> builtins.list[_Part]:
    """The parts of sequences whose shot folders are known (default backend)."""
    return [_Part(path, *folder_part(folder)) for path, folder in folders]


def _catalog_parts(
    storage_manager: StorageManager, what: SequenceSelection | None
) -> builtins.list[_Part]:
    """The parts of the selected sequences, found in the catalog in one transaction. The
    default backend's files are read by polars directly (``parquet_part``); any other
    backend through ``sequences.scan(path)``."""
    opened: list[tuple[PureSequencePath, pl.LazyFrame, Callable[[], dict[str, ColumnMeta]]]] = []
    with storage_manager.session() as session, session.transaction():
        if what is None:
            from shotbook.session import State

            paths = [
                stats.path
                for stats in session.sequences.all_sequences()
                if stats.state is not State.DRAFT
            ]
        else:
            paths = select_sequences(session, what)
        for path in paths:
            fast = parquet_part(session, path)
            if fast is not None:
                frame, columns = fast
                opened.append((path, frame, _known(columns)))
            else:
                frame = session.sequences.scan(path)
                opened.append((path, frame, columns_probe(session, path)))
    return [_Part(str(path), frame, probe()) for path, frame, probe in opened]


def _is_array(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.Array | pl.List) or dtype == pl.Binary


def _compatible(dtypes: Iterable[pl.DataType]) -> bool:
    """Whether polars can stack these dtypes into one column (numbers and bools can)."""
    return all(dtype.is_numeric() or dtype == pl.Boolean for dtype in dtypes)


def _check_requested(
    requested: builtins.list[str] | None, parts: builtins.list[_Part], found: Mapping[str, object]
) -> None:
    if requested is None:
        return
    missing = [name for name in requested if name not in found and name not in FIXED_COLUMNS]
    if missing:
        known = ", ".join([*FIXED_COLUMNS, *(n for n in found if n not in FIXED_COLUMNS)])
        which = ", ".join(part.path for part in parts[:5]) or "no sequence with shots"
        if len(parts) > 5:
            which += f" and {len(parts) - 5} more"
        raise ValueError(
            f"no column {missing[0]!r} in the shots of {which}; columns: {known}. Column names "
            "are parameters by their dotted name, data as 'device.label' and per-shot "
            "analysis results as 'analysis.<name>'"
        )


def _combine(
    parts: builtins.list[_Part],
    wanted: builtins.list[str] | None = None,
    *,
    exclude_arrays: bool = False,
) -> Loaded:
    """Stack the parts into one lazy frame (diagonally), converting units where they differ."""
    frames: list[pl.LazyFrame] = []
    chosen: dict[str, tuple[str | None, str]] = {}  # column -> (unit, first sequence having it)
    unknown: set[str] = set()  # data columns with a unit in some sequences and none in others
    kinds: dict[str, str] = {}
    dtypes: dict[str, dict[pl.DataType, list[str]]] = {}
    keep = None if wanted is None else set(wanted)
    available: dict[str, None] = {}
    for part in parts:
        schema = part.frame.collect_schema()
        if len(schema) == 0:
            continue  # nothing stored (a draft)
        available.update(dict.fromkeys(schema.names()))
        expressions = [pl.lit(part.path, dtype=pl.String).alias(SEQUENCE)]
        for name, dtype in schema.items():
            if name == SEQUENCE:
                continue
            if keep is not None and name not in keep:
                continue
            if exclude_arrays and _is_array(dtype):
                continue
            meta = part.columns.get(name, ColumnMeta("scalar"))
            kinds.setdefault(name, meta.kind)
            expression = pl.col(name)
            if name not in chosen:
                chosen[name] = (meta.unit, part.path)
            elif meta.unit != chosen[name][0]:
                target, first = chosen[name]
                if (meta.unit is None or target is None) and kinds[name] != "parameter":
                    # a read-out stored without a unit (by a shotbook that did not keep data
                    # units, or a source that declares none) beside one with a unit: the
                    # column's unit is unknown; the parts with a unit still convert alike
                    unknown.add(name)
                    if target is None:
                        chosen[name] = (meta.unit, part.path)
                elif meta.unit is None or target is None:
                    raise UnitMismatchError(
                        f"column {name!r} is in {target or 'no unit'} in {first} but in "
                        f"{meta.unit or 'no unit'} in {part.path}; read these sequences "
                        "separately, or leave the column out (columns=[...])"
                    )
                else:
                    converted = convert_expression(
                        name, meta.unit, target, sequence=part.path, first=first
                    )
                    if converted is not None:
                        expression, dtype = converted, pl.Float64()
            dtypes.setdefault(name, {}).setdefault(dtype, []).append(part.path)
            expressions.append(expression)
        frames.append(part.frame.select(expressions))
    _check_requested(wanted, parts, available)
    for name, by_dtype in dtypes.items():
        if len(by_dtype) > 1 and not _compatible(by_dtype):
            described = "; ".join(
                f"{dtype} in {', '.join(paths[:3])}" for dtype, paths in by_dtype.items()
            )
            raise ValueError(
                f"column {name!r} cannot be stacked across these sequences: it is {described}. "
                "Read them separately, or choose columns without it (read_shots(..., "
                "columns=[...]))"
            )
    if not frames:
        frame = pl.LazyFrame(schema=_FIXED_SCHEMA)
        if wanted is not None:
            frame = frame.select(wanted)
    else:
        frame = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
    column_units: dict[str, str | None] = dict.fromkeys(FIXED_COLUMNS)
    column_units.update({name: unit for name, (unit, _) in chosen.items()})
    column_units.update(dict.fromkeys(unknown))
    return Loaded(frame, column_units, kinds)


def load(
    storage_manager: StorageManager,
    what: SequenceSelection | None,
    wanted: builtins.list[str] | None = None,
    *,
    exclude_arrays: bool = False,
) -> Loaded:
    """Open the selected sequences (``None``: all) and stack them lazily."""
    return _combine(_open_parts(storage_manager, what), wanted, exclude_arrays=exclude_arrays)


def _filter(
    where: pl.Expr | None, since: _dt.datetime | None, until: _dt.datetime | None
) -> pl.Expr | None:
    """``where`` and the time range together (``None``: keep every shot)."""
    check_where(where)
    window = time_range(since, until)
    if window is None:
        return where
    return window if where is None else window & where


def scan_shots(
    storage_manager: StorageManager,
    what: SequenceSelection,
    *,
    where: pl.Expr | None = None,
    since: _dt.datetime | None = None,
    until: _dt.datetime | None = None,
) -> pl.LazyFrame:
    """A lazy frame over the shots of one or more sequences, one row per shot.

    ``what`` is a path (``"/tof/scan 3"``), a folder (every sequence under it), a pattern on
    path names (``"/tof/*"``; ``*`` and ``?`` stay within one name, ``**`` spans levels:
    ``"/2026/**/tof*"``), a ``Sequence``, or a list of these. A sequence whose path is
    exactly the text (``"/amb/scan?"``) is read alone; ``\\?`` and ``\\*`` match the
    character itself (:func:`escape_path`). Rows are in the order the
    sequences are given (patterns and folders sorted by path), then by shot index.

    Nothing is read until ``collect()``: only the columns the query uses are read, filters
    on parameters and scalars run before arrays are read, and arrays are read only for the
    shots that pass (see the module doc for the columns). Each ``collect()`` sees the shots
    stored at that moment, so a sequence still running shows its new shots; columns that
    first appear after ``scan_shots`` are not in the frame. :func:`units` gives the unit of
    each column. ``where``, ``since`` and ``until`` filter as for :func:`read_shots`.

    >>> shots = scan_shots(manager, "/tof/*")                     # doctest: +SKIP
    >>> (shots.filter(pl.col("wait_time") > 2)                    # doctest: +SKIP
    ...       .select("sequence", "wait_time", "analysis.atom_number").collect())
    """
    condition = _filter(where, since, until)
    loaded = load(storage_manager, what)
    frame = loaded.frame if condition is None else loaded.frame.filter(condition)
    remember_units(frame, loaded.units)
    remember_kinds(frame, loaded.kinds)
    return frame


def read_shots(
    storage_manager: StorageManager,
    what: SequenceSelection,
    columns: builtins.list[str] | None = None,
    *,
    where: pl.Expr | None = None,
    since: _dt.datetime | None = None,
    until: _dt.datetime | None = None,
) -> pl.DataFrame:
    """The shots of one or more sequences in a DataFrame, one row per shot.

    ``what`` is as for :func:`scan_shots`. ``columns`` reads only these columns, in this
    order (``None``: all); ``where`` keeps only the shots where the expression is true, and
    is evaluated before arrays are read. ``since`` and ``until`` keep the shots that started
    at or after ``since`` and before ``until``; a naive datetime there is local time
    (``start_time`` and ``end_time`` are UTC, so ``where=`` needs aware datetimes and refuses
    naive ones with :class:`NaiveDatetimeError`). Images are ``pl.Array`` columns of their own dtype
    (``pl.Array(pl.UInt16, (512, 512))``); see :func:`stack_arrays`, :func:`crop` and
    :func:`roi_sum`. :func:`units` gives the unit of each column.

    >>> frame = read_shots(                                        # doctest: +SKIP
    ...     manager, "/tof/*", ["sequence", "wait_time", "camera.picture"],
    ...     where=pl.col("wait_time") > 2)
    >>> units(frame)["wait_time"]                                  # doctest: +SKIP
    'ms'
    """
    if isinstance(columns, str):
        raise TypeError(f"columns is a list of names, e.g. [{columns!r}], not a string")
    if columns is not None:
        columns = list(dict.fromkeys(columns))
    where = _filter(where, since, until)
    wanted = columns
    if columns is not None and where is not None:
        wanted = list(dict.fromkeys([*columns, *where.meta.root_names()]))
    what = reusable(what)  # read twice when the shot folders are not all located
    folders = locate_folders(storage_manager, what)
    if folders is not None and len(folders) == 1:
        eager = _read_one_folder(*folders[0], columns, where)
        if eager is not None:
            return eager
    parts = _catalog_parts(storage_manager, what) if folders is None else _folder_parts(folders)
    loaded = _combine(parts, wanted)
    frame = loaded.frame
    if where is not None:
        frame = frame.filter(where)
    if columns is not None:
        frame = frame.select(columns)
    result = frame.collect()
    remember_units(result, loaded.units)
    remember_kinds(result, loaded.kinds)
    return result


def _read_one_folder(
    path: str, folder: Path, columns: builtins.list[str] | None, where: pl.Expr | None
) -> pl.DataFrame | None:
    """``read_shots`` of one sequence whose shot folder is located, read at once (no lazy
    plan around the reader): the frame the lazy path gives.

    ``None`` (use the lazy path) when a column is unknown (the lazy path says which) or when
    ``where`` uses the ``sequence`` column.
    """
    if where is not None and SEQUENCE in where.meta.root_names():
        return None
    wanted = None if columns is None else [name for name in columns if name != SEQUENCE]
    read = read_folder(folder, wanted, where, fixed=FIXED_COLUMNS)
    if read is None:
        return None
    frame, metas = read
    frame = frame.with_columns(pl.lit(path, dtype=pl.String).alias(SEQUENCE))
    frame = frame.select(columns if columns is not None else [SEQUENCE, *frame.columns[:-1]])
    column_units: dict[str, str | None] = dict.fromkeys(FIXED_COLUMNS)
    column_units.update({name: meta.unit for name, meta in metas.items()})
    remember_units(frame, column_units)
    remember_kinds(frame, {name: meta.kind for name, meta in metas.items()})
    return frame


def store_units(
    storage_manager: StorageManager, sequences: builtins.list[str] | None
) -> dict[str, str | None]:
    """Units of the columns of these sequences (``None``: all), as :func:`scan_shots` reports."""
    parts = _open_parts(storage_manager, sequences if sequences else None)
    found: dict[str, str | None] = dict.fromkeys(FIXED_COLUMNS)
    unknown: set[str] = set()  # data columns with a unit in some sequences, none in others
    for part in parts:
        for name, meta in part.columns.items():
            first = found.setdefault(name, meta.unit)
            if meta.kind != "parameter" and (first is None) != (meta.unit is None):
                unknown.add(name)
    found.update(dict.fromkeys(unknown))
    return found
