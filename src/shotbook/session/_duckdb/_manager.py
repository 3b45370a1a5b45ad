"""The default storage backend: a DuckDB catalog beside one Parquet shot folder per sequence.

>>> from shotbook.registry import Serializer, default_registry
>>> from shotbook.session import DuckDBConfig
>>> serializer = Serializer(default_registry())
>>> manager = DuckDBStorageManager(serializer, DuckDBConfig("data"))  # doctest: +SKIP
>>> with manager.session() as session:                                # doctest: +SKIP
...     session.paths.create("/scans")
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from shotbook.types._paths import as_path

from .._catalog._names import normalise_stored_names
from .._errors import StorageError
from .._interfaces import PathLike, RenamedName
from .._parquet._locator import ShotLocator
from ._catalog import DuckDBCatalog, utc_now, version_error
from ._config import DuckDBConfig
from ._migrations import migrate
from ._schema import SCHEMA_VERSION, create_schema, detect_version
from ._session import DuckDBSession, ParquetShotStorage, remove_folder

if TYPE_CHECKING:
    from shotbook.registry import SerializerProtocol


class DuckDBStorageManager:
    """Opens sessions on the store described by a :class:`DuckDBConfig`.

    It is :class:`~shotbook.session.ShotFolders` (as are its sessions): the shots of each
    sequence are a Parquet folder that fast readers may read directly.

    Nothing is held between calls, so many managers (in many processes) may use the
    same store. A missing store is created on first use; a store of another schema
    version is refused (:class:`StoreVersionError`) until :meth:`upgrade` migrates it.
    """

    def __init__(self, serializer: SerializerProtocol, config: DuckDBConfig | None = None) -> None:
        self.serializer = serializer
        self.config = config if config is not None else DuckDBConfig()
        self._locator = ShotLocator(
            self.config.root, self.config.sequences_folder, fsync=self.config.fsync
        )
        self._catalog = DuckDBCatalog(
            self.config.catalog_path, self.config.lock_timeout, self._locator
        )
        self._shots = ParquetShotStorage(self.config)
        self._closed = False

    @property
    def root(self) -> Path:
        """The folder of the store."""
        return self.config.root

    @contextmanager
    def session(self) -> Iterator[DuckDBSession]:
        """A session on the store; it holds no lock between calls."""
        if self._closed:
            raise StorageError(self.config.root, "this storage manager is closed")
        self.config.root.mkdir(parents=True, exist_ok=True)
        yield DuckDBSession(self, self._catalog, self._shots)

    def run_notes_folder(self) -> Path:
        """``root/run-notes``: the run loop's small files (see :class:`LocalStoreFolder`)."""
        return self.config.root / "run-notes"

    def locate_shots(self, path: PathLike) -> Path | None:
        """The shot folder of the sequence at ``path``, found without opening the catalog.

        Guarantee: a folder is returned only when, at the moment of the call, the catalog
        puts the sequence at ``path`` and that folder holds its shots (the folder's marker,
        written after each commit while the catalog is held and removed before any commit
        that could move, delete or reset the sequence, says so). ``None`` when the sidecar
        cannot vouch for it: no sequence there, a folder, a sequence that never started
        (no shot folder yet), a store written before the sidecar existed (until the next
        commit that moves sequences, or :meth:`upgrade`, builds it), or a commit cut off
        by a crash. On ``None`` open a session as usual; the answer is never a wrong folder.
        Costs a ``stat`` and one small file read (the index is re-read only when it changed).
        """
        if self._closed:
            raise StorageError(self.config.root, "this storage manager is closed")
        return self._locator.locate(str(as_path(path)))

    def close(self) -> None:
        """Forget the store; later sessions are refused (nothing is held between calls)."""
        self._closed = True

    def upgrade(self) -> str | None:
        """Create a missing store, or migrate an older one after copying its catalog aside.

        Returns where the copy is (``root/catalog.duckdb.bak-<version>-<time>``), or
        ``None`` when there was nothing to migrate. A store of a newer version is refused.
        """
        with self._catalog.storage_errors():
            return self._upgrade()

    def _upgrade(self) -> str | None:
        root = self.config.root
        root.mkdir(parents=True, exist_ok=True)
        catalog = self.config.catalog_path
        with self._catalog.connection() as connection:
            version = detect_version(connection)
            if version is None:
                connection.begin()
                create_schema(connection, utc_now())
                connection.commit()
                return None  # the shot locator's files come with the first sequence
            if version == SCHEMA_VERSION:
                if not self._locator.has_index():
                    self._locator.rebuild(connection)
                return None
            if version > SCHEMA_VERSION:
                raise version_error(catalog, version)
            connection.execute("CHECKPOINT")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        backup = root / f"{catalog.name}.bak-{version}-{stamp}"
        shutil.copy2(catalog, backup)
        wal = catalog.with_name(catalog.name + ".wal")
        if wal.exists():
            shutil.copy2(wal, backup.with_name(backup.name + ".wal"))
        with self._catalog.connection() as connection:
            current = detect_version(connection)
            if current == SCHEMA_VERSION:
                return str(backup)  # another process migrated it meanwhile
            if current != version:
                raise version_error(catalog, current if current is not None else 0)
            connection.begin()
            try:
                migrate(connection, version)
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            self._locator.rebuild(connection)
        return str(backup)

    def normalise_names(self) -> list[RenamedName]:
        """Rename stored paths that are not in Unicode NFC; names that differ only in
        normalisation are kept apart (``café (2)``), never merged. Returns the renames."""
        return self._catalog.run(normalise_stored_names)

    def collect_garbage(self) -> list[Path]:
        """Delete shot folders that no sequence uses (left by a crash during a delete or reset).

        Folders are listed before the catalog is read, so a sequence started meanwhile is
        never touched. Returns the folders removed.
        """
        folder = self.config.sequences_folder
        if not folder.is_dir():
            return []
        candidates = [entry for entry in folder.iterdir() if entry.is_dir()]
        used = self._catalog.run(
            lambda tx: {
                row[0] for row in tx.connection.execute("SELECT uuid FROM sequences").fetchall()
            }
        )
        removed = [entry for entry in candidates if entry.name not in used]
        for entry in removed:
            remove_folder(entry)
        return removed

    # --- ShotFolders: the Parquet folder of each sequence's shots -----------------------------

    def shot_folder(self, path: PathLike) -> Path:
        """The folder of the shots of the sequence at ``path``, read in the catalog.

        The folder exists once the run started (it may be missing for a DRAFT).
        :class:`PathNotFoundError` / :class:`PathIsNotSequenceError` when there is no
        sequence at ``path``. :meth:`locate_shots` answers without opening the catalog.
        """
        with self.session() as session:
            return session.shot_folder(path)

    def __repr__(self) -> str:
        return f"DuckDBStorageManager({str(self.config.root)!r})"


__all__ = ["DuckDBStorageManager"]
