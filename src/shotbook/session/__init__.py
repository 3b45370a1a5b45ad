"""Storage: the `StorageManager` and `ExperimentSession` interfaces and their backends.

The default backend keeps a DuckDB catalog beside Parquet shot files
(:class:`DuckDBConfig`); :class:`SQLiteConfig` keeps everything in one file and
:class:`PostgreSQLConfig` on a server that other computers reach over the network.
Sessions hold no lock between calls, so a ``with`` block may stay open for a whole
analysis.

>>> from shotbook.session import DuckDBConfig
>>> DuckDBConfig("shotbook-data").catalog_path.name
'catalog.duckdb'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# isort: off  (kept in groups, one comment each)
# Where the shots and the catalog live: one configuration per backend.
from ._duckdb._config import DuckDBConfig

# Errors: one hierarchy rooted at StorageError, and the shot writers' own.
from ._errors import (
    InvalidStateTransitionError,
    PathExistsError,
    PathHasChildrenError,
    PathIsNotSequenceError,
    PathIsSequenceError,
    PathNotFoundError,
    SequenceNotEditableError,
    ShotExistsError,
    ShotNotFoundError,
    ShotSchemaError,
    ShotStoreError,
    StorageError,
    StoreFullError,
    StoreLockedError,
    StoreVersionError,
)

# The storage interfaces every backend implements, and what they hand out.
# What a store that keeps shots as Parquet folders also answers (the default backend).
from ._interfaces import (
    AuditRecord,
    ChangeCounting,
    DatedPaths,
    ExperimentSession,
    LocalStoreFolder,
    PathHierarchy,
    RenamedName,
    RestorableSequences,
    RunningSequence,
    RunOwner,
    SequenceCollection,
    SequenceStats,
    ShotFolders,
    ShotWriter,
    StorageManager,
)
from ._sequence import Sequence, Shot
from ._sql._postgresql_config import PostgreSQLConfig
from ._sql._sqlite_config import SQLiteConfig
from ._states import State

# isort: on

if TYPE_CHECKING:  # the names of _LAZY, typed for mypy and editors
    from ._columns._codec import ColumnInfo, decode_array_columns
    from ._copy import CopyProgress, CopySummary, CopyVerificationError, copy_store
    from ._duckdb._manager import DuckDBStorageManager
    from ._parquet._read import (
        LiveFile,
        ShotFolderSnapshot,
        collect_shot_folder,
        scan_shot_folder,
        snapshot_shot_folder,
    )
    from ._parquet._store import ParquetShotStore

# Imported on first use (each backend loads its database driver only when needed).
_LAZY = {
    # the default backend and its shot store
    "DuckDBStorageManager": "shotbook.session._duckdb._manager",
    "ParquetShotStore": "shotbook.session._parquet._store",
    # copying a store into another, with verification
    "copy_store": "shotbook.session._copy",
    "CopySummary": "shotbook.session._copy",
    "CopyProgress": "shotbook.session._copy",
    "CopyVerificationError": "shotbook.session._copy",
    # the read side of the Parquet shot folders (for fast readers such as shotbook.analysis)
    "ColumnInfo": "shotbook.session._columns._codec",
    "decode_array_columns": "shotbook.session._columns._codec",
    "LiveFile": "shotbook.session._parquet._read",
    "ShotFolderSnapshot": "shotbook.session._parquet._read",
    "scan_shot_folder": "shotbook.session._parquet._read",
    "collect_shot_folder": "shotbook.session._parquet._read",
    "snapshot_shot_folder": "shotbook.session._parquet._read",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'shotbook.session' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "AuditRecord",
    "ChangeCounting",
    "ColumnInfo",
    "CopyProgress",
    "CopySummary",
    "CopyVerificationError",
    "DatedPaths",
    "DuckDBConfig",
    "DuckDBStorageManager",
    "ExperimentSession",
    "InvalidStateTransitionError",
    "LiveFile",
    "LocalStoreFolder",
    "ParquetShotStore",
    "PathExistsError",
    "PathHasChildrenError",
    "PathHierarchy",
    "PathIsNotSequenceError",
    "PathIsSequenceError",
    "PathNotFoundError",
    "PostgreSQLConfig",
    "RenamedName",
    "RestorableSequences",
    "RunOwner",
    "RunningSequence",
    "SQLiteConfig",
    "Sequence",
    "SequenceCollection",
    "SequenceNotEditableError",
    "SequenceStats",
    "Shot",
    "ShotExistsError",
    "ShotFolderSnapshot",
    "ShotFolders",
    "ShotNotFoundError",
    "ShotSchemaError",
    "ShotStoreError",
    "ShotWriter",
    "State",
    "StorageError",
    "StorageManager",
    "StoreFullError",
    "StoreLockedError",
    "StoreVersionError",
    "collect_shot_folder",
    "copy_store",
    "decode_array_columns",
    "scan_shot_folder",
    "snapshot_shot_folder",
]
