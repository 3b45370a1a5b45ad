"""The PostgreSQL backend: catalog and shots in one database, reachable over the network.

Catalog calls run ``SERIALIZABLE`` (reads: ``REPEATABLE READ READ ONLY``): when two
clients change related rows at once, PostgreSQL aborts one and the call runs again on the
new state, so concurrent edits never leave a half edit. A row lock held longer than
``lock_timeout`` gives :class:`StoreLockedError`. The shot writer inserts each shot in
its own ``READ COMMITTED`` transaction on its own connection (binary parameters; images
are stored uncompressed, out of line). Shots are read with ADBC, whose PostgreSQL driver
fetches results with ``COPY`` in binary straight into Arrow.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import psycopg
import psycopg.errors
import pyarrow as pa

from .._errors import StorageError
from ._catalog import SQLCatalog, SQLTransaction
from ._manager import SQLStorageManager
from ._schema import POSTGRESQL_TYPES

if TYPE_CHECKING:
    from shotbook.registry import SerializerProtocol

    from ._postgresql_config import PostgreSQLConfig

_BEGIN = {
    "read": "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    "write": "BEGIN ISOLATION LEVEL SERIALIZABLE",
    "append": "BEGIN ISOLATION LEVEL READ COMMITTED",
}
_PLACEHOLDER = re.compile(r"\?")


class PostgreSQLCatalog(SQLCatalog):
    """Connections and dialect of a PostgreSQL store."""

    types = POSTGRESQL_TYPES
    blob_placeholder = "%b"

    def __init__(self, config: PostgreSQLConfig) -> None:
        super().__init__(config.where, config.lock_timeout)
        self.config = config
        self._lock_key = zlib.crc32(f"shotbook:{config.schema}".encode())

    def _settings(self) -> list[str]:
        return [
            "SET TIME ZONE 'UTC'",
            f"SET lock_timeout = {int(self.config.lock_timeout * 1000)}",
            f'SET search_path TO "{self.config.schema}"',
        ]

    def open_connection(self, *, for_shots: bool = False) -> psycopg.Connection[Any]:
        """A psycopg connection in autocommit mode, in UTC, on the store's schema."""
        try:
            connection = psycopg.connect(autocommit=True, **self.config.connection_arguments())
        except psycopg.OperationalError as error:
            raise StorageError(
                self.where,
                f"cannot connect to PostgreSQL ({str(error).strip()}); check that the server "
                "runs and accepts connections, and the host, port, database, username and "
                "password of the PostgreSQLConfig",
            ) from None
        try:
            for statement in self._settings():
                connection.execute(statement)
            if for_shots and not self.config.fsync:
                connection.execute("SET synchronous_commit = off")
        except BaseException:
            connection.close()
            raise
        return connection

    def begin_statement(self, mode: str) -> str:
        """Serializable writes, snapshot reads, read-committed shot inserts."""
        return _BEGIN[mode]

    def is_retryable(self, error: BaseException) -> bool:
        """A serialization failure or a deadlock: run the transaction again."""
        return isinstance(
            error, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected
        )

    def is_lock_timeout(self, error: BaseException) -> bool:
        """``lock_timeout`` ran out waiting for a row or table lock."""
        return isinstance(error, psycopg.errors.LockNotAvailable)

    def is_unique_violation(self, error: BaseException) -> bool:
        """A primary-key or unique constraint failed."""
        return isinstance(error, psycopg.errors.UniqueViolation)

    def is_broken(self, connection: Any) -> bool:
        """The connection was closed or lost."""
        return bool(connection.closed or connection.broken)

    def table_names(self, transaction: SQLTransaction) -> set[str]:
        """The tables of the store's schema."""
        rows = transaction.all(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
            [self.config.schema],
        )
        return {row[0] for row in rows}

    def translate(self, sql: str) -> str:
        """psycopg uses ``%s`` placeholders (``%b``: binary, kept as it is)."""
        return sql.replace("?", "%s")

    def to_db_time(self, moment: datetime) -> datetime:
        """TIMESTAMPTZ takes aware datetimes."""
        return moment

    def from_db_time(self, value: Any) -> datetime:
        """A TIMESTAMPTZ as an aware UTC datetime."""
        moment: datetime = value.astimezone(UTC)
        return moment

    def prepare_schema(self, transaction: SQLTransaction) -> None:
        """One process at a time checks or creates the store; create its schema if missing."""
        transaction.execute("SELECT pg_advisory_xact_lock(?)", [self._lock_key])
        transaction.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.config.schema}"')

    def after_create(self, transaction: SQLTransaction) -> None:
        """Keep arrays uncompressed and out of line: images do not compress, reads are faster."""
        transaction.execute("ALTER TABLE shot_arrays ALTER COLUMN data SET STORAGE EXTERNAL")

    # --- Arrow reads through ADBC -------------------------------------------------------------

    def open_reader(self) -> Any:
        """An ADBC connection (Arrow-native) in UTC, on the store's schema."""
        import adbc_driver_postgresql.dbapi as adbc

        try:
            connection = adbc.connect(self.config.uri(), autocommit=True)
        except Exception as error:
            raise StorageError(
                self.where, f"cannot open an Arrow (ADBC) connection to PostgreSQL: {error}"
            ) from None
        with connection.cursor() as cursor:
            for statement in self._settings():
                cursor.execute(statement)
        return connection

    def fetch_arrow(
        self, queries: Sequence[tuple[str, Sequence[Any], pa.Schema]]
    ) -> list[pa.Table]:
        """Run the queries in one snapshot (``REPEATABLE READ``); results arrive as Arrow.

        A connection that fails (e.g. the server restarted) is dropped and the read is
        tried once more on a new one.
        """
        for attempt in range(2):
            try:
                with self.reader() as connection:
                    return self._fetch(connection, queries)
            except StorageError:
                raise
            except Exception:
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _fetch(
        connection: Any, queries: Sequence[tuple[str, Sequence[Any], pa.Schema]]
    ) -> list[pa.Table]:
        tables = []
        with connection.cursor() as cursor:
            cursor.execute(_BEGIN["read"])
            try:
                for sql, parameters, schema in queries:
                    numbered = _numbered(sql)
                    cursor.execute(numbered, tuple(parameters) if parameters else None)
                    table = cursor.fetch_arrow_table()
                    table = table.rename_columns(schema.names)
                    tables.append(table.cast(schema))
            finally:
                cursor.execute("COMMIT")
        return tables


def _numbered(sql: str) -> str:
    """SQL with ``?`` placeholders, numbered as libpq wants (``$1``, ``$2``...)."""
    counter = iter(range(1, sql.count("?") + 1))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


class PostgreSQLStorageManager(SQLStorageManager):
    """The storage manager of a :class:`PostgreSQLConfig` store.

    >>> config = PostgreSQLConfig("lab", host="db.lab.example", database="rb87")  # doctest: +SKIP
    >>> with config.create_storage_manager(serializer).session() as session:     # doctest: +SKIP
    ...     session.sequences.all_sequences()
    """

    def __init__(self, serializer: SerializerProtocol, config: PostgreSQLConfig) -> None:
        super().__init__(serializer, PostgreSQLCatalog(config), config)


__all__ = ["PostgreSQLCatalog", "PostgreSQLStorageManager"]
