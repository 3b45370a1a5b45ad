"""Writing the shots of one sequence: appended to a journal, compacted in the background."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

from .._columns._codec import (
    FIXED_COLUMNS,
    SHOT_INDEX,
    TIMESTAMP_TYPE,
    ColumnInfo,
    DisplayUnit,
    arrow_field,
    fixed_fields,
    info_from_field,
    to_microseconds,
)
from .._columns._encoder import ShotColumnEncoder, one_value
from .._errors import ShotExistsError, disk_full_detail, store_full_error
from ._journal import (
    JournalSegment,
    journal_file_name,
    parse_journal_file,
    read_journal,
    read_journal_table,
)
from ._manifest import (
    MANIFEST_NAME,
    Manifest,
    Part,
    fsync_directory,
    fsync_file,
    parse_part_file,
    parse_shot_file,
    part_file_name,
    read_manifest,
    remove_quietly,
    replace_file,
    temp_name,
    write_manifest,
)
from ._read import conform, read_file

__all__ = ["ParquetShotWriter"]

_log = logging.getLogger(__name__)
_ROW_GROUP_BYTES: Final = 8 << 20
_IDLE_S: Final = 0.02
"""A due compaction waits until no shot was written for this long (shots keep their pace)."""
_DEFER_LIMIT: Final = 10
"""...but not beyond ``compact_every * _DEFER_LIMIT`` pending shots (bounded file count)."""
_KEEP_BYTES: Final = 16 << 20
"""Tables of pending shots kept in memory for compaction, at most (beyond: read back from
the journal). 256 MiB let a full-speed run's memory climb by ~24 KB a shot until the
deferred compaction, which the soak test's 20 MiB bound caught on a quiet machine."""
_ACTIVE: set[Path] = set()
_ACTIVE_LOCK = threading.Lock()


ARRAY_COMPRESSIONS = ("lz4", "zstd", "none")
"""Codecs of array columns in compacted parts: lz4 reads 2-4x faster than zstd, which
takes ~35% less disk for noisy camera images (see bench/RESULTS.md)."""


def check_array_compression(codec: str) -> str:
    """``codec`` if it is one of :data:`ARRAY_COMPRESSIONS`, else a clear ``ValueError``."""
    if codec not in ARRAY_COMPRESSIONS:
        raise ValueError(
            f"array_compression must be one of {', '.join(ARRAY_COMPRESSIONS)}, got {codec!r}"
        )
    return codec


def register_writer(folder: Path) -> None:
    """Claim the folder for one writer of this process."""
    with _ACTIVE_LOCK:
        if folder in _ACTIVE:
            raise RuntimeError(
                f"a shot writer is already open on {folder} in this process; close it first "
                "(one writer per sequence at a time)"
            )
        _ACTIVE.add(folder)


def unregister_writer(folder: Path) -> None:
    """Release the folder."""
    with _ACTIVE_LOCK:
        _ACTIVE.discard(folder)


def has_writer(folder: Path) -> bool:
    """Whether a writer of this process has the folder open."""
    with _ACTIVE_LOCK:
        return folder in _ACTIVE


class ParquetShotWriter:
    """Writes the shots of one sequence; get one from :meth:`ParquetShotStore.writer`.

    :meth:`write_shot` returns once the shot is appended to the writer's journal (an Arrow
    IPC stream, ``journal-0007.arrows``): from then on the shot survives the death of this
    process (and a power loss with ``fsync=True``) and other processes see it. Every
    ``compact_every`` shots, a background thread rewrites the journaled shots into one
    compressed part (zstd scalars, lz4 arrays by default), as soon as the shots leave it a
    gap: while shots arrive back to back it waits, up to ``10 * compact_every`` pending shots,
    so that compaction never slows a fast run down. :meth:`close` runs a final compaction.

    >>> with store.writer() as writer:  # doctest: +SKIP
    ...     writer.write_shot(0, {"wait_time": 0.005}, {"camera.picture": image}, start, end)
    """

    def __init__(
        self,
        folder: Path,
        *,
        fsync: bool = False,
        compact_every: int = 50,
        array_compression: str = "lz4",
        _on_close: Callable[[], None] | None = None,
    ) -> None:
        if compact_every < 1:
            raise ValueError(f"compact_every must be at least 1, not {compact_every}")
        check_array_compression(array_compression)
        self._array_compression = array_compression
        self._folder = folder
        self._fsync = fsync
        self._compact_every = compact_every
        self._on_close = _on_close
        folder.mkdir(parents=True, exist_ok=True)
        self._state_lock = threading.Lock()
        self._compaction_lock = threading.Lock()
        self._manifest = read_manifest(folder)
        self._columns: dict[str, ColumnInfo] = {c.name: c for c in self._manifest.columns}
        self._fields: dict[ColumnInfo, pa.Field] = {}
        self._fixed_fields = fixed_fields()
        self._encoder = ShotColumnEncoder()
        # the schema of each set of columns a shot had (usually one for a whole sequence)
        self._schemas: dict[tuple[ColumnInfo, ...], pa.Schema] = {}
        # pending shot -> the file holding it: a journal, or a per-shot Parquet file left by
        # an earlier version
        self._pending: dict[int, str] = {}
        # the batches of the pending shots this writer wrote: compaction uses them instead of
        # reading the journal back (shots adopted from an earlier writer are read)
        self._written: dict[int, pa.RecordBatch] = {}
        self._written_bytes = 0
        self._last_write = time.monotonic()
        self._indices: set[int] = set(self._manifest.covered)
        # appends and the switch to a new journal are serialised by this lock
        self._journal_lock = threading.Lock()
        self._journal: JournalSegment | None = None
        self._journal_number = 0
        self._adopt_uncompacted_shots()
        self._closed = False
        self._wake = threading.Event()
        self._stopping = False
        self._background_error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def _adopt_uncompacted_shots(self) -> None:
        """Take over the shots an earlier writer left uncompacted (they get compacted too):
        its journals (complete batches only) and per-shot files of earlier versions."""
        grown = False
        for name in sorted(os.listdir(self._folder)):
            number = parse_journal_file(name)
            if number is not None:
                self._journal_number = max(self._journal_number, number)
                batches = read_journal(self._folder / name)
                shots = [int(i) for batch in batches for i in batch.column(0).to_pylist()]
                schema = batches[0].schema if batches else pa.schema([])
            elif (index := parse_shot_file(name)) is not None:
                shots = [index]
                schema = pq.read_schema(self._folder / name)
            else:
                continue
            fresh = [index for index in shots if index not in self._manifest.covered]
            if not fresh:
                continue
            for index in fresh:
                self._pending[index] = name
                self._indices.add(index)
            for field in schema:
                info = info_from_field(field)
                if info is not None and info.name not in self._columns:
                    self._columns[info.name] = info
                    grown = True
        if grown:
            self._save_manifest(self._manifest.with_columns(self._columns.values()))

    @property
    def folder(self) -> Path:
        """The sequence's folder."""
        return self._folder

    # ------------------------------------------------------------------------------ writing

    def write_shot(
        self,
        index: int,
        parameters: Mapping[str, float | int | bool],
        data: Mapping[str, Any],
        start: datetime,
        end: datetime,
        *,
        units: Mapping[str, DisplayUnit | None] | None = None,
        data_units: Mapping[str, str | None] | None = None,
    ) -> None:
        """Store one shot; returns when it is appended to the journal (durable vs process
        death; vs power loss too with ``fsync=True``).

        ``parameters`` are SI magnitudes (floats), ints or bools; floats are stored in their
        display unit, ``units[name].from_si(value)``. A ``ShotParameters`` brings its own
        ``units``. ``data`` maps ``device.label`` to floats, ints, bools or numpy arrays
        (``None``: nothing for this shot), in the units ``data_units`` names (a symbol by
        column, kept as the column's description). ``start`` and ``end`` are timezone-aware.

        Raises :class:`ShotExistsError` for an index already stored and
        :class:`ShotSchemaError` when a column changes kind, dtype, shape or unit; then
        nothing is stored. After an error of the append itself (a full disk), the shot is
        not stored either and may be written again; the next shot starts a new journal.
        """
        if self._closed:
            raise RuntimeError(f"the shot writer of {self._folder} is closed")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValueError(f"a shot index is an int >= 0, not {index!r}")
        if index in self._indices:
            raise ShotExistsError(index, self._folder)
        if units is None:
            units = getattr(parameters, "units", None) or {}
        arrays: dict[str, pa.Array] = {
            SHOT_INDEX: one_value(index, pa.int64()),
            "start_time": one_value(to_microseconds(start, "start", index), TIMESTAMP_TYPE),
            "end_time": one_value(to_microseconds(end, "end", index), TIMESTAMP_TYPE),
        }
        new: list[ColumnInfo] = []
        for info, array in self._encoder.encode(
            parameters, data, units, self._columns, index, data_units
        ):
            arrays[info.name] = array
            if info.name not in self._columns:
                new.append(info)
        self._raise_background_disk_full(index)
        doing = f"storing shot {index}"
        then = "run the sequence again (this shot was not stored)"
        if new:
            with self._state_lock, self._disk_full_is_a_store_error(doing, then):
                known = dict(self._columns)
                try:
                    for info in new:
                        self._columns[info.name] = info
                    self._save_manifest(self._manifest.with_columns(self._columns.values()))
                except BaseException:
                    self._columns = known  # the shot is not stored: its columns are not known
                    raise
        with self._journal_lock:
            journal = self._journal
            with self._disk_full_is_a_store_error(doing, then):
                if journal is None or journal.broken or new:
                    journal = self._open_journal()
                batch = pa.RecordBatch.from_arrays(
                    [_array_or_null(arrays.get(field.name), field) for field in journal.schema],
                    schema=journal.schema,
                )
                journal.append(batch, index)
            with self._state_lock:
                self._indices.add(index)
                self._pending[index] = journal.path.name
                if self._written_bytes + batch.nbytes <= _KEEP_BYTES:
                    self._written[index] = batch
                    self._written_bytes += batch.nbytes
                self._last_write = time.monotonic()
                due = len(self._pending) >= self._compact_every
        if due:
            self._start_background()
            self._wake.set()

    @contextmanager
    def _disk_full_is_a_store_error(self, doing: str, then: str) -> Iterator[None]:
        """Turn an ``OSError`` of a full disk into :class:`StoreFullError` naming the folder."""
        try:
            yield
        except OSError as error:
            detail = disk_full_detail(error)
            if detail is None:
                raise
            raise store_full_error(self._folder, self._folder, detail, doing, then) from error

    def _raise_background_disk_full(self, index: int) -> None:
        """Stop storing shots once a background compaction found the disk full (the run
        ends with the reason rather than losing shots later); raised once."""
        error = self._background_error
        if error is None:
            return
        detail = disk_full_detail(error)
        if detail is None:
            return
        self._background_error = None
        raise store_full_error(
            self._folder,
            self._folder,
            detail,
            f"compacting the shots before shot {index}",
            f"run the sequence again (shot {index} was not stored)",
        ) from error

    def _open_journal(self) -> JournalSegment:
        """Close the current journal and start the next one, with every column known now.

        Called with the journal lock held.
        """
        self._close_journal()
        self._journal_number += 1
        fields = [*self._fixed_fields, *(self._field(info) for info in self._columns.values())]
        path = self._folder / journal_file_name(self._journal_number)
        self._journal = JournalSegment(path, pa.schema(fields), fsync=self._fsync)
        return self._journal

    def _close_journal(self) -> None:
        """Close the current journal, if any (with the journal lock held)."""
        journal, self._journal = self._journal, None
        if journal is not None:
            journal.close()

    def _write_part(self, table: pa.Table, target: Path) -> None:
        """Write a compacted part under a temporary name, flush if asked, rename into place."""
        temporary = self._folder / temp_name(".parquet")
        scalar_columns = [
            name
            for name, field in zip(table.column_names, table.schema, strict=True)
            if not pa.types.is_fixed_size_binary(field.type)
        ]
        codecs = {
            name: ("zstd" if name in scalar_columns else self._array_compression)
            for name in table.column_names
        }
        try:
            pq.write_table(
                table,
                temporary,
                compression=codecs,
                use_dictionary=[n for n in scalar_columns if n not in FIXED_COLUMNS],
                write_statistics=scalar_columns,
                row_group_size=_rows_per_group(table),
            )
            if self._fsync:
                fsync_file(temporary)
            replace_file(temporary, target)
        except BaseException:
            remove_quietly(temporary)
            raise
        if self._fsync:
            fsync_directory(self._folder)

    def _save_manifest(self, manifest: Manifest) -> None:
        write_manifest(self._folder, manifest, fsync=self._fsync)
        self._manifest = manifest

    # --------------------------------------------------------------------------- compaction

    def compact(self) -> None:
        """Compact every pending shot now (blocks until done).

        On a full disk raises :class:`StoreFullError`; the shots stay in their journals.
        """
        with (
            self._compaction_lock,
            self._disk_full_is_a_store_error(
                "compacting the shots", "compact again (the shots stay in their journals)"
            ),
        ):
            self._compact_pending()
            self._collect_garbage()

    def _compact_pending(self) -> None:
        with self._journal_lock:
            # later shots go to a new journal: every pending shot is in a closed file
            self._close_journal()
            with self._state_lock:
                batch = dict(self._pending)
                columns = list(self._columns.values())
                written = {i: self._written[i] for i in batch if i in self._written}
        if not batch:
            return
        fields = fixed_fields() + [self._field(info) for info in columns]
        table = self._pending_table(batch, written, fields)
        name = part_file_name(self._next_part_number())
        self._write_part(table, self._folder / name)
        with self._state_lock:
            manifest = self._manifest.with_part(Part(name, tuple(sorted(batch))))
            self._save_manifest(manifest.with_columns(self._columns.values()))
            for index in batch:
                del self._pending[index]
                kept_batch = self._written.pop(index, None)
                if kept_batch is not None:
                    self._written_bytes -= kept_batch.nbytes
        # every shot of these files is now in the part
        kept = [name for name in set(batch.values()) if not remove_quietly(self._folder / name)]
        if kept:  # Windows: a reader holds them; delete later
            with self._state_lock:
                garbage = (*self._manifest.garbage, *kept)
                self._save_manifest(self._manifest.with_garbage(garbage))

    def _pending_table(
        self,
        batch: Mapping[int, str],
        written: Mapping[int, pa.RecordBatch],
        fields: list[pa.Field],
    ) -> pa.Table:
        """The pending shots as one table with ``fields``, sorted by shot index: the batches
        this writer kept, the rest read back from their files."""
        kept: dict[str, list[pa.RecordBatch]] = {}  # by journal: one schema each
        unread: dict[str, list[int]] = {}
        for index, name in sorted(batch.items()):
            if index in written:
                kept.setdefault(name, []).append(written[index])
            else:
                unread.setdefault(name, []).append(index)
        tables = [conform(pa.Table.from_batches(batches), fields) for batches in kept.values()]
        for name, shots in sorted(unread.items()):
            path = self._folder / name
            if parse_journal_file(name) is not None:
                tables.append(read_journal_table(path, fields, shots))
            else:
                tables.append(read_file(path, fields=fields))
        table = pa.concat_tables(tables)
        order = table.column(SHOT_INDEX).to_numpy()
        if len(order) > 1 and not bool((order[1:] > order[:-1]).all()):
            table = table.take(order.argsort(kind="stable"))
        return conform(table, fields)

    def _field(self, info: ColumnInfo) -> pa.Field:
        field = self._fields.get(info)
        if field is None:
            field = self._fields[info] = arrow_field(info)
        return field

    def _next_part_number(self) -> int:
        numbers = [parse_part_file(part.file) or 0 for part in self._manifest.parts]
        numbers += [parse_part_file(name) or 0 for name in os.listdir(self._folder)]
        return max(numbers, default=0) + 1

    def _collect_garbage(self) -> None:
        garbage = self._manifest.garbage
        if not garbage:
            return
        live = {part.file for part in self._manifest.parts} | {MANIFEST_NAME}
        kept = []
        for name in garbage:
            if name in live or Path(name).name != name:
                continue  # never delete a live file, whatever the manifest says
            if not remove_quietly(self._folder / name):
                kept.append(name)
        if len(kept) != len(garbage):
            with self._state_lock:
                self._save_manifest(self._manifest.with_garbage(kept))

    def _start_background(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._background, name="shotbook-compaction", daemon=True
            )
            self._thread.start()

    def _background(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping or not self._wait_for_a_gap():
                return
            try:
                with self._compaction_lock:
                    if len(self._pending) >= self._compact_every:
                        self._compact_pending()
                    self._collect_garbage()
            except Exception as error:  # keep the shots; report at close
                _log.exception("background compaction of %s failed", self._folder)
                if self._background_error is None:
                    self._background_error = error

    def _wait_for_a_gap(self) -> bool:
        """Wait until no shot was written for ``_IDLE_S`` or too many are pending.

        ``False`` when the writer is closing meanwhile (close compacts everything itself).
        """
        while not self._stopping:
            with self._state_lock:
                quiet = time.monotonic() - self._last_write
                overdue = len(self._pending) >= self._compact_every * _DEFER_LIMIT
            if quiet >= _IDLE_S or overdue:
                return True
            self._wake.wait(_IDLE_S - quiet)
            self._wake.clear()
        return False

    # ------------------------------------------------------------------------------ closing

    def close(self) -> None:
        """Wait for the background compaction, compact what is left; idempotent.

        Raises the first error of a background compaction, if any (the shots stay stored in
        the journal; the next writer or compaction retries).
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self._thread is not None:
                self._stopping = True
                self._wake.set()
                self._thread.join()
            self.compact()
        finally:
            with self._journal_lock:
                self._close_journal()
            if self._on_close is not None:
                self._on_close()
        if self._background_error is not None:
            raise RuntimeError(
                f"a background compaction of {self._folder} failed (the shots are kept in "
                "the journal and compacted later)"
            ) from self._background_error

    def __enter__(self) -> ParquetShotWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _array_or_null(array: pa.Array | None, field: pa.Field) -> pa.Array:
    """A shot's value of a column of its journal: a null where the shot has none."""
    return pa.nulls(1, field.type) if array is None else array


def _rows_per_group(table: pa.Table) -> int:
    width = sum(
        field.type.byte_width if pa.types.is_fixed_size_binary(field.type) else 8
        for field in table.schema
    )
    return max(1, _ROW_GROUP_BYTES // max(1, width))
