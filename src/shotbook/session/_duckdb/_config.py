"""Configuration of the default store: a DuckDB catalog beside Parquet shot files."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shotbook.registry import SerializerProtocol

    from ._manager import DuckDBStorageManager


@dataclass(frozen=True)
class DuckDBConfig:
    """Where the default store lives and how it behaves.

    ``root`` holds ``catalog.duckdb`` and one folder of shots per sequence under
    ``root/sequences``. ``fsync`` makes each shot durable against power loss (slower);
    ``compact_every`` is the number of shots between background compactions;
    ``lock_timeout`` is how long (s) a call waits for another process holding the catalog;
    ``array_compression`` is the codec of images and other arrays in compacted files:
    ``"lz4"`` (default, fastest to load), ``"zstd"`` (about a third smaller for noisy
    camera images) or ``"none"``.

    >>> config = DuckDBConfig("shotbook-data", lock_timeout=5.0)
    >>> config.catalog_path.name
    'catalog.duckdb'
    """

    root: Path
    fsync: bool
    compact_every: int
    lock_timeout: float
    array_compression: str

    def __init__(
        self,
        root: str | Path = "shotbook-data",
        *,
        fsync: bool = False,
        compact_every: int = 50,
        lock_timeout: float = 10.0,
        array_compression: str = "lz4",
    ) -> None:
        if isinstance(compact_every, bool) or not isinstance(compact_every, int):
            raise TypeError(f"DuckDBConfig.compact_every is an int, got {compact_every!r}")
        if compact_every < 1:
            raise ValueError(f"DuckDBConfig.compact_every must be >= 1, got {compact_every}")
        if not isinstance(lock_timeout, int | float) or not math.isfinite(lock_timeout):
            raise ValueError(
                f"DuckDBConfig.lock_timeout must be a finite number, got {lock_timeout!r}"
            )
        if lock_timeout < 0:
            raise ValueError(f"DuckDBConfig.lock_timeout must be >= 0 s, got {lock_timeout}")
        object.__setattr__(self, "root", Path(root))
        object.__setattr__(self, "fsync", bool(fsync))
        object.__setattr__(self, "compact_every", compact_every)
        object.__setattr__(self, "lock_timeout", float(lock_timeout))
        if array_compression not in ("lz4", "zstd", "none"):
            raise ValueError(
                "DuckDBConfig.array_compression must be 'lz4', 'zstd' or 'none', "
                f"got {array_compression!r}"
            )
        object.__setattr__(self, "array_compression", array_compression)

    @property
    def catalog_path(self) -> Path:
        """The DuckDB file holding paths, sequences, globals and device configurations."""
        return self.root / "catalog.duckdb"

    @property
    def sequences_folder(self) -> Path:
        """The folder holding one shot folder per sequence, named by the sequence's UUID."""
        return self.root / "sequences"

    def create_storage_manager(self, serializer: SerializerProtocol) -> DuckDBStorageManager:
        """The storage manager of this store (imports duckdb only now)."""
        from ._manager import DuckDBStorageManager

        return DuckDBStorageManager(serializer, self)


__all__ = ["DuckDBConfig"]
