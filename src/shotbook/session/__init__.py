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
from typing import Any

from ._config import DuckDBConfig
from ._errors import (
    InvalidStateTransitionError,
    PathExistsError,
    PathHasChildrenError,
    PathIsNotSequenceError,
    PathIsSequenceError,
    PathNotFoundError,
    SequenceNotEditableError,
    ShotNotFoundError,
    StorageError,
    StoreLockedError,
    StoreVersionError,
)
from ._interfaces import (
    ExperimentSession,
    PathHierarchy,
    RunningSequence,
    RunOwner,
    SequenceCollection,
    SequenceStats,
    ShotWriter,
    StorageManager,
)
from ._postgresql_config import PostgreSQLConfig
from ._sequence import Sequence, Shot
from ._sqlite_config import SQLiteConfig
from ._states import State

# Backends import their database driver only when first used.
_LAZY = {
    "DuckDBStorageManager": "shotbook.session._duckdb_manager",
    "ParquetShotStore": "shotbook.session._parquet_shots",
    "ShotSchemaError": "shotbook.session._parquet_shots",
    "ShotExistsError": "shotbook.session._parquet_shots",
    "copy_store": "shotbook.session._copy",
    "CopySummary": "shotbook.session._copy",
    "CopyProgress": "shotbook.session._copy",
    "CopyVerificationError": "shotbook.session._copy",
    # the read side of the Parquet shot folders (for fast readers such as shotbook.analysis)
    "ColumnInfo": "shotbook.session._parquet_columns",
    "decode_array_columns": "shotbook.session._parquet_columns",
    "LiveFile": "shotbook.session._parquet_read",
    "ShotFolderSnapshot": "shotbook.session._parquet_read",
    "scan_shot_folder": "shotbook.session._parquet_read",
    "collect_shot_folder": "shotbook.session._parquet_read",
    "snapshot_shot_folder": "shotbook.session._parquet_read",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'shotbook.session' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "ColumnInfo",
    "CopyProgress",
    "CopySummary",
    "CopyVerificationError",
    "DuckDBConfig",
    "DuckDBStorageManager",
    "ExperimentSession",
    "InvalidStateTransitionError",
    "LiveFile",
    "ParquetShotStore",
    "PathExistsError",
    "PathHasChildrenError",
    "PathHierarchy",
    "PathIsNotSequenceError",
    "PathIsSequenceError",
    "PathNotFoundError",
    "PostgreSQLConfig",
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
    "ShotNotFoundError",
    "ShotSchemaError",
    "ShotWriter",
    "State",
    "StorageError",
    "StorageManager",
    "StoreLockedError",
    "StoreVersionError",
    "collect_shot_folder",
    "copy_store",
    "decode_array_columns",
    "scan_shot_folder",
    "snapshot_shot_folder",
]
