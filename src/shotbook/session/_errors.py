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

import errno
import os
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


class StoreFullError(StorageError, OSError):
    """The disk holding the store is full: nothing stored before is lost; free space, retry.

    :attr:`path` is the store (or the shot folder), :attr:`folder` where to free space. It is
    also an ``OSError`` with ``errno.ENOSPC``, as the error of the operating system it stands for.
    """

    def __init__(self, path: PureSequencePath | Path | str, folder: Path | str, reason: str):
        self.folder = folder
        super().__init__(path, reason)
        self.errno = errno.ENOSPC
        self.strerror = os.strerror(errno.ENOSPC)

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


_DISK_FULL_ERRNOS = frozenset(
    code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if code is not None
)
_DISK_FULL_TEXTS = ("no space left on device", "disk is full", "disk quota exceeded")


def disk_full_detail(error: BaseException) -> str | None:
    """What says the disk is full in ``error`` or its causes (``None`` if nothing does).

    Recognises ``OSError`` with ``ENOSPC``/``EDQUOT`` and the messages of database drivers
    (DuckDB: "No space left on device"; SQLite: "database or disk is full").
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = current.errno if isinstance(current, OSError) else None
        if code is not None and code in _DISK_FULL_ERRNOS:
            return os.strerror(code)
        text = str(current)
        for known in _DISK_FULL_TEXTS:
            position = text.lower().find(known)
            if position >= 0:
                return text[position : position + len(known)]
        current = current.__cause__ or current.__context__
    return None


def store_full_error(
    path: PureSequencePath | Path | str,
    folder: Path | str,
    detail: str,
    doing: str,
    then: str,
) -> StoreFullError:
    """The error for a full disk met while ``doing``; ``then`` is what to do once space is free."""
    return StoreFullError(
        path,
        folder,
        f"the disk is full ({detail}) while {doing}; nothing stored before is lost. "
        f"Free space on {folder} (the disk holding the store), then {then}",
    )


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
    "StoreFullError",
    "StoreLockedError",
    "StoreVersionError",
    "disk_full_detail",
    "store_full_error",
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
