"""Short, bounded-wait access to the DuckDB catalog file.

DuckDB lets a single process hold a database file (other processes cannot even
read it), so the catalog is opened for one transaction and closed right after.
When another process holds it, opening is retried until ``lock_timeout``; then
:class:`StoreLockedError` names the holder (DuckDB's message gives its PID).
Inside one process, connections share one database instance and never wait.
"""

from __future__ import annotations

import contextlib
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb

from ._errors import StoreLockedError, StoreVersionError
from ._schema import SCHEMA_VERSION, create_schema, detect_version

T = TypeVar("T")

_HOLDER = re.compile(r"Conflicting lock is held in (.*?)(?:\.\s+See also|$)", re.DOTALL)
_MAX_CONFLICT_RETRIES = 20


def utc_now() -> datetime:
    """The current time as a naive UTC datetime, as stored in the catalog."""
    return datetime.now(UTC).replace(tzinfo=None)


def is_lock_error(error: BaseException) -> bool:
    """Whether DuckDB refused to open the file because another process holds it."""
    text = str(error)
    return "Could not set lock" in text or "Conflicting lock" in text


def lock_holder(error: BaseException) -> str:
    """The holder named in DuckDB's lock error (program and PID), or its whole message."""
    match = _HOLDER.search(str(error))
    return match.group(1).strip() if match else str(error).strip()


class Transaction:
    """An open catalog transaction and the actions to run once it is committed."""

    __slots__ = ("_after", "connection")

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection
        self._after: list[Callable[[], None]] = []

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the transaction is committed (e.g. delete a data folder)."""
        self._after.append(action)

    def run_after_commit(self) -> None:
        """Run the actions registered with :meth:`after_commit`, in order."""
        actions, self._after = self._after, []
        for action in actions:
            action()


class DuckDBCatalog:
    """Opens the catalog at ``path`` for one transaction at a time."""

    def __init__(self, path: Path, lock_timeout: float) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        self._checked = False
        self._check_lock = threading.Lock()

    def connect(self) -> duckdb.DuckDBPyConnection:
        """Open the catalog file, waiting at most ``lock_timeout`` for another process."""
        start = time.monotonic()
        delay = 0.002
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as error:
                if not is_lock_error(error):
                    raise
                waited = time.monotonic() - start
                if waited >= self.lock_timeout:
                    raise StoreLockedError(
                        self.path,
                        f"the catalog is held by another process ({lock_holder(error)}); "
                        f"waited {waited:.1f} s. A session holds the catalog only during one "
                        "call or one transaction: wait for that process to finish its call, "
                        "stop it if it is stuck, or raise DuckDBConfig.lock_timeout",
                    ) from None
                remaining = self.lock_timeout - waited
                time.sleep(min(delay * (0.5 + random.random()), remaining))
                delay = min(delay * 2, 0.05)

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """An open connection (no transaction), closed on exit."""
        connection = self.connect()
        try:
            yield connection
        finally:
            connection.close()

    def ensure_current(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Create a missing catalog; refuse one of another schema version (never change it)."""
        if self._checked:
            return
        with self._check_lock:
            if self._checked:
                return
            version = detect_version(connection)
            if version is None:
                connection.begin()
                try:
                    create_schema(connection, utc_now())
                    connection.commit()
                except BaseException:
                    connection.rollback()
                    raise
            elif version != SCHEMA_VERSION:
                raise version_error(self.path, version)
            self._checked = True

    def run(self, action: Callable[[Transaction], T]) -> T:
        """Run ``action`` in one transaction; retry it if another thread's edit conflicted.

        Threads of one process share the database: two transactions editing the same row
        (or inserting the same key) conflict, and the later one runs again from the start.
        """
        for attempt in range(_MAX_CONFLICT_RETRIES):
            with self.connection() as connection:
                self.ensure_current(connection)
                connection.begin()
                transaction = Transaction(connection)
                try:
                    result = action(transaction)
                    connection.commit()
                except (duckdb.TransactionException, duckdb.ConstraintException):
                    # another thread of this process committed a conflicting edit first:
                    # run the action again on the new state (it re-checks everything)
                    _rollback(connection)
                    if attempt == _MAX_CONFLICT_RETRIES - 1:
                        raise
                    time.sleep(0.001 * (attempt + 1) * (0.5 + random.random()))
                    continue
                except BaseException:
                    _rollback(connection)
                    raise
            transaction.run_after_commit()
            return result
        raise AssertionError("unreachable")  # pragma: no cover


def _rollback(connection: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # no transaction left to roll back
        connection.rollback()


def version_error(path: Path, version: int) -> StoreVersionError:
    """The error for a catalog written with schema ``version`` (this shotbook reads 1)."""
    if version < SCHEMA_VERSION:
        return StoreVersionError(
            path,
            f"the store has schema version {version}, this shotbook uses version "
            f"{SCHEMA_VERSION}; it was left unchanged. Run `shotbook upgrade` (or "
            "Experiment.upgrade_database()) to migrate it; a backup copy is made first",
        )
    return StoreVersionError(
        path,
        f"the store has schema version {version}, written by a newer shotbook (this one "
        f"uses version {SCHEMA_VERSION}); it was left unchanged. Upgrade shotbook to use it",
    )


__all__ = [
    "DuckDBCatalog",
    "Transaction",
    "is_lock_error",
    "lock_holder",
    "utc_now",
    "version_error",
]
