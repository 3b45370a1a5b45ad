"""A writer's shot journal: shots appended to an Arrow IPC stream, one record batch per shot.

``journal-0007-3fa2c1d0.arrows`` holds the shots a writer stored since its last compaction,
each as a one-row record batch appended to the file (the random part keeps the names of
deleted journals from coming back). A shot is stored once its append returns: the
bytes are in the operating system's hands, so the shot survives the death of the writing
process (``fsync=True`` flushes the file to the disk after each append, for a power loss).
Appending to an open file costs a fraction of creating and renaming a file per shot (measured
in bench/RESULTS.md).

Readers take the complete batches: a torn last batch (being appended right now, or left by a
crash) is not a stored shot, and nothing is ever appended after one (the writer abandons a
journal whose append failed and starts the next shot in a new one). A journal is deleted once
a compacted part covers all its shots.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._manifest import fsync_directory, fsync_file

__all__ = [
    "JournalSegment",
    "journal_file_name",
    "journal_shots",
    "parse_journal_file",
    "read_journal",
    "read_journal_table",
]

_JOURNAL_FILE: Final = re.compile(r"journal-(\d+)-[0-9a-f]{8}\.arrows")
_SHOT_INDEX: Final = "shot_index"
_CACHED_LISTINGS: Final = 256


@dataclass(frozen=True)
class _Listing:
    """What is known of a journal: its complete shots up to ``end`` (a message boundary)."""

    seen_size: int
    end: int
    schema: pa.Schema | None
    shots: tuple[int, ...]


_NOTHING: Final = _Listing(0, 0, None, ())
_listings: dict[str, _Listing] = {}
_listings_lock = threading.Lock()


def journal_file_name(number: int) -> str:
    """``journal-0007-3fa2c1d0.arrows`` (a new random part each time)."""
    return f"journal-{number:04d}-{secrets.token_hex(4)}.arrows"


def parse_journal_file(name: str) -> int | None:
    """The number of a journal file name, else ``None``."""
    match = _JOURNAL_FILE.fullmatch(name)
    return int(match.group(1)) if match else None


class JournalSegment:
    """One journal file open for appending (a writer's current journal).

    Every batch appended must have ``schema`` and hold one shot, ``shot_index`` first.
    """

    def __init__(self, path: Path, schema: pa.Schema, *, fsync: bool) -> None:
        self.path = path
        self.schema = schema
        self.shots: list[int] = []
        self._fsync = fsync
        # exclusive creation: a journal is never reopened nor overwritten
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        descriptor = os.open(path, flags)
        os.close(descriptor)
        self._sink = pa.OSFile(str(path), "wb")  # unbuffered: each append is in the OS's hands
        try:
            self._writer = pa.ipc.new_stream(self._sink, schema)
            if fsync:
                fsync_file(path)
                fsync_directory(path.parent)
        except BaseException:
            self._sink.close()
            raise
        self.broken = False
        _remember(path, _Listing(self._sink.tell(), self._sink.tell(), schema, ()))

    def append(self, batch: pa.RecordBatch, index: int) -> None:
        """Append one shot; it is stored when this returns.

        After an error the journal is broken (its tail may be torn): close it and append
        the next shots to a new one.
        """
        if self.broken:
            raise RuntimeError(f"{self.path} is broken by an earlier failed append")
        try:
            self._writer.write_batch(batch)
            if self._fsync:
                fsync_file(self.path)
        except BaseException:
            self.broken = True
            raise
        self.shots.append(index)
        end = self._sink.tell()  # readers of this process need not scan the journal
        _remember(self.path, _Listing(end, end, self.schema, tuple(self.shots)))

    def close(self) -> None:
        """Close the file (an end-of-stream marker after the last complete batch)."""
        try:
            if not self.broken:
                self._writer.close()
        finally:
            self._sink.close()


def read_journal(path: Path) -> list[pa.RecordBatch]:
    """The complete batches of a journal, without copying them (memory-mapped).

    A torn last batch is left out; ``FileNotFoundError`` if the journal is gone.
    """
    source = pa.memory_map(str(path))
    try:
        try:
            reader = pa.ipc.open_stream(source)
        except (pa.ArrowInvalid, OSError):
            return []  # the schema itself is not complete yet
        batches = []
        while True:
            try:
                batches.append(reader.read_next_batch())
            except StopIteration:
                break
            except (pa.ArrowInvalid, OSError):
                break  # a torn tail
        return batches
    finally:
        source.close()  # the batches keep the mapping alive as long as they need it


def journal_shots(path: Path) -> tuple[int, ...]:
    """The shot indices of a journal's complete batches, in file order.

    Known shots are cached per journal (which only grows): a journal that grew is read from
    where the last reading stopped, and a writer notes its own appends.
    """
    size = os.stat(path).st_size
    key = str(path)
    with _listings_lock:
        listing = _listings.get(key, _NOTHING)
    if listing.seen_size > size:
        listing = _NOTHING  # not the file it was: read it all again
    if listing.seen_size != size or listing is _NOTHING:
        listing = _extend(path, listing, size)
        _remember(path, listing)
    return listing.shots


def _extend(path: Path, listing: _Listing, size: int) -> _Listing:
    """The listing with the complete messages after ``listing.end`` added."""
    schema, shots, end = listing.schema, list(listing.shots), listing.end
    source = pa.memory_map(str(path))
    try:
        source.seek(end)
        while True:
            try:
                message = pa.ipc.read_message(source)
                if message.type == "schema":
                    schema = pa.ipc.read_schema(message)
                elif message.type == "record batch" and schema is not None:
                    batch = pa.ipc.read_record_batch(message, schema)
                    shots.append(int(batch.column(0)[0].as_py()))
            except (EOFError, OSError, ValueError):
                break  # the end of the stream, or a torn message
            end = source.tell()
    finally:
        source.close()
    return _Listing(size, end, schema, tuple(shots))


def _remember(path: Path, listing: _Listing) -> None:
    key = str(path)
    with _listings_lock:
        _listings.pop(key, None)
        _listings[key] = listing
        while len(_listings) > _CACHED_LISTINGS:
            del _listings[next(iter(_listings))]  # the least recently noted


def read_journal_table(
    path: Path, fields: Sequence[pa.Field], shots: Collection[int] | None = None
) -> pa.Table:
    """These columns of a journal's complete shots (only ``shots`` when given), one chunk
    per column; missing columns are all null."""
    batches = read_journal(path)
    names = [field.name for field in fields]
    if not batches:
        return pa.schema(fields).empty_table()
    table = pa.Table.from_batches(batches)
    if shots is not None:
        indices = table.column(_SHOT_INDEX)
        keep = pc.is_in(indices, value_set=pa.array(sorted(shots), pa.int64()))
        positions = np.flatnonzero(keep.to_numpy(zero_copy_only=False))
        if len(positions) != table.num_rows:
            table = table.take(positions)
    available = set(table.column_names)
    arrays = [
        table.column(name) if name in available else pa.nulls(table.num_rows, field.type)
        for name, field in zip(names, fields, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields)).combine_chunks()
