"""Short transactions on a SQL store (SQLite or PostgreSQL), with retries on conflicts.

Each call of a session is one transaction on a connection kept per thread; between calls
the connection is idle and holds no lock. Write transactions take the database's write
lock up front (``BEGIN IMMEDIATE`` on SQLite) or run ``SERIALIZABLE`` (PostgreSQL); when
another process's transaction conflicts, the whole call runs again on the new state, so
concurrent edits never leave a half edit nor a corrupt store. Waiting for a lock is bounded
by ``lock_timeout``; then :class:`StoreLockedError` says so.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from .._catalog._changes import CREATE_CHANGE_LOG, has_change_log
from .._errors import (
    StorageError,
    StoreLockedError,
    StoreVersionError,
    disk_full_detail,
    store_full_error,
)
from ._schema import SQL_SCHEMA_VERSION, TABLES, ColumnTypes, schema_statements

if TYPE_CHECKING:
    import pyarrow as pa

T = TypeVar("T")
_log = logging.getLogger("shotbook.session")

_MAX_RETRIES = 50


class SQLTransaction:
    """An open transaction: SQL written with ``?`` placeholders, and actions run after commit."""

    __slots__ = ("_after", "catalog", "changed", "connection")

    def __init__(self, catalog: SQLCatalog, connection: Any) -> None:
        self.catalog = catalog
        self.connection = connection
        self.changed = False
        self._after: list[Callable[[], None]] = []

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        """Run one statement; returns the cursor."""
        cursor = self.connection.cursor()
        cursor.execute(self.catalog.translate(sql), tuple(parameters))
        return cursor

    def one(self, sql: str, parameters: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query (``None`` when there is none)."""
        row = self.execute(sql, parameters).fetchone()
        return None if row is None else tuple(row)

    def all(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query."""
        return [tuple(row) for row in self.execute(sql, parameters).fetchall()]

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters."""
        rows = [tuple(row) for row in rows]
        if rows:
            self.connection.cursor().executemany(self.catalog.translate(sql), rows)

    def time(self, moment: datetime | None) -> Any:
        """A timezone-aware datetime as the database stores it."""
        return None if moment is None else self.catalog.to_db_time(moment)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the transaction is committed."""
        self._after.append(action)

    def touch(self, uuids: Iterable[str]) -> None:
        """Nothing to do: the shots live in the same database (see ``CatalogTransaction``)."""

    def run_after_commit(self) -> None:
        """Run the actions registered with :meth:`after_commit`, in order."""
        actions, self._after = self._after, []
        for action in actions:
            action()


class SQLCatalog(ABC):
    """One SQL database holding a store; subclasses know their driver and dialect.

    ``where`` names the store in errors (a file, or ``postgresql://user@host:port/db``).
    """

    types: ColumnTypes
    blob_placeholder = "?"
    """The placeholder of a parameter holding bytes (PostgreSQL sends them in binary)."""

    def __init__(self, where: str, lock_timeout: float) -> None:
        self.where = where
        self.lock_timeout = lock_timeout
        self._local = threading.local()
        self._connections: list[Any] = []
        self._idle_readers: list[Any] = []
        self._connections_lock = threading.Lock()
        self._checked = False
        self._check_lock = threading.Lock()
        self._closed = False
        self.change_log = False

    # --- what a database provides -----------------------------------------------------------

    @abstractmethod
    def open_connection(self, *, for_shots: bool = False) -> Any:
        """A new DB-API connection in autocommit mode (``for_shots``: the shot writer's)."""

    @abstractmethod
    def begin_statement(self, mode: str) -> str:
        """The statement opening a transaction: mode ``read``, ``write`` or ``append``.

        ``append`` is a shot writer's transaction: it only inserts new shot rows.
        """

    @abstractmethod
    def is_retryable(self, error: BaseException) -> bool:
        """Whether ``error`` means another transaction conflicted (run the call again)."""

    @abstractmethod
    def is_lock_timeout(self, error: BaseException) -> bool:
        """Whether ``error`` means a lock stayed held longer than ``lock_timeout``."""

    @abstractmethod
    def is_unique_violation(self, error: BaseException) -> bool:
        """Whether ``error`` is a primary-key or unique constraint violation."""

    @abstractmethod
    def is_broken(self, connection: Any) -> bool:
        """Whether the connection was lost (the server restarted, the network failed)."""

    @abstractmethod
    def table_names(self, transaction: SQLTransaction) -> set[str]:
        """The tables of the store's schema."""

    @abstractmethod
    def translate(self, sql: str) -> str:
        """SQL written with ``?`` placeholders, in the driver's placeholder style."""

    @abstractmethod
    def to_db_time(self, moment: datetime) -> Any:
        """A timezone-aware datetime as stored."""

    @abstractmethod
    def from_db_time(self, value: Any) -> datetime:
        """A stored time as a timezone-aware UTC datetime."""

    @abstractmethod
    def fetch_arrow(
        self, queries: Sequence[tuple[str, Sequence[Any], pa.Schema]]
    ) -> list[pa.Table]:
        """Run read-only queries (``?`` placeholders) on one snapshot; results as Arrow tables.

        Each result has exactly the given schema.
        """

    def space_to_free(self) -> str:
        """Where to free space when the store's disk is full (SQLite: the file's folder)."""
        return f"the disk of the database server of {self.where}"

    def full_disk_error(self, error: BaseException) -> StorageError | None:
        """The shotbook error for ``error`` when it says the disk is full, else ``None``."""
        detail = disk_full_detail(error)
        if detail is None:
            return None
        return store_full_error(
            self.where,
            self.space_to_free(),
            detail,
            "writing the store",
            "run the call again (it changed nothing)",
        )

    def prepare_schema(self, transaction: SQLTransaction) -> None:  # noqa: B027
        """Serialize the version check between processes; create the schema's namespace."""

    def after_create(self, transaction: SQLTransaction) -> None:  # noqa: B027
        """Database-specific tuning of the new tables."""

    # --- connections --------------------------------------------------------------------------

    def connection(self) -> Any:
        """This thread's connection (opened on first use, reopened if it was lost)."""
        if self._closed:
            raise StorageError(self.where, "this storage manager is closed")
        connection = getattr(self._local, "connection", None)
        if connection is not None and self.is_broken(connection):
            self._forget(connection)
            connection = None
        if connection is None:
            connection = self.open_connection()
            with self._connections_lock:
                self._connections.append(connection)
            self._local.connection = connection
        return connection

    def track(self, connection: Any) -> Any:
        """Close ``connection`` with the catalog (for connections kept by readers)."""
        with self._connections_lock:
            self._connections.append(connection)
        return connection

    @abstractmethod
    def open_reader(self) -> Any:
        """A new connection for :meth:`fetch_arrow` (kept in a pool between reads)."""

    @contextmanager
    def reader(self) -> Iterator[Any]:
        """A reading connection from the pool, back in it after a successful read.

        Readers are shared by all threads (polars collects lazy frames on its own threads),
        one thread at a time; a connection that failed is closed, not reused.
        """
        if self._closed:
            raise StorageError(self.where, "this storage manager is closed")
        with self._connections_lock:
            connection = self._idle_readers.pop() if self._idle_readers else None
        if connection is None:
            connection = self.track(self.open_reader())
        try:
            yield connection
        except BaseException:
            self._forget(connection)
            raise
        with self._connections_lock:
            if self._closed:
                connection.close()
            else:
                self._idle_readers.append(connection)

    def _forget(self, connection: Any) -> None:
        with self._connections_lock, contextlib.suppress(ValueError):
            self._connections.remove(connection)
        with contextlib.suppress(Exception):
            connection.close()
        if getattr(self._local, "connection", None) is connection:
            self._local.connection = None

    def close(self) -> None:
        """Close every connection this catalog opened (in any thread)."""
        self._closed = True
        with self._connections_lock:
            connections, self._connections = self._connections, []
            self._idle_readers = []
        for connection in connections:
            with contextlib.suppress(Exception):
                connection.close()

    # --- transactions -------------------------------------------------------------------------

    def _begin(self, connection: Any, mode: str) -> SQLTransaction:
        connection.cursor().execute(self.begin_statement(mode))
        return SQLTransaction(self, connection)

    @staticmethod
    def _commit(connection: Any) -> None:
        connection.cursor().execute("COMMIT")

    @staticmethod
    def _rollback(connection: Any) -> None:
        with contextlib.suppress(Exception):
            connection.cursor().execute("ROLLBACK")

    def run(
        self,
        action: Callable[[SQLTransaction], T],
        *,
        write: bool = True,
        connection: Any = None,
        append: bool = False,
        check: bool = True,
    ) -> T:
        """Run ``action`` in one transaction, again from the start after a conflict.

        ``connection``: use this one (a shot writer's, then ``append`` says the transaction
        only inserts shots) instead of the thread's. ``check=False`` skips the schema
        version check (for :meth:`upgrade`).
        """
        held = getattr(self._local, "held", None)
        if held is not None and connection is None:
            return action(held)  # inside hold(): part of the enclosing transaction
        mode = "append" if append else "write" if write else "read"
        attempt = 0
        start = time.monotonic()
        own = connection
        while True:
            connection = own if own is not None else self.connection()
            try:
                if check:
                    self.ensure_current(connection)
                transaction = self._begin(connection, mode)
                try:
                    result = action(transaction)
                    self._commit(connection)
                except BaseException:
                    self._rollback(connection)
                    raise
            except StorageError:
                raise
            except Exception as error:
                attempt += 1
                if self.is_retryable(error) and attempt < _MAX_RETRIES:
                    time.sleep(min(0.2, 0.002 * attempt) * (0.5 + random.random()))
                    continue
                if own is None and self.is_broken(connection) and attempt == 1:
                    self._forget(connection)
                    continue
                if self.is_lock_timeout(error):
                    raise self.locked_error(time.monotonic() - start) from error
                if (full := self.full_disk_error(error)) is not None:
                    raise full from error
                if self.is_retryable(error):
                    raise StorageError(
                        self.where,
                        f"other processes kept changing the same data ({attempt} attempts); "
                        "nothing was changed by this call: run it again",
                    ) from error
                raise
            transaction.run_after_commit()
            return result

    @contextmanager
    def hold(self) -> Iterator[SQLTransaction]:
        """One write transaction for a whole block (no automatic retry: a block runs once).

        Calls made in the block on this thread (``run``, a nested ``hold``) join it.
        """
        held = getattr(self._local, "held", None)
        if held is not None:
            yield held
            return
        connection = self.connection()
        start = time.monotonic()
        try:
            self.ensure_current(connection)
            transaction = self._begin(connection, "write")
        except Exception as error:
            if self.is_lock_timeout(error):
                raise self.locked_error(time.monotonic() - start) from error
            if (full := self.full_disk_error(error)) is not None:
                raise full from error
            raise
        self._local.held = transaction
        try:
            yield transaction
            self._commit(connection)
        except BaseException as error:
            self._rollback(connection)
            if isinstance(error, Exception) and (full := self.full_disk_error(error)):
                raise full from error
            if isinstance(error, Exception) and self.is_retryable(error):
                raise StorageError(
                    self.where,
                    "another process changed the same data during this transaction; every "
                    "change of the block was rolled back: run the block again",
                ) from error
            raise
        finally:
            self._local.held = None
        transaction.run_after_commit()

    def locked_error(self, waited: float) -> StoreLockedError:
        """The error for a lock held longer than ``lock_timeout``."""
        return StoreLockedError(
            self.where,
            f"another process held the store's write lock for longer than the lock timeout "
            f"(waited {waited:.1f} s). A session holds it only during one call or one "
            "transaction block: wait for that process to finish, stop it if it is stuck, or "
            "raise lock_timeout in the configuration",
        )

    # --- schema version -----------------------------------------------------------------------

    def detect_version(self, transaction: SQLTransaction) -> int | None:
        """The schema version of the store, ``None`` when it has no table yet (only reads)."""
        tables = self.table_names(transaction) & set(TABLES)
        if not tables:
            return None
        if "schema_version" not in tables:
            return 0
        row = transaction.one("SELECT max(version) FROM schema_version")
        return 0 if row is None or row[0] is None else int(row[0])

    def create_schema(self, transaction: SQLTransaction, now: datetime) -> None:
        """Create the tables of an empty store (inside the caller's transaction)."""
        for statement in schema_statements(self.types):
            transaction.execute(statement)
        self.after_create(transaction)
        transaction.execute(CREATE_CHANGE_LOG)
        transaction.execute(
            "INSERT INTO schema_version VALUES (?, ?, NULL)",
            [SQL_SCHEMA_VERSION, transaction.time(now)],
        )

    def ensure_current(self, connection: Any) -> None:
        """Create a missing store; refuse one of another schema version (never change it)."""
        if self._checked:
            return
        with self._check_lock:
            if self._checked:
                return
            for mode in ("read", "write"):  # take the write lock only to create the store
                transaction = self._begin(connection, mode)
                try:
                    if mode == "write":
                        self.prepare_schema(transaction)
                    version = self.detect_version(transaction)
                    if version is None and mode == "write":
                        self.create_schema(transaction, utc_now())
                    elif version is not None and version != SQL_SCHEMA_VERSION:
                        raise self.version_error(version)
                    self.change_log = has_change_log(self.table_names(transaction))
                    self._commit(connection)
                except BaseException:
                    self._rollback(connection)
                    raise
                if version is not None or mode == "write":
                    break
            if not self.change_log:
                self.change_log = self._add_change_log(connection)
            self._checked = True

    def _add_change_log(self, connection: Any) -> bool:
        """Add the change log to a store that lacks it; False when the store is read-only."""
        try:
            transaction = self._begin(connection, "write")
            try:
                self.prepare_schema(transaction)
                transaction.execute(CREATE_CHANGE_LOG)
                self._commit(connection)
            except BaseException:
                self._rollback(connection)
                raise
        except Exception as error:
            _log.info("%s: no change log (%s); readers list every sequence", self.where, error)
            return False
        return True

    def mark_current(self) -> None:
        """Record that the store has the current schema and the change log (after
        :meth:`upgrade` made it so)."""
        self.change_log = True
        self._checked = True

    def version_error(self, version: int) -> StoreVersionError:
        """The error for a store written with schema ``version``."""
        if version < SQL_SCHEMA_VERSION:
            return StoreVersionError(
                self.where,
                f"the store has schema version {version}, this shotbook uses version "
                f"{SQL_SCHEMA_VERSION}; it was left unchanged. Run `shotbook upgrade` (or "
                "Experiment.upgrade_database()) to migrate it",
            )
        return StoreVersionError(
            self.where,
            f"the store has schema version {version}, written by a newer shotbook (this one "
            f"uses version {SQL_SCHEMA_VERSION}); it was left unchanged. Upgrade shotbook to "
            "use it",
        )


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    from datetime import UTC

    return datetime.now(UTC)


__all__ = ["SQLCatalog", "SQLTransaction", "utc_now"]
