"""The storage manager shared by the SQL backends (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from shotbook.types._paths import PureSequencePath

from .._catalog._changes import CREATE_CHANGE_LOG
from .._catalog._names import normalise_stored_names
from .._errors import StorageError, StoreVersionError
from .._interfaces import RenamedName
from ._catalog import SQLCatalog, SQLTransaction, utc_now
from ._schema import SQL_SCHEMA_VERSION, v2_statements
from ._session import SQLSession
from ._shots import SQLShotReader, SQLShotWriter

if TYPE_CHECKING:
    from shotbook.registry import SerializerProtocol

    from ._postgresql_config import PostgreSQLConfig
    from ._sqlite_config import SQLiteConfig


class SQLStorageManager:
    """Opens sessions on a store kept in one SQL database (catalog and shots).

    Nothing is held between calls, so many managers, in many processes and on many
    computers (PostgreSQL), may use the same store. A missing store is created on first
    use; a store of another schema version is refused (:class:`StoreVersionError`).
    """

    def __init__(
        self,
        serializer: SerializerProtocol,
        catalog: SQLCatalog,
        config: SQLiteConfig | PostgreSQLConfig,
    ) -> None:
        self.serializer = serializer
        self.config = config
        self.catalog = catalog
        self.shots = SQLShotReader(catalog)
        self._closed = False

    @contextmanager
    def session(self) -> Iterator[SQLSession]:
        """A session on the store; it holds no lock between calls."""
        if self._closed:
            raise StorageError(self.catalog.where, "this storage manager is closed")
        yield SQLSession(self)

    def close(self) -> None:
        """Close the connections of every thread; later sessions are refused."""
        self._closed = True
        self.catalog.close()

    def upgrade(self) -> str | None:
        """Create a missing store, or migrate one of version 1 (adds the audit log) in one
        transaction; a current one is left as it is. Returns ``None`` (no copy is made: a
        failed migration is rolled back). A store of another version is refused unchanged.
        """

        def action(tx: SQLTransaction) -> None:
            self.catalog.prepare_schema(tx)
            version = self.catalog.detect_version(tx)
            if version is None:
                self.catalog.create_schema(tx, utc_now())
            elif version > SQL_SCHEMA_VERSION:
                raise self.catalog.version_error(version)
            elif version == 1:
                for statement in v2_statements(self.catalog.types):
                    tx.execute(statement)
                tx.execute(
                    "UPDATE schema_version SET version = ?, upgraded = ?",
                    [SQL_SCHEMA_VERSION, tx.time(utc_now())],
                )
            elif version < SQL_SCHEMA_VERSION:
                raise StoreVersionError(
                    self.catalog.where,
                    f"the store has schema version {version}, and no migration from it to "
                    f"version {SQL_SCHEMA_VERSION} is known; it was left unchanged",
                )
            else:
                tx.execute(CREATE_CHANGE_LOG)  # a store made before the change log

        self.catalog.run(action, check=False)
        self.catalog.mark_current()
        return None

    def normalise_names(self) -> list[RenamedName]:
        """Rename stored paths that are not in Unicode NFC; names that differ only in
        normalisation are kept apart (``café (2)``), never merged. Returns the renames."""
        return self.catalog.run(normalise_stored_names)

    def shot_writer(self, sequence_id: str, path: PureSequencePath) -> SQLShotWriter:
        """The writer of a sequence's shots, on its own connection."""
        return SQLShotWriter(self.catalog, sequence_id, path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.catalog.where!r})"


__all__ = ["SQLStorageManager"]
