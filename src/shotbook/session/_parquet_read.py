"""Reading the live files of a sequence folder, safely while a writer compacts.

A snapshot lists the folder first, then reads the manifest: a per-shot file deleted before the
listing was compacted before that, so the manifest read afterwards covers it. Per-shot files
the manifest covers are ignored, so no shot is seen twice. A file that vanishes between the
snapshot and its reading (compaction finished meanwhile) makes the whole read start again.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ._parquet_columns import SHOT_INDEX
from ._parquet_manifest import Manifest, ShotStoreError, parse_shot_file, read_manifest

_T = TypeVar("_T")
_RETRIES: Final = 50
_WORKERS: Final = max(2, min(4, os.cpu_count() or 2))
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


@dataclass(frozen=True)
class LiveFile:
    """A file holding live shots: a compacted part or a per-shot file."""

    path: Path
    shots: tuple[int, ...]
    compacted: bool


@dataclass(frozen=True)
class Snapshot:
    """The live files of a folder at one moment, sorted by their first shot."""

    manifest: Manifest
    files: tuple[LiveFile, ...]

    def shot_indices(self) -> list[int]:
        """All live shot indices, sorted."""
        return sorted(index for live in self.files for index in live.shots)

    def file_of(self, index: int) -> LiveFile | None:
        """The live file holding one shot."""
        for live in self.files:
            if index in live.shots:
                return live
        return None


def take_snapshot(folder: Path) -> Snapshot:
    """List the live files of a folder (order: directory listing, then manifest)."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        names = []
    manifest = read_manifest(folder)
    covered = manifest.covered
    files = [LiveFile(folder / part.file, part.shots, True) for part in manifest.parts]
    for name in names:
        index = parse_shot_file(name)
        if index is not None and index not in covered:
            files.append(LiveFile(folder / name, (index,), False))
    files.sort(key=lambda live: min(live.shots, default=-1))
    return Snapshot(manifest, tuple(files))


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


def row_groups_holding(path: Path, index: int) -> list[int]:
    """The row groups of a file whose ``shot_index`` statistics may include ``index``."""
    metadata = pq.read_metadata(path)
    position = metadata.schema.to_arrow_schema().get_field_index(SHOT_INDEX)
    groups = []
    for number in range(metadata.num_row_groups):
        statistics = metadata.row_group(number).column(position).statistics
        unknown = statistics is None or not statistics.has_min_max
        if unknown or statistics.min <= index <= statistics.max:
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


def read_files(files: Sequence[LiveFile], fields: Sequence[pa.Field]) -> pa.Table:
    """Read these columns of several files into one table sorted by ``shot_index``.

    Files, and the row groups of compacted files when array columns are read, are decoded
    in parallel (pyarrow releases the GIL while decompressing).
    """
    schema = pa.schema(fields)
    if not files:
        return schema.empty_table()
    tasks = _split(files, fields)
    if len(tasks) == 1:
        tables = [read_file(*tasks[0], fields=fields)]
    else:
        tables = list(_thread_pool().map(lambda task: read_file(*task, fields=fields), tasks))
    table = pa.concat_tables(tables)
    if SHOT_INDEX in schema.names and table.num_rows > 1:
        order = table.column(SHOT_INDEX).to_numpy()
        if not bool(np.all(order[1:] > order[:-1])):
            table = table.take(np.argsort(order, kind="stable"))
    return table


def _split(
    files: Sequence[LiveFile], fields: Sequence[pa.Field]
) -> list[tuple[Path, list[int] | None]]:
    """Reading tasks: whole files, or slices of the row groups of big compacted files."""
    arrays = any(pa.types.is_fixed_size_binary(field.type) for field in fields)
    workers = _WORKERS
    tasks: list[tuple[Path, list[int] | None]] = []
    for live in files:
        if not (arrays and live.compacted):
            tasks.append((live.path, None))
            continue
        groups = pq.read_metadata(live.path).num_row_groups
        slices = min(groups, workers)
        bounds = np.linspace(0, groups, slices + 1).round().astype(int)
        for start, stop in itertools.pairwise(bounds.tolist()):
            tasks.append((live.path, list(range(start, stop))))
    return tasks
