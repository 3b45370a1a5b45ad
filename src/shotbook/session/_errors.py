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


# Errors of shot storage shared by every backend (raised by the writers and readers).


class ShotExistsError(ValueError):
    """A shot index was written twice in one sequence."""

    def __init__(self, index: int, folder: Path) -> None:
        self.index = index
        super().__init__(
            f"shot {index} is already stored in {folder}; each shot index is written once "
            "(reset the sequence to draft to start again)"
        )


class ShotSchemaError(ValueError):
    """A shot's column differs in kind, dtype, shape or unit from earlier shots.

    Nothing is stored when it is raised. Attributes: ``column``, ``expected``, ``got``,
    ``shot_index``.
    """

    def __init__(self, column: str, expected: str, got: str, shot_index: int) -> None:
        self.column = column
        self.expected = expected
        self.got = got
        self.shot_index = shot_index
        super().__init__(
            f"shot {shot_index}: column {column!r} was {expected} in earlier shots but is {got} "
            "now; a column keeps one kind, dtype, shape and unit in a sequence (store the new "
            "value under another name, or fix the shot). The shot was not stored."
        )


class ShotStoreError(RuntimeError):
    """The files of a sequence are not in a state the store can read (e.g. a bad manifest)."""
