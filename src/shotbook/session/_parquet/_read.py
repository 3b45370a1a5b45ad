"""Reading the live files of a sequence folder, safely while a writer compacts.

A snapshot lists the folder first, then reads the manifest, then the journals' shots: a
journal (or a per-shot file of earlier versions) deleted before the listing was compacted
before that, so the manifest read afterwards covers it. Journaled shots the manifest covers
are ignored, so no shot is seen twice, and shots appended after the snapshot are not read
from it. A file that vanishes between the listing and its reading (compaction finished
meanwhile) makes the whole read start again.

Public read side (re-exported by ``shotbook.session``): :func:`snapshot_shot_folder` gives the
live files and the column schema of a folder, :func:`scan_shot_folder` a polars lazy frame
over its shots (polars' Parquet reader for the small columns of compacted parts, with filters
pushed into it; pyarrow for journals and for array columns, which stay fixed-size binary on
disk and become ``pl.Array`` without another copy).
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .._columns._codec import (
    SHOT_INDEX,
    ColumnInfo,
    arrow_field,
    decode_array_columns,
    decode_arrow_array_column,
    fixed_fields,
    lazy_shots,
    shots_frame_schema,
)
from .._errors import ShotStoreError
from ._journal import journal_shots, parse_journal_file, read_journal_table
from ._manifest import (
    MANIFEST_NAME,
    Manifest,
    parse_manifest,
    parse_shot_file,
    read_manifest,
)

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "LiveFile",
    "ShotFolderSnapshot",
    "collect_shot_folder",
    "scan_shot_folder",
    "snapshot_shot_folder",
]

_T = TypeVar("_T")
_RETRIES: Final = 50
_WORKERS: Final = max(2, min(4, os.cpu_count() or 2))
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
# Snapshots by folder with the listing and manifest bytes they were made from: parsing the
# manifest of a long sequence costs more than listing the folder and reading the bytes again.
_CACHED_SNAPSHOTS: Final = 64
_SnapshotKey = tuple[tuple[str, ...], bytes | None, tuple[tuple[str, int, int, int], ...]]
_snapshots: dict[Path, tuple[_SnapshotKey, ShotFolderSnapshot]] = {}
_snapshots_lock = threading.Lock()


@dataclass(frozen=True)
class LiveFile:
    """A file holding live shots: a compacted part, a writer's journal (only ``shots`` of it
    are live) or a per-shot Parquet file of earlier versions."""

    path: Path
    shots: tuple[int, ...]
    compacted: bool

    @property
    def journal(self) -> bool:
        """Whether the file is a journal (Arrow IPC stream, read with pyarrow)."""
        return parse_journal_file(self.path.name) is not None


@dataclass(frozen=True)
class ShotFolderSnapshot:
    """The live files of a shot folder at one moment, sorted by their first shot.

    ``files`` never holds a shot twice; ``columns`` is the folder's column schema then.
    """

    manifest: Manifest
    files: tuple[LiveFile, ...]

    @property
    def columns(self) -> dict[str, ColumnInfo]:
        """Parameter and data columns by name, in the order they first appeared (the fixed
        columns ``shot_index``, ``start_time`` and ``end_time`` are not listed)."""
        return {info.name: info for info in self.manifest.columns}

    @functools.cached_property
    def in_shot_order(self) -> bool:
        """Whether reading the files one after the other gives the shots in order: each
        file's shots all come before the next file's (within a file, the writer keeps rows
        sorted by ``shot_index``)."""
        last = -1
        for live in self.files:
            if live.shots:
                if min(live.shots) <= last:
                    return False
                last = max(live.shots)
        return True

    def shot_indices(self) -> list[int]:
        """All live shot indices, sorted."""
        return sorted(index for live in self.files for index in live.shots)

    def file_of(self, index: int) -> LiveFile | None:
        """The live file holding one shot."""
        for live in self.files:
            if index in live.shots:
                return live
        return None


def snapshot_shot_folder(folder: Path) -> ShotFolderSnapshot:
    """The live files and column schema of a shot folder, now (empty for a missing folder).

    The files may be read later: one that vanished meanwhile (a compaction replaced it)
    raises ``FileNotFoundError``, and the read should start again from a new snapshot.
    """
    for _ in range(_RETRIES):
        try:
            return _snapshot(folder)
        except FileNotFoundError:  # a journal compacted and deleted since the listing
            continue
    raise ShotStoreError(
        f"the journals of {folder} kept vanishing while being listed ({_RETRIES} attempts); "
        "is another process deleting the sequence's shots?"
    )


def _snapshot(folder: Path) -> ShotFolderSnapshot:
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        names = []
    try:
        text: bytes | None = (folder / MANIFEST_NAME).read_bytes()
    except FileNotFoundError:
        text = None  # no manifest yet: nothing compacted
    except PermissionError:  # Windows: being replaced; read_manifest waits for it
        return _make_snapshot(folder, names, read_manifest(folder))
    journals = []
    for name in sorted(names):
        if parse_journal_file(name) is not None:
            stat = os.stat(folder / name)
            journals.append((name, stat.st_ino, stat.st_size, stat.st_mtime_ns))
    key = (tuple(sorted(names)), text, tuple(journals))
    with _snapshots_lock:
        cached = _snapshots.get(folder)
    if cached is not None and cached[0] == key:
        return cached[1]  # the same listing, manifest and journals give the same snapshot
    snapshot = _make_snapshot(folder, names, _parse_manifest(folder, text))
    with _snapshots_lock:
        _snapshots.pop(folder, None)
        _snapshots[folder] = (key, snapshot)
        while len(_snapshots) > _CACHED_SNAPSHOTS:
            del _snapshots[next(iter(_snapshots))]  # the least recently made
    return snapshot


def _make_snapshot(folder: Path, names: list[str], manifest: Manifest) -> ShotFolderSnapshot:
    covered = manifest.covered
    files = [LiveFile(folder / part.file, part.shots, True) for part in manifest.parts]
    for name in names:
        if parse_journal_file(name) is not None:
            shots = tuple(i for i in journal_shots(folder / name) if i not in covered)
            if shots:
                files.append(LiveFile(folder / name, shots, False))
        elif (index := parse_shot_file(name)) is not None and index not in covered:
            files.append(LiveFile(folder / name, (index,), False))
    files.sort(key=lambda live: min(live.shots, default=-1))
    return ShotFolderSnapshot(manifest, tuple(files))


def _parse_manifest(folder: Path, text: bytes | None) -> Manifest:
    """The manifest whose bytes are ``text`` (``None``: there is none, an empty manifest)."""
    if text is None:
        return Manifest()
    return parse_manifest(folder / MANIFEST_NAME, text)


def with_retries(folder: Path, action: Callable[[], _T]) -> _T:
    """Run a read, starting again if a file vanished under it (bounded)."""
    for attempt in range(_RETRIES):
        try:
            return action()
        except FileNotFoundError:
            if attempt == _RETRIES - 1:
                raise ShotStoreError(
                    f"files of {folder} kept vanishing while being read ({_RETRIES} attempts); "
                    "is another process deleting the sequence's shots?"
                ) from None
        except PermissionError:  # Windows: a file is being deleted or replaced
            if attempt == _RETRIES - 1:
                raise
            time.sleep(0.005)
    raise AssertionError("unreachable")


def conform(table: pa.Table, fields: Sequence[pa.Field]) -> pa.Table:
    """The table with exactly these columns, in this order (missing ones all null)."""
    arrays = []
    names = set(table.column_names)
    for field in fields:
        if field.name in names:
            arrays.append(table.column(field.name))
        else:
            arrays.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def read_file(
    path: Path, row_groups: Sequence[int] | None = None, *, fields: Sequence[pa.Field]
) -> pa.Table:
    """Read only these columns of one Parquet file (missing ones as nulls)."""
    with pq.ParquetFile(path, pre_buffer=False) as file:
        available = set(file.schema_arrow.names)
        columns = [field.name for field in fields if field.name in available]
        if row_groups is None:
            table = file.read(columns=columns, use_threads=False)
        else:
            table = file.read_row_groups(row_groups, columns=columns, use_threads=False)
    return conform(table, fields)


def read_live(
    live: LiveFile, row_groups: Sequence[int] | None = None, *, fields: Sequence[pa.Field]
) -> pa.Table:
    """Read only these columns of a live file's live shots (missing columns as nulls);
    ``row_groups`` of a compacted part."""
    if live.journal:
        return read_journal_table(live.path, fields, live.shots)
    return read_file(live.path, row_groups, fields=fields)


def row_groups_holding(path: Path, index: int) -> list[int]:
    """The row groups of a file whose ``shot_index`` statistics may include ``index``."""
    return _groups_with(pq.read_metadata(path), [index])


def _groups_with(metadata: pq.FileMetaData, shots: Sequence[int]) -> list[int]:
    """The row groups whose ``shot_index`` statistics may include one of ``shots`` (sorted)."""
    position = metadata.schema.to_arrow_schema().get_field_index(SHOT_INDEX)
    groups = []
    for number in range(metadata.num_row_groups):
        statistics = metadata.row_group(number).column(position).statistics
        if statistics is None or not statistics.has_min_max:
            groups.append(number)
            continue
        first = bisect_left(shots, statistics.min)
        if first < len(shots) and shots[first] <= statistics.max:
            groups.append(number)
    return groups


def _thread_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=_WORKERS,
                thread_name_prefix="shotbook-parquet-read",
            )
        return _pool


def read_files(
    files: Sequence[LiveFile],
    fields: Sequence[pa.Field],
    *,
    shots: Collection[int] | None = None,
) -> pa.Table:
    """Read these columns of several files into one table sorted by ``shot_index``.

    Files, and the row groups of compacted files when array columns are read, are decoded
    in parallel (pyarrow releases the GIL while decompressing). With ``shots``, only the row
    groups that may hold them are read (``shot_index`` statistics) and only their rows kept
    (``fields`` must then include ``shot_index``).
    """
    schema = pa.schema(fields)
    wanted = None if shots is None else sorted(shots)
    if wanted is not None:
        present = set(wanted)
        files = [live for live in files if not present.isdisjoint(live.shots)]
    if not files:
        return schema.empty_table()
    tasks = _split(files, fields, wanted)
    if not tasks:
        return schema.empty_table()
    if len(tasks) == 1:
        tables = [read_live(*tasks[0], fields=fields)]
    else:
        tables = list(_thread_pool().map(lambda task: read_live(*task, fields=fields), tasks))
    table = pa.concat_tables(tables)
    if SHOT_INDEX in schema.names and table.num_rows > 1:
        order = table.column(SHOT_INDEX).to_numpy()
        if not bool(np.all(order[1:] > order[:-1])):
            table = table.take(np.argsort(order, kind="stable"))
    if wanted is not None:
        keep = pc.is_in(table.column(SHOT_INDEX), value_set=pa.array(wanted, pa.int64()))
        if not pc.all(keep).as_py():  # a filter copies: only when rows go
            table = table.filter(keep)
    return table


def _split(
    files: Sequence[LiveFile], fields: Sequence[pa.Field], shots: Sequence[int] | None = None
) -> list[tuple[LiveFile, list[int] | None]]:
    """Reading tasks: whole files, or slices of the row groups of big compacted files (only
    the row groups that may hold ``shots``, sorted, when given)."""
    arrays = any(pa.types.is_fixed_size_binary(field.type) for field in fields)
    workers = _WORKERS
    tasks: list[tuple[LiveFile, list[int] | None]] = []
    for live in files:
        if not live.compacted or (not arrays and shots is None):
            tasks.append((live, None))
            continue
        metadata = pq.read_metadata(live.path)
        if shots is None:
            groups = list(range(metadata.num_row_groups))
        else:
            groups = _groups_with(metadata, shots)
        if not arrays:
            if groups:
                tasks.append((live, groups))
            continue
        slices = min(len(groups), workers)
        bounds = np.linspace(0, len(groups), slices + 1).round().astype(int)
        for start, stop in itertools.pairwise(bounds.tolist()):
            tasks.append((live, groups[start:stop]))
    return tasks


# ------------------------------------------------------------------------- polars frames


class _Misaligned(Exception):
    """The two readers of one collect saw different shots (the files changed): read again."""


def scan_shot_folder(
    folder: Path,
    *,
    columns: Mapping[str, ColumnInfo] | None = None,
    decode_arrays: bool = True,
) -> pl.LazyFrame:
    """A polars lazy frame over the shots of a shot folder, read when collected.

    The frame's schema is the fixed columns then ``columns`` (default: the folder's column
    schema now, see :func:`snapshot_shot_folder`); columns that appear later are not in it.
    Each ``collect()`` reads the files live at that moment (a running sequence shows its new
    shots; a compaction under the read makes it start again), only the projected columns,
    rows sorted by ``shot_index``. A filter on columns that are not arrays runs inside
    polars' Parquet reader, and array columns are then read only from the row groups holding
    matching shots. Array columns are ``pl.Array`` of their dtype and shape (``Binary`` with
    ``decode_arrays=False``, or for dtypes polars lacks).
    """
    schema = dict(snapshot_shot_folder(folder).columns if columns is None else columns)
    frame: pl.LazyFrame = lazy_shots(
        shots_frame_schema(schema, decode_arrays=decode_arrays),
        lambda wanted, predicate: collect_shot_folder(
            folder, schema, wanted, predicate, decode_arrays=decode_arrays
        ),
        name="shotbook-parquet-polars",
        detail=str(folder),
    )
    return frame


def collect_shot_folder(
    folder: Path,
    columns: Mapping[str, ColumnInfo],
    wanted: Sequence[str],
    predicate: pl.Expr | None = None,
    *,
    decode_arrays: bool = True,
    snapshot: ShotFolderSnapshot | None = None,
) -> pl.DataFrame:
    """The columns ``wanted`` of the shots of a folder where ``predicate`` holds, now.

    ``columns`` is the column schema the frame was made with (see :func:`scan_shot_folder`,
    which calls this on each ``collect()``); rows are sorted by ``shot_index``. ``snapshot``:
    the folder's snapshot the caller just took, read first (a new one on a retry).
    """
    for attempt in range(_RETRIES):
        if snapshot is None or attempt > 0:
            snapshot = snapshot_shot_folder(folder)
        files = snapshot.files
        try:
            return _collect(
                files, columns, list(wanted), predicate, decode_arrays, snapshot.in_shot_order
            )
        except FileNotFoundError:
            if all(live.path.exists() for live in files):
                raise  # not a compaction: a file the snapshot did not list
        except _Misaligned:
            pass
        except PermissionError:  # Windows: a file is being deleted or replaced
            if attempt == _RETRIES - 1:
                raise
            time.sleep(0.005)
    raise ShotStoreError(
        f"the files of {folder} kept changing while being read ({_RETRIES} attempts); is "
        "another process deleting the sequence's shots?"
    )


def _collect(
    files: Sequence[LiveFile],
    schema: Mapping[str, ColumnInfo],
    wanted: list[str],
    predicate: pl.Expr | None,
    decode_arrays: bool,
    in_shot_order: bool = False,
) -> pl.DataFrame:
    import polars as pl

    raw = shots_frame_schema(schema, decode_arrays=False)
    arrays = {name for name, info in schema.items() if info.kind == "array"}
    if not files:
        decoded = shots_frame_schema(schema, decode_arrays=decode_arrays)
        return pl.DataFrame(schema={name: decoded[name] for name in wanted})
    columns = wanted
    after = None
    if predicate is not None and not arrays.isdisjoint(predicate.meta.root_names()):
        # written against the arrays as the frame shows them: apply once they are read
        after, predicate = predicate, None
        columns = list(dict.fromkeys([*wanted, *after.meta.root_names()]))
    big = [name for name in columns if name in arrays]
    journals = [live for live in files if live.journal]
    # shot_index orders the rows and matches the arrays to them: not needed to read scalars
    # from Parquet files already in shot order
    ordering = [SHOT_INDEX] if big or journals or not in_shot_order else []
    small = list(dict.fromkeys([*(name for name in columns if name not in arrays), *ordering]))
    small_schema = {name: dtype for name, dtype in raw.items() if name not in arrays}
    frames = []
    parquet = [live for live in files if not live.journal]
    if parquet:
        scan = pl.scan_parquet(
            [str(live.path) for live in parquet],
            schema=small_schema,
            missing_columns="insert",
            extra_columns="ignore",
        )
        if predicate is not None:
            scan = scan.filter(predicate)  # evaluated inside the reader
        frames.append(scan.select(small).collect())
    for live in journals:
        frames.append(_journal_frame(live, schema, small_schema, small, predicate))
    frame = frames[0] if len(frames) == 1 else pl.concat(frames)
    if ordering:
        order = frame.get_column(SHOT_INDEX).to_numpy()
        if len(order) > 1 and not bool(np.all(order[1:] > order[:-1])):
            frame = frame.sort(SHOT_INDEX)
            order = frame.get_column(SHOT_INDEX).to_numpy()
    if big:
        frame = frame.with_columns(
            _read_arrays(files, schema, big, order, predicate is not None, decode_arrays)
        )
    if after is not None:
        frame = frame.filter(after)
    return frame.select(wanted)


def _journal_frame(
    live: LiveFile,
    schema: Mapping[str, ColumnInfo],
    dtypes: Mapping[str, Any],
    names: list[str],
    predicate: pl.Expr | None,
) -> pl.DataFrame:
    """The columns ``names`` (not arrays) of a journal's live shots where ``predicate`` holds,
    with the dtypes ``dtypes`` (as polars' Parquet reader gives the parts' columns)."""
    import polars as pl

    read = list(
        dict.fromkeys([*names, *([] if predicate is None else predicate.meta.root_names())])
    )
    table = read_journal_table(live.path, _fields(schema, read), live.shots)
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.cast({name: dtypes[name] for name in read})
    if predicate is not None:
        frame = frame.filter(predicate)
    return frame.select(names)


def _fields(schema: Mapping[str, ColumnInfo], names: Sequence[str]) -> list[pa.Field]:
    """The Arrow fields of fixed and stored columns, by name."""
    fixed = {field.name: field for field in fixed_fields()}
    return [fixed[name] if name in fixed else arrow_field(schema[name]) for name in names]


def _read_arrays(
    files: Sequence[LiveFile],
    schema: Mapping[str, ColumnInfo],
    names: list[str],
    order: np.ndarray,
    filtered: bool,
    decode: bool,
) -> list[pl.Series]:
    """The array columns ``names`` of the shots ``order`` (sorted), as polars series.

    Unfiltered, or when most shots of the files holding them are wanted, pyarrow reads the
    arrays (fixed-size binary on disk, ``pl.Array`` without another copy; with a filter,
    only the row groups holding the shots). A few shots out of many are read by polars,
    which decodes only the pages holding them, and then converted.
    """
    import polars as pl

    wanted = order.tolist()
    present = set(wanted)
    chosen = [live for live in files if not present.isdisjoint(live.shots)] if filtered else files
    parquet = [live for live in chosen if not live.journal]
    if filtered and 2 * len(wanted) < sum(len(live.shots) for live in parquet):
        raw = shots_frame_schema(schema, decode_arrays=False)
        scan = pl.scan_parquet(
            [str(live.path) for live in parquet],
            schema={name: raw[name] for name in [SHOT_INDEX, *names]},
            missing_columns="insert",
            extra_columns="ignore",
        )
        found = scan.filter(pl.col(SHOT_INDEX).is_in(wanted)).select(SHOT_INDEX, *names).collect()
        journals = [live for live in chosen if live.journal]
        if journals:
            fields = _fields(schema, [SHOT_INDEX, *names])
            table = read_files(journals, fields, shots=wanted)
            extra = pl.from_arrow(table, rechunk=False)
            assert isinstance(extra, pl.DataFrame)
            found = pl.concat([found, extra.cast(dict(found.schema))])  # type: ignore[arg-type]
        if not found.get_column(SHOT_INDEX).is_sorted():
            found = found.sort(SHOT_INDEX)
        if not np.array_equal(found.get_column(SHOT_INDEX).to_numpy(), order):
            raise _Misaligned
        if decode:
            found = decode_array_columns(found, schema)
        return [found.get_column(name) for name in names]
    fields = [fixed_fields()[0], *(arrow_field(schema[name]) for name in names)]
    table = read_files(chosen, fields, shots=wanted if filtered else None)
    if not np.array_equal(table.column(SHOT_INDEX).to_numpy(), order):
        raise _Misaligned
    return [_array_series(name, table.column(name), schema[name], decode) for name in names]


def _array_series(name: str, column: pa.ChunkedArray, info: ColumnInfo, decode: bool) -> pl.Series:
    import polars as pl

    values: Any = decode_arrow_array_column(column, info) if decode else column
    series = pl.from_arrow(values, rechunk=False)
    assert isinstance(series, pl.Series)
    return series.alias(name)
