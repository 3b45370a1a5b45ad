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


class EditHistory:
    """One undo history over several documents: the edits of one sequence (its scan and its
    lanes), or of the globals and the devices, undone and redone in the order they were made,
    whichever editor's Undo is pressed. It lives in the kernel's memory (lost on a restart).

    >>> history = EditHistory()                       # doctest: +SKIP
    >>> scan.use_history(history); lanes.use_history(history)   # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._done: list[DraftDocument[Any]] = []
        self._undone: list[DraftDocument[Any]] = []

    @property
    def can_undo(self) -> bool:
        """Whether an edit can be undone."""
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        """Whether an undone edit can be made again."""
        return bool(self._undone)

    def record(self, document: DraftDocument[Any]) -> None:
        """``document`` saved a new state (it can be undone; nothing undone can be redone)."""
        self._done.append(document)
        del self._done[:-MAX_HISTORY]
        self._undone.clear()

    def forget(self, document: DraftDocument[Any]) -> None:
        """``document`` reloaded: its edits can no longer be undone from here."""
        self._done = [known for known in self._done if known is not document]
        self._undone = [known for known in self._undone if known is not document]

    def undo(self) -> DraftDocument[Any] | None:
        """Undo the newest edit (saved in the store); return its document, ``None`` if none."""
        while self._done:
            document = self._done[-1]
            if document.undo():  # raises (and changes nothing here) when it cannot be saved
                self._done.pop()
                self._undone.append(document)
                return document
            self._done.pop()  # older than what the document keeps
        return None

    def redo(self) -> DraftDocument[Any] | None:
        """Make the newest undone edit again; return its document, ``None`` if none."""
        while self._undone:
            document = self._undone[-1]
            if document.redo():
                self._undone.pop()
                self._done.append(document)
                return document
            self._undone.pop()
        return None


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
        self.history = EditHistory()
        """The undo history this document's edits go in (its own, or one it shares)."""
        self.reload()

    def use_history(self, history: EditHistory) -> None:
        """Record this document's next edits in ``history`` (shared with other documents)."""
        self.history.forget(self)
        self.history = history

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
        self.history.forget(self)
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
        self.history.record(self)
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


__all__ = ["MAX_HISTORY", "DraftConflictError", "DraftDocument", "EditHistory", "version_of"]
