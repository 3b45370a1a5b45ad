"""Errors of the storage layer: one hierarchy rooted at :class:`StorageError`.

Every error names the sequence path (or the store) it is about and, where there
is one, says what to do.

>>> try:
...     raise PathNotFoundError("/calibrations/mot", "it does not exist")
... except StorageError as error:
...     print(error)
/calibrations/mot: it does not exist
"""

from __future__ import annotations

from pathlib import Path

from shotbook.types._paths import PureSequencePath


class StorageError(Exception):
    """Base of every storage error; :attr:`path` is the sequence path or the store concerned."""

    def __init__(self, path: PureSequencePath | Path | str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class PathNotFoundError(StorageError, LookupError):
    """The path does not exist in the store."""


class PathIsSequenceError(StorageError):
    """The path is a sequence where a folder is needed (or would go under a sequence)."""


class PathIsNotSequenceError(StorageError):
    """The path is a folder where a sequence is needed."""


class PathHasChildrenError(StorageError):
    """The folder holds sequences that would be deleted."""


class PathExistsError(StorageError):
    """Something already exists at the path."""


class SequenceNotEditableError(StorageError):
    """The sequence has left the DRAFT state (or is running): reset it to draft or duplicate it."""


class InvalidStateTransitionError(StorageError):
    """The sequence cannot go from its current state to the requested one."""

    def __init__(self, path: PureSequencePath, current: object, requested: object, hint: str):
        self.current = current
        self.requested = requested
        super().__init__(path, f"cannot change the sequence from {current} to {requested}: {hint}")


class ShotNotFoundError(StorageError, LookupError):
    """The sequence has no shot with this index."""

    def __init__(self, path: PureSequencePath, index: int, reason: str) -> None:
        self.index = index
        super().__init__(path, reason)


class StoreLockedError(StorageError):
    """The catalog stayed held by another process for longer than the lock timeout."""


class StoreVersionError(StorageError):
    """The store was written with another schema version; it was left unchanged."""


__all__ = [
    "InvalidStateTransitionError",
    "PathExistsError",
    "PathHasChildrenError",
    "PathIsNotSequenceError",
    "PathIsSequenceError",
    "PathNotFoundError",
    "SequenceNotEditableError",
    "ShotNotFoundError",
    "StorageError",
    "StoreLockedError",
    "StoreVersionError",
]
