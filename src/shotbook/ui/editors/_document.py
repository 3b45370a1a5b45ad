"""One edited value of the store: what was loaded, the undo stack, and conflict-checked saves.

An editor never overwrites the store silently: each save runs in one
``session.transaction()`` that first reads the stored value and compares it with the one the
editor loaded. If they differ (another editor, another notebook), the save is refused with
:class:`DraftConflictError` and the document reloads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

Reader = Callable[[Any], T]
"""Reads the value from an open session."""
Writer = Callable[[Any, T], None]
"""Writes the value with an open session."""

MAX_HISTORY = 200
"""How many states an editor keeps for undo."""


class DraftConflictError(RuntimeError):
    """The stored value changed since the editor loaded it; the edit was not saved."""


def version_of(value: object) -> str:
    """A short fingerprint of a value, shown to people and compared by tests.

    Values of the model are immutable and their ``repr`` is complete, so equal values have
    equal versions.

    >>> version_of(1) == version_of(1), version_of(1) == version_of(2)
    (True, False)
    """
    return hashlib.sha1(repr(value).encode(), usedforsecurity=False).hexdigest()[:12]


class DraftDocument(Generic[T]):
    """A value of the store being edited, with its undo/redo stack.

    ``storage`` is a ``StorageManager``; ``read(session)`` and ``write(session, value)`` say
    where the value lives. ``what`` names it in messages (``"the scan of /a/b"``).

    >>> document = DraftDocument(storage, read, write, "the globals")     # doctest: +SKIP
    >>> document.commit(new_value)                                        # doctest: +SKIP
    """

    def __init__(self, storage: Any, read: Reader[T], write: Writer[T], what: str) -> None:
        self._storage = storage
        self._read = read
        self._write = write
        self.what = what
        self._states: list[T] = []
        self._index = -1
        self.reload()

    # --- reading ---
    @property
    def value(self) -> T:
        """The value as the editor shows it (equal to the store after each save)."""
        return self._states[self._index]

    @property
    def version(self) -> str:
        """The fingerprint of :attr:`value`."""
        return version_of(self.value)

    @property
    def can_undo(self) -> bool:
        """Whether an earlier state exists."""
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        """Whether an undone state can be restored."""
        return self._index < len(self._states) - 1

    def reload(self) -> T:
        """Read the value from the store again; forget the undo history."""
        with self._storage.session() as session:
            value = self._read(session)
        self._states = [value]
        self._index = 0
        return value

    # --- writing ---
    def _save(self, new: T) -> None:
        expected = self.value
        with self._storage.session() as session, session.transaction():
            current = self._read(session)
            if current != expected:
                conflict = True
            else:
                conflict = False
                if new != current:
                    self._write(session, new)
        if conflict:
            self.reload()
            raise DraftConflictError(
                f"{self.what} changed in the store since this editor loaded it (another editor "
                "or notebook?): your edit was not saved and the view was reloaded; redo it there"
            )

    def commit(self, new: T) -> bool:
        """Save ``new`` and push it on the undo stack; False if it equals the current value.

        Raises :class:`DraftConflictError` (and reloads) when the store changed meanwhile;
        errors of the store (a sequence that is no longer a draft) pass through unchanged.
        """
        if new == self.value:
            return False
        self._save(new)
        del self._states[self._index + 1 :]
        self._states.append(new)
        if len(self._states) > MAX_HISTORY:
            del self._states[0]
        self._index = len(self._states) - 1
        return True

    def undo(self) -> bool:
        """Save the previous state; False if there is none."""
        if not self.can_undo:
            return False
        self._save(self._states[self._index - 1])
        self._index -= 1
        return True

    def redo(self) -> bool:
        """Save the next (undone) state; False if there is none."""
        if not self.can_redo:
            return False
        self._save(self._states[self._index + 1])
        self._index += 1
        return True


__all__ = ["MAX_HISTORY", "DraftConflictError", "DraftDocument", "version_of"]
