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
import contextlib
import functools
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, SupportsInt

from shotbook.types._paths import PureSequencePath, as_path

from .._catalog._paths import CatalogPathHierarchy, sequence_row
from .._catalog._protocols import CatalogTransaction
from .._catalog._sequences import CatalogSequenceCollection
from .._catalog._session import CatalogDeviceConfigurations, CatalogSession
from .._interfaces import PathLike, ShotWriter
from .._sequence import ShotContent
from .._states import State

if TYPE_CHECKING:
    import polars

    from .._parquet._store import ParquetShotStore
    from ._catalog import DuckDBCatalog
    from ._config import DuckDBConfig
    from ._manager import DuckDBStorageManager


class ParquetShotStorage:
    """Shots in a Parquet folder per sequence (see ``_parquet._store``), beside the catalog.

    A folder (``config.sequences_folder / uuid``) exists once the run started; the number of
    shots is counted from it while the sequence runs and recorded in the catalog when the
    run ends.
    """

    stats_count = "number_of_shots"

    def __init__(self, config: DuckDBConfig) -> None:
        self._config = config

    # --- the folders, by the sequence's uuid (also used by the storage manager) -----------

    def folder(self, uuid: str) -> Path:
        """The folder of the shots of the sequence with this uuid (it may not exist yet)."""
        return self._config.sequences_folder / uuid

    def has_folder(self, uuid: str) -> bool:
        """Whether the folder exists (the run started)."""
        return self.folder(uuid).is_dir()

    def store(self, uuid: str, *, create: bool = False) -> ParquetShotStore:
        """The shot store of the folder (``create``: make the folder first)."""
        from .._parquet._store import ParquetShotStore

        folder = self.folder(uuid)
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        return ParquetShotStore(
            folder,
            fsync=self._config.fsync,
            compact_every=self._config.compact_every,
            array_compression=self._config.array_compression,
        )

    def count(self, uuid: str) -> int:
        """The shots in the folder (0 without a folder)."""
        if not self.has_folder(uuid):
            return 0
        return self.store(uuid).number_of_shots()

    def delete_folder(self, uuid: str) -> None:
        """Delete the folder and its shots (what a reader holds is left for collect_garbage)."""
        folder = self.folder(uuid)
        if not folder.is_dir():
            return
        # a reader may hold a file (Windows): collect_garbage removes what is left later
        with contextlib.suppress(OSError):
            self.store(uuid).delete_all()
        remove_folder(folder)

    # --- ShotStorage -------------------------------------------------------------------------

    def shot_count(self, state: State, uuid: str, stored: SupportsInt | None) -> int:
        """The stored count, or the folder's for a sequence being run (or never counted)."""
        if state.is_active() or stored is None:
            return self.count(uuid)
        return int(stored)

    def count_in(self, tx: CatalogTransaction, uuid: str) -> int:
        """The shots in the folder (the writer is closed when the run ends)."""
        return self.count(uuid)

    def delete(self, tx: CatalogTransaction, uuids: Sequence[str]) -> None:
        """Delete the folders once the catalog no longer names them (after the commit)."""
        for uuid in uuids:
            tx.after_commit(functools.partial(self.delete_folder, uuid))

    def before_start(self, tx: CatalogTransaction, uuid: str) -> None:
        """Create the folder before the commit, so its marker is written right after it."""
        self.folder(uuid).mkdir(parents=True, exist_ok=True)

    def writer(self, uuid: str, path: PureSequencePath) -> ShotWriter:
        """The folder's writer (it never reads the catalog)."""
        return self.store(uuid, create=True).writer()

    def indices(self, uuid: str) -> builtins.list[int]:
        """The indices of the shots in the folder (none without a folder)."""
        if not self.has_folder(uuid):
            return []
        return list(self.store(uuid).shot_indices())

    def has_frame(self, state: State, uuid: str) -> bool:
        """Whether the run started (its folder exists)."""
        return self.has_folder(uuid)

    def loader(self, uuid: str) -> Callable[[int], ShotContent | None]:
        """Reads one shot of the folder by index."""
        from .._parquet._store import ShotNotFoundError

        store = self.store(uuid)

        def load(index: int) -> ShotContent | None:
            try:
                return store.read_shot(index)
            except ShotNotFoundError:
                return None

        return load

    def scan(self, uuid: str) -> polars.LazyFrame:
        """A lazy frame over the folder's shots."""
        return self.store(uuid).scan_polars()

    def read(self, uuid: str) -> polars.DataFrame:
        """The folder's shots."""
        return self.store(uuid).read_polars()


class DuckDBPathHierarchy(CatalogPathHierarchy):
    """The folder tree, stored in the ``paths`` table of the catalog."""


class DuckDBSequenceCollection(CatalogSequenceCollection):
    """The sequences, stored in the ``sequences`` table; shots in per-sequence folders."""


class DuckDBDeviceConfigurations(CatalogDeviceConfigurations):
    """The default device configurations, by device name; each access is one transaction."""


class DuckDBSession(CatalogSession):
    """A session on a DuckDB store; cheap to create, holds nothing between calls.

    It is :class:`~shotbook.session.ShotFolders`: the shots of each sequence are a Parquet
    folder that fast readers (``shotbook.analysis``) may read directly.
    """

    _paths_type = DuckDBPathHierarchy
    _sequences_type = DuckDBSequenceCollection
    _devices_type = DuckDBDeviceConfigurations

    def __init__(
        self, manager: DuckDBStorageManager, catalog: DuckDBCatalog, shots: ParquetShotStorage
    ) -> None:
        super().__init__(manager, catalog, shots, str(catalog.path))
        self._folders = shots
        self._locate = manager.locate_shots

    def shot_folder(self, path: PathLike) -> Path:
        """The folder of the shots of the sequence at ``path``, read in the catalog.

        The folder exists once the run started (it may be missing for a DRAFT).
        :class:`PathNotFoundError` / :class:`PathIsNotSequenceError` when there is no
        sequence at ``path``.
        """
        path = as_path(path)
        uuid, _, _ = self._read(lambda tx: sequence_row(tx, path))
        return self._folders.folder(uuid)

    def locate_shots(self, path: PathLike) -> Path | None:
        """The shot folder found without the catalog, when the store's sidecar vouches for it.

        See :meth:`DuckDBStorageManager.locate_shots`.
        """
        return self._locate(path)


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
