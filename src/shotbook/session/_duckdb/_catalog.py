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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb

from .._catalog._changes import CREATE_CHANGE_LOG, has_change_log
from .._errors import (
    StorageError,
    StoreLockedError,
    StoreVersionError,
    disk_full_detail,
    store_full_error,
)
from ._attach import attached
from ._schema import SCHEMA_VERSION, create_schema, detect_version, table_names

if TYPE_CHECKING:
    from .._parquet._locator import ShotLocator

T = TypeVar("T")

_HOLDER = re.compile(r"Conflicting lock is held in (.*?)(?:\.\s+See also|$)", re.DOTALL)
_MAX_CONFLICT_RETRIES = 20


def utc_now() -> datetime:
    """The current time as a naive UTC datetime, as stored in the catalog."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_db_time(moment: datetime) -> datetime:
    """A timezone-aware datetime as stored in the catalog: naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def from_db_time(value: datetime) -> datetime:
    """A stored (naive UTC) time as a timezone-aware UTC datetime."""
    return value.replace(tzinfo=UTC)


def is_lock_error(error: BaseException) -> bool:
    """Whether DuckDB refused to open the file because another process holds it."""
    text = str(error)
    return "Could not set lock" in text or "Conflicting lock" in text


def is_invalidated(error: BaseException) -> bool:
    """Whether DuckDB gave the attached catalog up after a fatal error (re-attached later)."""
    return "invalidated" in str(error)


def lock_holder(error: BaseException) -> str:
    """The holder named in DuckDB's lock error (program and PID), or its whole message."""
    match = _HOLDER.search(str(error))
    return match.group(1).strip() if match else str(error).strip()


class Transaction:
    """An open catalog transaction: SQL with ``?`` placeholders, and actions run after commit.

    The same small API as ``_sql._catalog.SQLTransaction`` (``execute``, ``one``, ``all``,
    ``time``), so one session serves every backend.
    """

    __slots__ = ("_after", "catalog", "changed", "connection", "touched")

    def __init__(self, connection: duckdb.DuckDBPyConnection, catalog: DuckDBCatalog) -> None:
        self.connection = connection
        self.catalog = catalog
        self.changed = False
        self._after: list[Callable[[], None]] = []
        self.touched: set[str] = set()

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        """Run one statement; returns the connection (a cursor)."""
        return self.connection.execute(sql, parameters)

    def one(self, sql: str, parameters: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query (``None`` when there is none)."""
        row = self.connection.execute(sql, parameters).fetchone()
        return None if row is None else tuple(row)

    def all(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query."""
        return self.connection.execute(sql, parameters).fetchall()

    def time(self, moment: datetime | None) -> Any:
        """A timezone-aware datetime as the catalog stores it (naive UTC ``TIMESTAMP``)."""
        return None if moment is None else to_db_time(moment)

    def touch(self, uuids: Iterable[str]) -> None:
        """Say that the transaction may change where these sequences are (or whether they are).

        Their shot-folder markers are then moved around the commit (see ``_parquet._locator``).
        """
        self.touched.update(uuids)

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

    def __init__(self, path: Path, lock_timeout: float, locator: ShotLocator | None = None) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        self.locator = locator
        self._checked = False
        self._check_lock = threading.Lock()
        self._local = threading.local()
        self.change_log = False

    from_db_time = staticmethod(from_db_time)
    """A stored time as a timezone-aware UTC datetime."""

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The catalog, open for one call (no transaction); released on exit.

        Waits at most ``lock_timeout`` for another process that holds the file.
        """
        start = time.monotonic()
        delay = 0.002
        with contextlib.ExitStack() as stack:
            while True:
                try:
                    connection = stack.enter_context(attached(self.path))
                    break
                except duckdb.IOException as error:
                    if not is_lock_error(error):
                        raise
                    waited = time.monotonic() - start
                    if waited >= self.lock_timeout:
                        raise StoreLockedError(
                            self.path,
                            f"the catalog is held by another process ({lock_holder(error)}); "
                            f"waited {waited:.1f} s. A session holds the catalog only during "
                            "one call or one transaction: wait for that process to finish its "
                            "call, stop it if it is stuck, or raise DuckDBConfig.lock_timeout",
                        ) from None
                    remaining = self.lock_timeout - waited
                    time.sleep(min(delay * (0.5 + random.random()), remaining))
                    delay = min(delay * 2, 0.05)
            yield connection

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
            self.change_log = _add_change_log(connection)
            self._checked = True

    def run(self, action: Callable[[Transaction], T], *, write: bool = True) -> T:
        """Run ``action`` in one transaction; retry it if another thread's edit conflicted.

        Threads of one process share the database: two transactions editing the same row
        (or inserting the same key) conflict, and the later one runs again from the start.
        Inside :meth:`hold` (same thread) the action joins the held transaction. ``write``
        is accepted for the catalogs' common API: a DuckDB transaction is the same either way.
        """
        held: Transaction | None = getattr(self._local, "held", None)
        if held is not None:
            return action(held)
        with self.storage_errors():
            return self._run(action)

    def _run(self, action: Callable[[Transaction], T]) -> T:
        for attempt in range(_MAX_CONFLICT_RETRIES):
            with self.connection() as connection:
                self.ensure_current(connection)
                connection.begin()
                transaction = Transaction(connection, self)
                try:
                    result = action(transaction)
                    self.commit(connection, transaction)
                except (duckdb.TransactionException, duckdb.ConstraintException) as error:
                    if disk_full_detail(error) is not None or is_invalidated(error):
                        _rollback(connection)
                        raise  # not a conflict: running it again cannot help
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

    @contextmanager
    def hold(self) -> Iterator[Transaction]:
        """One transaction for a whole block (no automatic retry: a block runs once).

        The catalog is held for the whole block, so other processes wait. Calls made in the
        block on this thread (``run``, a nested ``hold``) join it; an error rolls it back.
        """
        held: Transaction | None = getattr(self._local, "held", None)
        if held is not None:
            yield held
            return
        with self.storage_errors(), self.connection() as connection:
            self.ensure_current(connection)
            connection.begin()
            transaction = Transaction(connection, self)
            self._local.held = transaction
            try:
                yield transaction
                self.commit(connection, transaction)
            except BaseException:
                _rollback(connection)
                raise
            finally:
                self._local.held = None
        transaction.run_after_commit()

    @contextmanager
    def storage_errors(self) -> Iterator[None]:
        """Turn the errors of a full disk (DuckDB's, or the shot locator's ``OSError``) and of
        an invalidated catalog into :class:`StorageError` naming the catalog."""
        try:
            yield
        except StorageError:
            raise
        except (duckdb.Error, OSError) as error:
            folder = self.path.parent
            detail = disk_full_detail(error)
            if detail is not None:
                raise store_full_error(
                    self.path,
                    folder,
                    detail,
                    "writing the catalog",
                    "run the call again (it changed nothing)",
                ) from error
            if is_invalidated(error):
                raise StorageError(
                    self.path,
                    f"DuckDB gave the catalog up after an error ({error}); nothing committed is "
                    f"lost and it is opened afresh at the next call. Check the disk holding "
                    f"{folder} (free space), then run the call again",
                ) from error
            raise

    def commit(self, connection: duckdb.DuckDBPyConnection, transaction: Transaction) -> None:
        """Commit; through the shot locator when the transaction touched sequences."""
        if transaction.touched and self.locator is not None:
            self.locator.commit(connection, transaction.touched, connection.commit)
        else:
            connection.commit()


def _add_change_log(connection: duckdb.DuckDBPyConnection) -> bool:
    """Add the change log to a store that lacks it; False when the file cannot be written."""
    try:
        connection.execute(CREATE_CHANGE_LOG)
    except duckdb.Error:
        return has_change_log(table_names(connection))
    return True


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
    "from_db_time",
    "is_lock_error",
    "lock_holder",
    "to_db_time",
    "utc_now",
    "version_error",
]
