"""A sidecar of the default store that finds a sequence's shot folder without the catalog.

Opening the DuckDB catalog costs ~15 ms and shuts other processes out meanwhile, so
reading a sequence's shots by path would pay more for the catalog than for the shots.
Two kinds of files answer instead:

- a **marker** ``.sequence-path`` in each shot folder ``root/sequences/<uuid>``, holding the
  path of its sequence;
- an **index** ``root/shot-index.json``, mapping each sequence path to its uuid.

The marker is the guarantee; the index only finds the candidate folder. A marker is
written only *after* a commit, while the catalog is still held (no other process can
open it, and a per-store lock orders this process's threads), and removed *before* any
commit that could change the path of its sequence (rename, move of a parent folder,
delete, reset to draft). So a marker reading ``P`` means the catalog puts that folder's
sequence at ``P`` at the moment it is read. A crash between the removal and the rewrite
leaves no marker (the lookup answers ``None``) and a journal ``root/shot-index.pending``
naming the sequences to settle, which the next such commit (or :meth:`upgrade`) settles.
A stale index is harmless: its candidate is checked against the marker.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
import uuid as uuid_module
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ._manifest import fsync_directory

MARKER_NAME = ".sequence-path"
"""The marker file in each shot folder: the path of its sequence, as UTF-8 text."""

INDEX_NAME = "shot-index.json"
"""The index file at the root of the store: ``{"format": 1, "paths": {path: uuid}}``."""

JOURNAL_NAME = "shot-index.pending"
"""The journal at the root: the uuids whose markers may be missing (a commit was cut off)."""

_FORMAT = 1
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_REPLACE_ATTEMPTS = 50  # Windows: a reader holding the file makes replace/remove fail briefly
_FULL_QUERY_ABOVE = 500  # settle this many uuids or more from one query of every sequence

_store_locks: dict[str, threading.Lock] = {}
_parsed_indexes: dict[str, tuple[tuple[int, int, int], dict[str, str]]] = {}
"""Each index file read in this process, by path, with the ``stat`` signature it had."""
_store_locks_guard = threading.Lock()


def _store_lock(root: Path) -> threading.Lock:
    """The lock ordering this process's commits that move markers on the store at ``root``."""
    key = os.path.normcase(os.path.abspath(root))
    with _store_locks_guard:
        lock = _store_locks.get(key)
        if lock is None:
            lock = _store_locks[key] = threading.Lock()
        return lock


def _retry(action: Callable[[], None]) -> None:
    """Run a file replace or remove, retrying while another process holds the file (Windows)."""
    for attempt in range(_REPLACE_ATTEMPTS):
        try:
            action()
            return
        except PermissionError:
            if attempt == _REPLACE_ATTEMPTS - 1:
                raise
            time.sleep(0.002 * (attempt + 1))


def _write_atomically(target: Path, text: str) -> None:
    """Replace ``target`` by a file holding ``text``: readers see the old or the new one."""
    temporary = target.with_name(f"{target.name}.{uuid_module.uuid4().hex}.new")
    try:
        temporary.write_text(text, encoding="utf-8")
        _retry(lambda: os.replace(temporary, target))
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def _remove(target: Path) -> None:
    def remove() -> None:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()

    _retry(remove)


class ShotLocator:
    """Finds shot folders by sequence path from the sidecar files of the store at ``root``.

    :meth:`locate` reads only files. :meth:`commit` wraps the catalog commits that may move
    sequences; :meth:`rebuild` writes every marker and the index from the catalog.
    """

    def __init__(self, root: Path, sequences_folder: Path, *, fsync: bool = False) -> None:
        self.root = root
        self._fsync = fsync
        self.sequences_folder = sequences_folder
        self.index_path = root / INDEX_NAME
        self.journal_path = root / JOURNAL_NAME
        self._lock = _store_lock(root)
        self._key = os.path.normcase(os.path.abspath(self.index_path))

    # --- reading (no catalog) ------------------------------------------------------------------

    def locate(self, path: str) -> Path | None:
        """The shot folder of the sequence at ``path`` when its marker vouches for it, else None."""
        uuid = self._read_index().get(path)
        if uuid is None:
            return None
        folder = self.sequences_folder / uuid
        try:
            marker = (folder / MARKER_NAME).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        return folder if marker == path else None

    def _read_index(self) -> dict[str, str]:
        """The index (re-read only when the file changed; ``{}`` when missing or unreadable)."""
        paths = self._cached_index()
        return {} if paths is None else paths

    def _cached_index(self) -> dict[str, str] | None:
        """The index, parsed again only when the file changed (``None``: missing or invalid).

        The parsed index is shared by every locator of the process on the same store; never
        change it in place. A stale copy (the file replaced within the clock's resolution,
        with the same size and inode) only makes lookups answer ``None``: the marker decides.
        """
        try:
            stat = self.index_path.stat()
        except OSError:
            return None
        signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        cached = _parsed_indexes.get(self._key)
        if cached is not None and cached[0] == signature:
            return cached[1]
        paths = self._load_index()
        if paths is not None:
            _parsed_indexes[self._key] = (signature, paths)
        return paths

    def _load_index(self) -> dict[str, str] | None:
        """The index file's entries, or ``None`` when it is missing or not a valid index."""
        try:
            document = json.loads(self.index_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            return None
        paths = document.get("paths")
        if not isinstance(paths, dict):
            return None
        return {
            path: uuid
            for path, uuid in paths.items()
            if isinstance(path, str) and isinstance(uuid, str) and _UUID.fullmatch(uuid)
        }

    # --- writing (the catalog held) ------------------------------------------------------------

    def commit(self, connection: Any, touched: Iterable[str], commit: Callable[[], object]) -> None:
        """Commit a transaction that may change where the sequences ``touched`` are.

        Their markers are removed first, then ``commit`` runs, then the markers and the
        index are written from the committed catalog (read on ``connection``, still open,
        so no other process can change it meanwhile). When the commit fails the transaction
        is rolled back and the markers are written from the catalog as it stands.
        """
        touched = set(touched)
        with self._lock:
            try:
                left = self._read_journal()
                if left is not None:  # an unreadable journal stays: _settle then does all
                    self._write_journal(touched | left)
                for uuid in touched:
                    _remove(self.sequences_folder / uuid / MARKER_NAME)
                if self._fsync:  # the removals reach the disk before the commit does
                    for uuid in touched:
                        fsync_directory(self.sequences_folder / uuid)
                    fsync_directory(self.root)
                commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    connection.rollback()
                self._settle(connection)
                raise
            self._settle(connection)

    def rebuild(self, connection: Any) -> None:
        """Write every marker and the index from the catalog open on ``connection``."""
        with self._lock:
            self._write_journal(set())
            self._settle(connection, full=True)

    def has_index(self) -> bool:
        """Whether the index file is there and readable."""
        return self._load_index() is not None

    def _read_journal(self) -> set[str] | None:
        """The uuids left to settle; ``None`` when the journal is unreadable (settle all)."""
        try:
            document = json.loads(self.journal_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return set()
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        if not isinstance(document, list):
            return None
        return {item for item in document if isinstance(item, str) and _UUID.fullmatch(item)}

    def _write_journal(self, uuids: set[str]) -> None:
        _write_atomically(self.journal_path, json.dumps(sorted(uuids)))

    def _settle(self, connection: Any, *, full: bool = False) -> None:
        """Write the markers of the journal's sequences and the index; then drop the journal.

        Best effort: a failure leaves markers missing (lookups answer ``None``) and the
        journal in place, settled by the next commit.
        """
        with contextlib.suppress(Exception):
            pending = self._read_journal()
            index = None if full or pending is None else self._cached_index()
            pending = pending or set()
            if index is None or len(pending) >= _FULL_QUERY_ABOVE:
                rows = connection.execute("SELECT uuid, path FROM sequences").fetchall()
            else:
                rows = connection.execute(
                    "SELECT uuid, path FROM sequences WHERE list_contains(?, uuid)",
                    [sorted(pending)],
                ).fetchall()
            if index is None:
                index = {}
                pending = {row[0] for row in rows}
            where = {uuid: path for uuid, path in rows if uuid in pending}
            for uuid, path in where.items():
                folder = self.sequences_folder / uuid
                if folder.is_dir():
                    _write_atomically(folder / MARKER_NAME, path)
            index = {path: uuid for path, uuid in index.items() if uuid not in pending}
            index.update({path: uuid for uuid, path in where.items()})
            document = {"format": _FORMAT, "paths": index}
            _write_atomically(self.index_path, json.dumps(document, separators=(",", ":")))
            stat = self.index_path.stat()  # the catalog is held: nobody else replaced it
            _parsed_indexes[self._key] = ((stat.st_mtime_ns, stat.st_size, stat.st_ino), index)
            _remove(self.journal_path)


__all__ = ["INDEX_NAME", "JOURNAL_NAME", "MARKER_NAME", "ShotLocator"]
