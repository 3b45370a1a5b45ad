"""One session over a catalog of paths and sequences, for every backend.

The catalog (DuckDB, SQLite or PostgreSQL) gives short transactions with one small API
(:class:`CatalogTransaction`: SQL with ``?`` placeholders and only portable constructs,
times converted by the database's adapter). Each call of a session is one transaction; no
lock is held between calls. What differs between backends is where the shots are: a
:class:`ShotStorage` strategy counts, writes, deletes and reads them (Parquet folders beside
a DuckDB catalog, or tables of the same SQL database).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from shotbook.types._paths import as_path

from .._interfaces import AuditRecord, PathLike
from .._sequence import Sequence

if TYPE_CHECKING:
    from shotbook.registry import SerializerProtocol
    from shotbook.types import ParameterNamespace

    from .._interfaces import StorageManager

from ._audit import read_log
from ._changes import count_changes, note_change
from ._paths import CatalogPathHierarchy, sequence_row
from ._protocols import (
    Catalog,
    CatalogAccess,
    CatalogTransaction,
    SerializingManager,
    ShotStorage,
    utc_now,
)
from ._sequences import CatalogSequenceCollection

T = TypeVar("T")


@dataclass(frozen=True)
class SessionCatalog:
    """A session's :class:`CatalogAccess`: its manager, catalog and shot storage."""

    manager: SerializingManager
    catalog: Catalog
    shots: ShotStorage

    @property
    def storage_manager(self) -> StorageManager:
        """The manager whose session this is."""
        return self.manager

    @property
    def serializer(self) -> SerializerProtocol:
        """The manager's serializer."""
        return self.manager.serializer

    def read(self, action: Callable[[CatalogTransaction], T]) -> T:
        """Run ``action`` in a read transaction (joining a held one of this thread)."""
        return self.catalog.run(action, write=False)

    def write(self, action: Callable[[CatalogTransaction], T], *, logged: bool = True) -> T:
        """Run ``action`` in a write transaction (joining a held one of this thread).

        The transaction is counted in the change log, unless not ``logged`` (heartbeats).
        """
        if not logged:
            return self.catalog.run(action, write=True)

        def logged_action(tx: CatalogTransaction) -> T:
            result = action(tx)
            if self.catalog.change_log:
                note_change(tx)
            return result

        return self.catalog.run(logged_action, write=True)


class CatalogDeviceConfigurations(MutableMapping[str, Any]):
    """The default device configurations, by device name; each access is one transaction.

    A configuration is whatever the device's extension stores (any registered type), hence
    the ``Any`` values.
    """

    def __init__(self, session: CatalogAccess) -> None:
        self._session = session

    def __getitem__(self, name: str) -> Any:
        row = self._session.read(
            lambda tx: tx.one("SELECT content FROM device_configurations WHERE name = ?", [name])
        )
        if row is None:
            raise KeyError(f"no default configuration for device {name!r}")
        return self._session.serializer.loads(row[0])

    def __setitem__(self, name: str, configuration: Any) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a device name is a non-empty str, got {name!r}")
        text = self._session.serializer.dumps(configuration)
        self._session.write(
            lambda tx: tx.execute(
                "INSERT INTO device_configurations VALUES (?, ?, ?) ON CONFLICT (name) "
                "DO UPDATE SET content = excluded.content, modified = excluded.modified",
                [name, text, tx.time(utc_now())],
            )
        )

    def __delitem__(self, name: str) -> None:
        def action(tx: CatalogTransaction) -> None:
            row = tx.one("DELETE FROM device_configurations WHERE name = ? RETURNING name", [name])
            if row is None:
                raise KeyError(f"no default configuration for device {name!r}")

        self._session.write(action)

    def _names(self) -> builtins.list[str]:
        rows = self._session.read(lambda tx: tx.all("SELECT name FROM device_configurations"))
        return sorted(row[0] for row in rows)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return f"DefaultDeviceConfigurations({self._names()!r})"


class CatalogSession:
    """A session on a store; cheap to create, holds nothing between calls.

    ``catalog`` runs the transactions; ``shots`` keeps the shots. Backends name their
    sessions (``DuckDBSession``, ``SQLSession``) by subclassing.
    """

    _paths_type: type[CatalogPathHierarchy] = CatalogPathHierarchy
    _sequences_type: type[CatalogSequenceCollection] = CatalogSequenceCollection
    _devices_type: type[CatalogDeviceConfigurations] = CatalogDeviceConfigurations

    def __init__(
        self, manager: SerializingManager, catalog: Catalog, shots: ShotStorage, where: str
    ) -> None:
        self._manager = manager
        self._catalog = catalog
        self._where = where
        self._access = SessionCatalog(manager, catalog, shots)  # joins a transaction() block
        self._paths = self._paths_type(self._access)
        self._sequences = self._sequences_type(self._access)
        self._devices = self._devices_type(self._access)

    def _read(self, action: Callable[[CatalogTransaction], T]) -> T:
        return self._access.read(action)

    def _write(self, action: Callable[[CatalogTransaction], T]) -> T:
        return self._access.write(action)

    @property
    def paths(self) -> CatalogPathHierarchy:
        """The folder tree."""
        return self._paths

    @property
    def sequences(self) -> CatalogSequenceCollection:
        """The sequences."""
        return self._sequences

    @property
    def default_device_configurations(self) -> CatalogDeviceConfigurations:
        """The device configurations used by the next runs, by device name."""
        return self._devices

    def get_global_parameters(self) -> ParameterNamespace:
        """The current global parameters (empty when none were set)."""
        row = self._read(lambda tx: tx.one("SELECT content FROM global_parameters WHERE id = 1"))
        if row is None:
            from shotbook.types import ParameterNamespace

            return ParameterNamespace.empty()
        parameters: ParameterNamespace = self._manager.serializer.loads(row[0])
        return parameters

    def set_global_parameters(self, parameters: ParameterNamespace) -> None:
        """Replace the global parameters."""
        text = self._manager.serializer.dumps(parameters)
        self._write(
            lambda tx: tx.execute(
                "INSERT INTO global_parameters VALUES (1, ?, ?) ON CONFLICT (id) "
                "DO UPDATE SET content = excluded.content, modified = excluded.modified",
                [text, tx.time(utc_now())],
            )
        )

    def get_sequence(self, path: PathLike) -> Sequence:
        """The sequence at ``path`` (:class:`PathIsNotSequenceError` for a folder)."""
        path = as_path(path)
        self._read(lambda tx: sequence_row(tx, path))
        return Sequence(path, self._manager)

    def audit_log(self, path: PathLike | None = None) -> builtins.list[AuditRecord]:
        """Who deleted, reset, renamed or interrupted ``path`` (or a sequence or folder under
        it; every record when ``None``), and when, oldest first.

        >>> for entry in session.audit_log("/scans/tof"):   # doctest: +SKIP
        ...     print(entry)
        2026-12-08 01:40:12 UTC reset /scans/tof by ana@lab-pc pid 4242
        """
        where = None if path is None else as_path(path)
        return self._read(lambda tx: read_log(tx, where))

    def change_count(self) -> int | None:
        """How many write transactions the store has committed (one cheap query).

        A number that grows with every change of the paths, sequences, globals and default
        device configurations (heartbeats of a run excepted; shots stored by a run do not
        count either: read the running sequences' stats for those). ``None`` when the store
        keeps no change log (opened read-only): then list the store to see changes.
        """

        def action(tx: CatalogTransaction) -> int | None:
            return count_changes(tx) if self._catalog.change_log else None

        return self._read(action)

    def transaction(self) -> AbstractContextManager[None]:
        """Group the calls made in the block (in this thread) into one transaction.

        The store's write lock is held for the whole block, so other writers wait: keep it
        short. An error in the block rolls every change of the block back.

        >>> with session.transaction():                     # doctest: +SKIP
        ...     for i in range(100):
        ...         session.sequences.create(f"/scans/{i}", steps, lanes)
        """
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._catalog.hold():
            yield

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._where!r})"


__all__ = ["CatalogDeviceConfigurations", "CatalogSession", "SessionCatalog"]
