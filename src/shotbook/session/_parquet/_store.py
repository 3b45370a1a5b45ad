"""The Parquet shot store of one sequence: its folder, read and written safely.

Layout of the folder (named by the sequence's UUID):

- ``journal-0007.arrows``: shots appended by a writer since its last compaction (an Arrow IPC
  stream, one record batch per shot, see ``_journal``); earlier versions wrote
  ``shot-000042.parquet`` files instead, which are still read and compacted;
- ``part-0003.parquet``: compacted shots (zstd scalars; arrays lz4 by default);
- ``manifest.json``: the compacted files, the shots each holds, the column schema and files
  waiting to be deleted; replaced atomically;
- ``.tmp-*``: files being written (orphans are removed by :meth:`ParquetShotStore.sweep`).

A crash at any point leaves each acknowledged shot exactly once; readers in other processes
never see a shot twice nor miss one acknowledged before they started.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import pyarrow as pa

from .._columns._codec import (
    FIXED_COLUMNS,
    SHOT_INDEX,
    ColumnInfo,
    DisplayUnit,
    ShotRecord,
    arrow_field,
    decode_array_columns,
    fixed_fields,
    resolve_columns,
    shot_record,
    to_polars,
)
from .._errors import ShotExistsError, ShotSchemaError, ShotStoreError
from ._journal import journal_shots, parse_journal_file
from ._manifest import (
    MANIFEST_NAME,
    TEMP_PREFIX,
    Manifest,
    parse_part_file,
    parse_shot_file,
    read_manifest,
    remove_quietly,
    write_manifest,
)
from ._read import (
    LiveFile,
    ShotFolderSnapshot,
    read_files,
    read_live,
    row_groups_holding,
    scan_shot_folder,
    snapshot_shot_folder,
    with_retries,
)
from ._writer import (
    ParquetShotWriter,
    check_array_compression,
    has_writer,
    register_writer,
    unregister_writer,
)

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "FIXED_COLUMNS",
    "ColumnInfo",
    "DisplayUnit",
    "ParquetShotStore",
    "ParquetShotWriter",
    "ShotExistsError",
    "ShotNotFoundError",
    "ShotRecord",
    "ShotSchemaError",
    "ShotStoreError",
    "decode_array_columns",
]

_DELETE_PATIENCE_S: Final = 2.0


class ShotNotFoundError(LookupError):
    """No shot with this index is stored in the folder."""

    def __init__(self, index: int, folder: Path) -> None:
        self.index = index
        self.folder = folder
        super().__init__(f"shot {index} is not stored in {folder}")


class ParquetShotStore:
    """The shots of one sequence, in one folder of Parquet files.

    Readers may run in any number of processes, also while the one writer writes.

    >>> store = ParquetShotStore(Path("data/3f2a..."))  # doctest: +SKIP
    >>> with store.writer() as writer:  # doctest: +SKIP
    ...     writer.write_shot(0, {"wait_time": 0.005}, {"camera.picture": image}, start, end)
    >>> store.read_polars(["shot_index", "camera.picture"])  # doctest: +SKIP
    """

    def __init__(
        self,
        folder: Path,
        *,
        fsync: bool = False,
        compact_every: int = 50,
        array_compression: str = "lz4",
    ) -> None:
        if compact_every < 1:
            raise ValueError(f"compact_every must be at least 1, not {compact_every}")
        self._array_compression = check_array_compression(array_compression)
        self._folder = Path(folder).absolute()
        self._fsync = fsync
        self._compact_every = compact_every

    @property
    def folder(self) -> Path:
        """The sequence's folder."""
        return self._folder

    def __repr__(self) -> str:
        return f"ParquetShotStore({str(self._folder)!r})"

    # -------------------------------------------------------------------------- maintenance

    def sweep(self) -> None:
        """Remove what a crash left: temporary files, parts the manifest does not list,
        journals (and per-shot files) whose shots the manifest all covers, and files waiting
        to be deleted.

        Safe while readers run; call it when no writer writes to the folder (a writer of this
        process is detected and refused).
        """
        if has_writer(self._folder):
            raise RuntimeError(f"cannot sweep {self._folder} while a shot writer has it open")
        self._sweep()

    def _sweep(self) -> None:
        try:
            names = os.listdir(self._folder)
        except FileNotFoundError:
            return
        manifest = read_manifest(self._folder)
        listed = {part.file for part in manifest.parts}
        for name in names:
            index = parse_shot_file(name)
            orphan = (
                name.startswith(TEMP_PREFIX)
                or (parse_part_file(name) is not None and name not in listed)
                or (index is not None and index in manifest.covered)
                or (
                    parse_journal_file(name) is not None
                    and manifest.covered.issuperset(journal_shots(self._folder / name))
                )
            )
            if orphan:
                remove_quietly(self._folder / name)
        if manifest.garbage:
            kept = [
                name
                for name in manifest.garbage
                if name not in listed and not remove_quietly(self._folder / name)
            ]
            if len(kept) != len(manifest.garbage):
                write_manifest(self._folder, manifest.with_garbage(kept), fsync=self._fsync)

    def writer(self) -> ParquetShotWriter:
        """The writer of the sequence (sweeps first; one writer per sequence at a time).

        Another process must not write the same folder at once: the catalog's ownership of
        the running sequence guarantees it.
        """
        register_writer(self._folder)
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            self._sweep()
            return ParquetShotWriter(
                self._folder,
                fsync=self._fsync,
                compact_every=self._compact_every,
                array_compression=self._array_compression,
                _on_close=lambda: unregister_writer(self._folder),
            )
        except BaseException:
            unregister_writer(self._folder)
            raise

    def delete_all(self) -> None:
        """Delete every shot file and the manifest (reset to draft); keeps the folder.

        Journals (and per-shot files) go first, then the manifest is emptied, then the parts:
        a crash in between leaves a consistent (smaller) store, and calling this again
        finishes.
        """
        if has_writer(self._folder):
            raise RuntimeError(
                f"cannot delete the shots of {self._folder} while a shot writer has it open"
            )
        try:
            names = sorted(os.listdir(self._folder))
        except FileNotFoundError:
            return
        shots = [
            name
            for name in names
            if parse_shot_file(name) is not None
            or parse_journal_file(name) is not None
            or name.startswith(TEMP_PREFIX)
        ]
        for name in shots:
            self._delete(name)
        if (self._folder / MANIFEST_NAME).exists():
            write_manifest(self._folder, Manifest(), fsync=self._fsync)
        for name in names:
            if parse_part_file(name) is not None:
                self._delete(name)
        self._delete(MANIFEST_NAME)

    def _delete(self, name: str) -> None:
        deadline = time.monotonic() + _DELETE_PATIENCE_S
        while not remove_quietly(self._folder / name):
            if time.monotonic() > deadline:
                raise PermissionError(
                    f"cannot delete {self._folder / name}: another process holds it open; "
                    "close the readers of this sequence and try again"
                )
            time.sleep(0.01)

    # ------------------------------------------------------------------------------ reading

    def shot_indices(self) -> list[int]:
        """The indices of the stored shots, sorted."""
        return snapshot_shot_folder(self._folder).shot_indices()

    def number_of_shots(self) -> int:
        """How many shots are stored."""
        return len(snapshot_shot_folder(self._folder).shot_indices())

    def schema(self) -> dict[str, ColumnInfo]:
        """Parameter and data columns by name, in the order they first appeared.

        The fixed columns (``shot_index``, ``start_time``, ``end_time``) are not listed.
        """
        return {info.name: info for info in read_manifest(self._folder).columns}

    def bytes_on_disk(self) -> int:
        """Total size of the folder's files."""
        total = 0
        try:
            entries = list(os.scandir(self._folder))
        except FileNotFoundError:
            return 0
        for entry in entries:
            try:
                if entry.is_file():
                    total += entry.stat().st_size
            except FileNotFoundError:
                continue
        return total

    def read_table(self, columns: Sequence[str] | None = None) -> pa.Table:
        """All stored shots as one Arrow table sorted by ``shot_index``.

        Only the requested columns are read from the files. Array columns are
        ``fixed_size_binary`` with ``dtype`` and ``shape`` in the field metadata; a shot
        without a value in a column has a null there.
        """
        return with_retries(self._folder, lambda: self._read_table(columns, None)[0])

    def _read_table(
        self, columns: Sequence[str] | None, shots: set[int] | None
    ) -> tuple[pa.Table, dict[str, ColumnInfo]]:
        snapshot = snapshot_shot_folder(self._folder)
        schema = {info.name: info for info in snapshot.manifest.columns}
        names = _resolve(columns, schema, self._folder)
        fields = [
            field for field in fixed_fields() if field.name in names or field.name == SHOT_INDEX
        ]
        fields += [arrow_field(schema[name]) for name in names if name in schema]
        files: Sequence[LiveFile] = snapshot.files
        if shots is not None:
            files = [live for live in files if not shots.isdisjoint(live.shots)]
        table = read_files(files, fields)
        return table.select(names), schema

    def read_polars(
        self, columns: Sequence[str] | None = None, *, decode_arrays: bool = True
    ) -> pl.DataFrame:
        """All stored shots as a polars DataFrame sorted by ``shot_index``.

        Array columns become ``pl.Array`` of their dtype and shape (e.g.
        ``pl.Array(pl.UInt16, (512, 512))``) without copying the image bytes; with
        ``decode_arrays=False`` (or for dtypes polars lacks: complex, strings, datetimes)
        they stay ``Binary``. Times are ``Datetime("us", "UTC")``.
        """
        table, schema = with_retries(self._folder, lambda: self._read_table(columns, None))
        return to_polars(table, schema, decode_arrays)

    def scan_polars(self, *, decode_arrays: bool = True) -> pl.LazyFrame:
        """A lazy frame over the stored shots, read when collected.

        Each ``collect()`` lists the live files at that moment (so it sees new shots and never
        trips on files a compaction removed), reads only the projected columns, and decodes
        array columns as :meth:`read_polars` does. A filter on columns that are not arrays is
        evaluated first, inside polars' Parquet reader, and the array columns are then read
        only from the row groups holding matching shots. The schema is the one known when
        ``scan_polars`` is called: columns that appear later are not in the frame. (See
        :func:`~shotbook.session.scan_shot_folder`.)
        """
        return scan_shot_folder(self._folder, decode_arrays=decode_arrays)

    def read_shot(self, index: int) -> ShotRecord:
        """One shot, with its arrays as numpy arrays; :class:`ShotNotFoundError` if absent."""
        return with_retries(self._folder, lambda: self._read_shot(index))

    def _read_shot(self, index: int) -> ShotRecord:
        snapshot: ShotFolderSnapshot = snapshot_shot_folder(self._folder)
        live = snapshot.file_of(index)
        if live is None:
            raise ShotNotFoundError(index, self._folder)
        columns = snapshot.manifest.columns
        fields = fixed_fields() + [arrow_field(info) for info in columns]
        groups = row_groups_holding(live.path, index) if live.compacted else None
        table = read_live(live, groups, fields=fields)
        positions = np.flatnonzero(table.column(SHOT_INDEX).to_numpy() == index)
        if len(positions) != 1:
            raise ShotStoreError(f"{live.path} does not hold shot {index} once as expected")
        return shot_record(table.slice(int(positions[0]), 1), columns, index)


def _resolve(
    columns: Sequence[str] | None, schema: dict[str, ColumnInfo], folder: Path
) -> list[str]:
    return resolve_columns(columns, schema, f"the shots of {folder}")
