"""Storage: the `StorageManager` and `ExperimentSession` interfaces and their backends.

The default backend keeps a DuckDB catalog beside Parquet shot files
(:class:`DuckDBConfig`). Sessions hold no lock between calls, so a ``with`` block
may stay open for a whole analysis.

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
from ._sequence import Sequence, Shot
from ._states import State

# Backends import their database driver only when first used.
_LAZY = {
    "DuckDBStorageManager": "shotbook.session._duckdb_manager",
    "ParquetShotStore": "shotbook.session._parquet_shots",
    "ShotSchemaError": "shotbook.session._parquet_shots",
    "ShotExistsError": "shotbook.session._parquet_shots",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'shotbook.session' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "DuckDBConfig",
    "DuckDBStorageManager",
    "ExperimentSession",
    "InvalidStateTransitionError",
    "ParquetShotStore",
    "PathExistsError",
    "PathHasChildrenError",
    "PathHierarchy",
    "PathIsNotSequenceError",
    "PathIsSequenceError",
    "PathNotFoundError",
    "RunOwner",
    "RunningSequence",
    "Sequence",
    "SequenceCollection",
    "SequenceNotEditableError",
    "SequenceStats",
    "Shot",
    "ShotExistsError",
    "ShotNotFoundError",
    "ShotSchemaError",
    "ShotWriter",
    "State",
    "StorageError",
    "StorageManager",
    "StoreLockedError",
    "StoreVersionError",
]
