"""Opening a DuckDB catalog file for one call, cheaply, without holding it between calls.

Creating a DuckDB database instance costs ~15–20 ms here (even in memory); attaching a file
to an instance that already exists costs ~1 ms. So each process keeps one in-memory instance
and attaches a catalog file to it while at least one of its threads runs a transaction on it,
then detaches it, which releases the file for other processes exactly as closing a
connection did. Threads of the process share the attached database (each gets its own
cursor, so their transactions are isolated as before).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

__all__ = ["attached"]

_log = logging.getLogger("shotbook.session")


class _Attachment:
    """One catalog file: its alias in the shared instance and how many cursors use it."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.users = 0
        self.attached = False  # left attached by a DETACH that failed: no ATTACH needed


_lock = threading.Lock()
_instance: duckdb.DuckDBPyConnection | None = None
_attachments: dict[str, _Attachment] = {}
_numbers = itertools.count(1)


_inherited: list[duckdb.DuckDBPyConnection] = []


def _forget_inherited() -> None:
    """In a forked child: the parent's instance, attachments and lock are not ours.

    The parent's instance is kept referenced, never closed here: its threads did not survive
    the fork, and closing it would wait for them (DuckDB crashes doing so).
    """
    global _lock, _instance
    _lock = threading.Lock()
    if _instance is not None:
        _inherited.append(_instance)
    _instance = None
    _attachments.clear()


if hasattr(os, "register_at_fork"):  # POSIX; Windows only spawns
    os.register_at_fork(after_in_child=_forget_inherited)


def _shared_instance() -> duckdb.DuckDBPyConnection:
    global _instance
    if _instance is None:
        _instance = duckdb.connect(":memory:")
    return _instance


def _attach(key: str) -> tuple[duckdb.DuckDBPyConnection, _Attachment]:
    """Attach the file ``key`` (a resolved path) if no cursor of this process uses it yet;
    count one more user.

    Raises what DuckDB raises when another process holds the file (``duckdb.IOException``,
    "Could not set lock"), with nothing counted.
    """
    with _lock:
        instance = _shared_instance()
        attachment = _attachments.get(key)
        if attachment is None:
            attachment = _Attachment(f"shotbook_catalog_{next(_numbers)}")
        if attachment.users == 0 and not attachment.attached:
            literal = key.replace("'", "''")
            instance.execute(f"ATTACH '{literal}' AS {attachment.alias}")
            _attachments[key] = attachment
        attachment.attached = False
        attachment.users += 1
        return instance, attachment


def _release(key: str, attachment: _Attachment) -> None:
    with _lock:
        attachment.users -= 1
        if attachment.users == 0 and _instance is not None:
            try:
                _instance.execute(f"DETACH DATABASE IF EXISTS {attachment.alias}")
            except duckdb.Error as error:
                # DuckDB detaches the file, then fails to fold its write-ahead log into it
                # (a full disk): what was committed is in the log, replayed at the next
                # attach. The alias is never used again (the database behind it may be
                # invalidated): the next call attaches the file afresh.
                if _attachments.get(key) is attachment and not _still_attached(attachment):
                    del _attachments[key]
                _log.warning("detaching the catalog %s failed (it is re-attached at the next "
                             "call; nothing committed is lost): %s", key, error)  # fmt: skip


def _still_attached(attachment: _Attachment) -> bool:
    """Whether a DETACH that failed left the alias attached (then the next call reuses it)."""
    assert _instance is not None
    try:
        rows = _instance.execute(
            "SELECT 1 FROM duckdb_databases() WHERE database_name = ?", [attachment.alias]
        ).fetchall()
    except duckdb.Error:
        return False
    attachment.attached = bool(rows)
    return attachment.attached


@contextmanager
def attached(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection whose default database is the catalog file at ``path``, for one call.

    The file is held (other processes wait) until the last such connection of this process
    is closed. Raises ``duckdb.IOException`` at once when another process holds the file.
    """
    key = str(path.resolve())
    instance, attachment = _attach(key)
    try:
        cursor = instance.cursor()
        try:
            cursor.execute(f"USE {attachment.alias}")
            yield cursor
        finally:
            cursor.close()
    finally:
        _release(key, attachment)
