"""Configuration of a store kept in one SQLite file (catalog and shots)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shotbook.registry import SerializerProtocol

    from ._sqlite import SQLiteStorageManager


@dataclass(frozen=True)
class SQLiteConfig:
    """A store in one SQLite file: paths, sequences, globals, device configurations and shots.

    The file is in WAL mode: readers never wait for writers, and writers (a session's call,
    a shot) take turns, each waiting at most ``lock_timeout`` seconds. ``fsync`` makes every
    commit durable against power loss (``synchronous=FULL``); without it a commit survives
    the death of the process but the last ones may be lost on power loss.

    >>> config = SQLiteConfig("lab.sqlite")
    >>> config.path.name
    'lab.sqlite'
    """

    path: Path
    fsync: bool
    lock_timeout: float

    def __init__(
        self,
        path: str | Path = "shotbook.sqlite",
        *,
        fsync: bool = False,
        lock_timeout: float = 10.0,
    ) -> None:
        if not isinstance(lock_timeout, int | float) or not math.isfinite(lock_timeout):
            raise ValueError(
                f"SQLiteConfig.lock_timeout must be a finite number, got {lock_timeout!r}"
            )
        if lock_timeout < 0:
            raise ValueError(f"SQLiteConfig.lock_timeout must be >= 0 s, got {lock_timeout}")
        object.__setattr__(self, "path", Path(path))
        object.__setattr__(self, "fsync", bool(fsync))
        object.__setattr__(self, "lock_timeout", float(lock_timeout))

    def create_storage_manager(self, serializer: SerializerProtocol) -> SQLiteStorageManager:
        """The storage manager of this store."""
        from ._sqlite import SQLiteStorageManager

        return SQLiteStorageManager(serializer, self)


__all__ = ["SQLiteConfig"]
