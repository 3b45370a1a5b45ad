"""The SQLite backend: the whole store (catalog and shots) in one file, in WAL mode.

Write transactions start with ``BEGIN IMMEDIATE``: they take the file's write lock up
front (waiting at most ``lock_timeout``, SQLite's busy timeout), so two writers never
deadlock and a conflict is a bounded wait, never a corrupt file. Readers use their own
connection and a snapshot (WAL): they never wait for a writer, not even the shot writer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ._catalog import SQLCatalog, SQLTransaction
from ._manager import SQLStorageManager
from ._schema import SQLITE_TYPES
from ._sqlite_config import SQLiteConfig

if TYPE_CHECKING:
    from shotbook.registry import SerializerProtocol

_BEGIN = {"read": "BEGIN DEFERRED", "write": "BEGIN IMMEDIATE", "append": "BEGIN IMMEDIATE"}


class SQLiteCatalog(SQLCatalog):
    """Connections and dialect of a SQLite store file."""

    types = SQLITE_TYPES

    def __init__(self, config: SQLiteConfig) -> None:
        super().__init__(str(config.path), config.lock_timeout)
        self.config = config

    def space_to_free(self) -> str:
        """The folder of the store's file: its disk is the one to free space on."""
        return str(self.config.path.absolute().parent)

    def open_connection(self, *, for_shots: bool = False) -> sqlite3.Connection:
        """A connection in autocommit mode, WAL journal, bounded wait for the write lock."""
        self.config.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.config.path,
            timeout=self.lock_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(self.lock_timeout * 1000)}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute(f"PRAGMA synchronous = {'FULL' if self.config.fsync else 'NORMAL'}")
        except BaseException:
            connection.close()
            raise
        return connection

    def begin_statement(self, mode: str) -> str:
        """``BEGIN IMMEDIATE`` for writers, a deferred (snapshot) transaction for readers."""
        return _BEGIN[mode]

    def is_retryable(self, error: BaseException) -> bool:
        """Never: writers queue on the write lock instead of conflicting."""
        return False

    def is_lock_timeout(self, error: BaseException) -> bool:
        """The busy timeout ran out (another connection held the write lock)."""
        return isinstance(error, sqlite3.OperationalError) and "locked" in str(error)

    def is_unique_violation(self, error: BaseException) -> bool:
        """A primary-key or unique constraint failed."""
        return isinstance(error, sqlite3.IntegrityError) and "UNIQUE" in str(error)

    def is_broken(self, connection: Any) -> bool:
        """A file connection does not break."""
        return False

    def table_names(self, transaction: SQLTransaction) -> set[str]:
        """The tables of the file."""
        rows = transaction.all("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in rows}

    def translate(self, sql: str) -> str:
        """sqlite3 uses ``?`` placeholders already."""
        return sql

    def to_db_time(self, moment: datetime) -> str:
        """ISO text in UTC with microseconds (sorts as time)."""
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def from_db_time(self, value: Any) -> datetime:
        """A stored ISO text as an aware UTC datetime."""
        return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)

    def fetch_arrow(
        self, queries: Sequence[tuple[str, Sequence[Any], pa.Schema]]
    ) -> list[pa.Table]:
        """Run the queries in one read snapshot, on a reading connection of the pool."""
        with self.reader() as connection:
            return self._fetch(connection, queries)

    def open_reader(self) -> sqlite3.Connection:
        """A connection like the others (WAL readers never wait for writers)."""
        return self.open_connection()

    @staticmethod
    def _fetch(
        connection: sqlite3.Connection, queries: Sequence[tuple[str, Sequence[Any], pa.Schema]]
    ) -> list[pa.Table]:
        tables = []
        connection.execute("BEGIN DEFERRED")
        try:
            for sql, parameters, schema in queries:
                rows = connection.execute(sql, tuple(parameters)).fetchall()
                if not rows:
                    tables.append(schema.empty_table())
                    continue
                columns = list(zip(*rows, strict=True))
                arrays = [
                    pa.array(list(values), type=field.type)
                    for values, field in zip(columns, schema, strict=True)
                ]
                tables.append(pa.Table.from_arrays(arrays, schema=schema))
        finally:
            connection.execute("COMMIT")
        return tables


class SQLiteStorageManager(SQLStorageManager):
    """The storage manager of a :class:`SQLiteConfig` store.

    >>> manager = SQLiteConfig("lab.sqlite").create_storage_manager(serializer)  # doctest: +SKIP
    >>> with manager.session() as session:                                        # doctest: +SKIP
    ...     session.paths.create("/scans")
    """

    def __init__(self, serializer: SerializerProtocol, config: SQLiteConfig | None = None) -> None:
        config = config if config is not None else SQLiteConfig()
        super().__init__(serializer, SQLiteCatalog(config), config)
        self._file = config.path

    def run_notes_folder(self) -> Path:
        """``<file>.run-notes`` beside the store's file (see :class:`LocalStoreFolder`)."""
        return self._file.with_name(self._file.name + ".run-notes")


__all__ = ["SQLiteCatalog", "SQLiteStorageManager"]
