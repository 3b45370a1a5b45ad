"""The session of the SQL stores (SQLite, PostgreSQL): catalog and shots in one database.

The session is the one of every backend (:mod:`.._catalog._session`); the shots are rows of
the same database (see :mod:`._shots`), so :class:`SQLShotStorage` deletes them in the
same transactions as the catalog rows, and a sequence's shots follow it when it moves.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, SupportsInt

from shotbook.types._paths import PureSequencePath

from .._catalog._paths import CatalogPathHierarchy
from .._catalog._protocols import CatalogTransaction
from .._catalog._sequences import CatalogSequenceCollection
from .._catalog._session import CatalogDeviceConfigurations, CatalogSession
from .._interfaces import ShotWriter
from .._sequence import ShotContent
from .._states import State

if TYPE_CHECKING:
    import polars

    from ._manager import SQLStorageManager

_SHOT_TABLES = ("shots", "shot_values", "shot_arrays", "shot_columns")


def delete_shot_rows(tx: CatalogTransaction, sequence_ids: Iterable[str]) -> None:
    """Delete every shot of these sequences (inside the caller's transaction)."""
    ids = list(sequence_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        placeholders = ", ".join("?" for _ in chunk)
        for table in _SHOT_TABLES:
            tx.execute(f"DELETE FROM {table} WHERE sequence_id IN ({placeholders})", chunk)


class SQLShotStorage:
    """Shots in the ``shots``, ``shot_values``, ``shot_arrays`` and ``shot_columns`` tables."""

    stats_count = (
        "CASE WHEN state IN ('preparing', 'running') THEN "
        "(SELECT count(*) FROM shots WHERE shots.sequence_id = sequences.uuid) "
        "ELSE number_of_shots END"
    )

    def __init__(self, manager: SQLStorageManager) -> None:
        self._manager = manager

    def shot_count(self, state: State, uuid: str, stored: SupportsInt | None) -> int:
        """The count of the stats query (counted in it for a sequence being run)."""
        return 0 if stored is None else int(stored)

    def count_in(self, tx: CatalogTransaction, uuid: str) -> int:
        """The shot rows of the sequence, counted in ``tx``."""
        row = tx.one("SELECT count(*) FROM shots WHERE sequence_id = ?", [uuid])
        return 0 if row is None else int(row[0])

    def delete(self, tx: CatalogTransaction, uuids: Sequence[str]) -> None:
        """Delete the shot rows in ``tx``."""
        delete_shot_rows(tx, uuids)

    def before_start(self, tx: CatalogTransaction, uuid: str) -> None:
        """Nothing to prepare: shot rows need no place."""

    def writer(self, uuid: str, path: PureSequencePath) -> ShotWriter:
        """A writer on its own connection."""
        return self._manager.shot_writer(uuid, path)

    def indices(self, uuid: str) -> builtins.list[int]:
        """The indices of the stored shots."""
        return self._manager.shots.indices(uuid)

    def has_frame(self, state: State, uuid: str) -> bool:
        """Whether the sequence has a frame of shots, as with the other backends.

        A sequence being run has one, even while empty; one that never wrote a shot (a
        DRAFT, or stopped while PREPARING) has none: an empty frame without columns.
        """
        if state is State.RUNNING:
            return True
        if state is State.DRAFT or state is State.PREPARING:
            return False
        return bool(self._manager.shots.indices(uuid))

    def loader(self, uuid: str) -> Callable[[int], ShotContent | None]:
        """Reads one shot by index."""
        shots = self._manager.shots
        return lambda index: shots.read_shot(uuid, index)

    def scan(self, uuid: str) -> polars.LazyFrame:
        """A lazy frame over the shot rows."""
        return self._manager.shots.scan(uuid)

    def read(self, uuid: str) -> polars.DataFrame:
        """The shot rows as a frame."""
        return self._manager.shots.read_polars(uuid)


class SQLPathHierarchy(CatalogPathHierarchy):
    """The folder tree, stored in the ``paths`` table."""


class SQLSequenceCollection(CatalogSequenceCollection):
    """The sequences, in the ``sequences`` table; their shots in the shot tables."""


class SQLDeviceConfigurations(CatalogDeviceConfigurations):
    """The default device configurations, by device name; each access is one transaction."""


class SQLSession(CatalogSession):
    """A session on a SQL store; cheap to create, holds nothing between calls."""

    _paths_type = SQLPathHierarchy
    _sequences_type = SQLSequenceCollection
    _devices_type = SQLDeviceConfigurations

    def __init__(self, manager: SQLStorageManager) -> None:
        catalog = manager.catalog
        super().__init__(manager, catalog, SQLShotStorage(manager), catalog.where)


__all__ = [
    "SQLDeviceConfigurations",
    "SQLPathHierarchy",
    "SQLSequenceCollection",
    "SQLSession",
    "SQLShotStorage",
    "delete_shot_rows",
]
