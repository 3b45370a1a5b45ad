"""The session of the default store: a DuckDB catalog, shots in one Parquet folder per sequence.

The session itself is the one of every backend (:mod:`.._catalog._session`); what is specific
is where the shots are: :class:`ParquetShotStorage` keeps them in ``root/sequences/<uuid>``
(the uuid of the sequence, so renames and moves never touch them). No lock is held between
calls: the catalog file is opened for each call (or for a block grouped with
``session.transaction()``) and closed right after. Reading shot files and counting shots
happen after the catalog is closed; shot folders are deleted after the commit.
"""

from __future__ import annotations

import builtins
import functools
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

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

    from ._catalog import DuckDBCatalog
    from ._manager import DuckDBStorageManager


class ParquetShotStorage:
    """Shots in a Parquet folder per sequence (see ``_parquet._store``), beside the catalog.

    A folder exists once the run started; the number of shots is counted from it while the
    sequence runs and recorded in the catalog when the run ends.
    """

    stats_count = "number_of_shots"

    def __init__(self, manager: DuckDBStorageManager) -> None:
        self._manager = manager

    def shot_count(self, state: State, uuid: str, stored: object) -> int:
        """The stored count, or the folder's for a sequence being run (or never counted)."""
        if state.is_active() or stored is None:
            return self._manager._count_shots(uuid)
        return int(stored)  # type: ignore[call-overload]

    def count_in(self, tx: CatalogTransaction, uuid: str) -> int:
        """The shots in the folder (the writer is closed when the run ends)."""
        return self._manager._count_shots(uuid)

    def delete(self, tx: CatalogTransaction, uuids: Sequence[str]) -> None:
        """Delete the folders once the catalog no longer names them (after the commit)."""
        for uuid in uuids:
            tx.after_commit(functools.partial(self._manager._delete_shot_folder, uuid))

    def before_start(self, tx: CatalogTransaction, uuid: str) -> None:
        """Create the folder before the commit, so its marker is written right after it."""
        self._manager._shot_folder(uuid).mkdir(parents=True, exist_ok=True)

    def writer(self, uuid: str, path: PureSequencePath) -> ShotWriter:
        """The folder's writer (it never reads the catalog)."""
        writer: ShotWriter = self._manager._shot_store(uuid, create=True).writer()
        return writer

    def indices(self, uuid: str) -> builtins.list[int]:
        """The indices of the shots in the folder (none without a folder)."""
        if not self._manager._has_shot_folder(uuid):
            return []
        return list(self._manager._shot_store(uuid).shot_indices())

    def has_frame(self, state: State, uuid: str) -> bool:
        """Whether the run started (its folder exists)."""
        return self._manager._has_shot_folder(uuid)

    def loader(self, uuid: str) -> Callable[[int], ShotContent | None]:
        """Reads one shot of the folder by index."""
        store = self._manager._shot_store(uuid)
        not_found = self._manager._shot_not_found_type()

        def load(index: int) -> ShotContent | None:
            try:
                content: ShotContent = store.read_shot(index)
            except not_found:
                return None
            return content

        return load

    def scan(self, uuid: str) -> polars.LazyFrame:
        """A lazy frame over the folder's shots."""
        frame: polars.LazyFrame = self._manager._shot_store(uuid).scan_polars()
        return frame

    def read(self, uuid: str) -> polars.DataFrame:
        """The folder's shots."""
        frame: polars.DataFrame = self._manager._shot_store(uuid).read_polars()
        return frame


class DuckDBPathHierarchy(CatalogPathHierarchy):
    """The folder tree, stored in the ``paths`` table of the catalog."""


class DuckDBSequenceCollection(CatalogSequenceCollection):
    """The sequences, stored in the ``sequences`` table; shots in per-sequence folders."""

    def _folder_of(self, path: PureSequencePath) -> tuple[State, str]:
        """The state and uuid of the sequence (its folder is ``root/sequences/<uuid>``)."""
        return self._id_of(path)


class DuckDBDeviceConfigurations(CatalogDeviceConfigurations):
    """The default device configurations, by device name; each access is one transaction."""


class DuckDBSession(CatalogSession):
    """A session on a DuckDB store; cheap to create, holds nothing between calls."""

    _paths_type = DuckDBPathHierarchy
    _sequences_type = DuckDBSequenceCollection
    _devices_type = DuckDBDeviceConfigurations

    def __init__(self, manager: DuckDBStorageManager, catalog: DuckDBCatalog) -> None:
        super().__init__(manager, catalog, ParquetShotStorage(manager), str(catalog.path))


def remove_folder(folder: Path) -> None:
    """Delete a data folder, leaving what cannot be deleted now (a reader holds it)."""
    shutil.rmtree(folder, ignore_errors=True)


__all__ = [
    "DuckDBDeviceConfigurations",
    "DuckDBPathHierarchy",
    "DuckDBSequenceCollection",
    "DuckDBSession",
    "ParquetShotStorage",
    "remove_folder",
]
