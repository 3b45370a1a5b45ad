"""The life cycle of a sequence: its states and the transitions between them."""

from __future__ import annotations

import enum

from shotbook.types._paths import PureSequencePath

from ._errors import InvalidStateTransitionError


class State(enum.Enum):
    """Where a sequence is in its life cycle.

    ``DRAFT`` → ``PREPARING`` → ``RUNNING`` → ``FINISHED`` | ``INTERRUPTED`` | ``CRASHED``,
    and back to ``DRAFT`` from a finished state (its shots are then deleted).

    >>> State.DRAFT.is_editable(), State.RUNNING.is_editable()
    (True, False)
    >>> State.RUNNING.can_become(State.FINISHED)
    True
    """

    DRAFT = "draft"
    PREPARING = "preparing"
    RUNNING = "running"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"
    CRASHED = "crashed"

    def is_editable(self) -> bool:
        """Whether the scan and the time lanes may be changed (only in ``DRAFT``)."""
        return self is State.DRAFT

    def is_active(self) -> bool:
        """Whether a run owns the sequence (``PREPARING`` or ``RUNNING``)."""
        return self in (State.PREPARING, State.RUNNING)

    def is_finished(self) -> bool:
        """Whether the run has ended (``FINISHED``, ``INTERRUPTED`` or ``CRASHED``)."""
        return self in (State.FINISHED, State.INTERRUPTED, State.CRASHED)

    def can_become(self, other: State) -> bool:
        """Whether the transition ``self`` → ``other`` is allowed."""
        return other in _TRANSITIONS[self]

    def __str__(self) -> str:
        return self.name


_TRANSITIONS: dict[State, frozenset[State]] = {
    State.DRAFT: frozenset({State.PREPARING}),
    State.PREPARING: frozenset({State.RUNNING, State.INTERRUPTED, State.CRASHED}),
    State.RUNNING: frozenset({State.FINISHED, State.INTERRUPTED, State.CRASHED}),
    State.FINISHED: frozenset({State.DRAFT}),
    State.INTERRUPTED: frozenset({State.DRAFT}),
    State.CRASHED: frozenset({State.DRAFT}),
}

_HOW: dict[State, str] = {
    State.DRAFT: "reset_to_draft",
    State.PREPARING: "prepare",
    State.RUNNING: "start",
    State.FINISHED: "finish",
    State.INTERRUPTED: "interrupt",
    State.CRASHED: "crash",
}


def check_transition(path: PureSequencePath, current: State, requested: State) -> None:
    """Raise :class:`InvalidStateTransitionError` unless ``current`` may become ``requested``."""
    if current.can_become(requested):
        return
    allowed = sorted(_TRANSITIONS[current], key=lambda s: list(State).index(s))
    options = ", ".join(f"{state} ({_HOW[state]})" for state in allowed)
    hint = f"from {current} the sequence can only become {options}"
    if current.is_active():
        hint += "; it is being run"
    elif current.is_finished() and requested is not State.DRAFT:
        hint += "; reset it to draft or duplicate it to run it again"
    raise InvalidStateTransitionError(path, current, requested, hint)


__all__ = ["State", "check_transition"]
