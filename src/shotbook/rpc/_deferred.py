"""Deferred: a reply that a served function completes later, from any thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_Outcome = tuple[bool, Any]  # (True, result) or (False, exception)


class Deferred:
    """A reply sent later: return one from a served function, complete it from any thread.

    The call then holds no server thread while it waits: the function returns at once, and
    whoever completes the reply (:meth:`resolve` or :meth:`fail`, once) sends it. Long waits
    (``wait until the run ends``) use it so that waiting clients never occupy the workers
    that answer other requests. Completing it before the function has returned is fine.
    The client's own timeout still applies: complete every deferred reply in bounded time.

    Example::

        waiting: list[Deferred] = []

        def wait_for_end() -> Deferred:
            reply = Deferred()
            waiting.append(reply)  # the thread that sees the end calls reply.resolve(True)
            return reply
    """

    __slots__ = ("_lock", "_outcome", "_sink")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcome: _Outcome | None = None
        self._sink: Callable[[_Outcome], None] | None = None

    @property
    def done(self) -> bool:
        """Whether the reply was completed (resolved or failed)."""
        return self._outcome is not None

    def resolve(self, value: Any) -> bool:
        """Send ``value`` as the call's result; False if the reply was already completed."""
        return self._complete((True, value))

    def fail(self, error: BaseException) -> bool:
        """Send ``error`` as the call's exception; False if the reply was already completed."""
        if not isinstance(error, BaseException):
            raise TypeError(f"fail() takes an exception, got {type(error).__name__}")
        return self._complete((False, error))

    def _complete(self, outcome: _Outcome) -> bool:
        with self._lock:
            if self._outcome is not None:
                return False
            self._outcome = outcome
            sink = self._sink
        if sink is not None:
            sink(outcome)
        return True

    def bind(self, sink: Callable[[_Outcome], None]) -> None:
        """Where the reply goes: called once, by the server that received the call.

        A served function never calls it; it returns the ``Deferred`` and completes it.
        """
        with self._lock:
            if self._sink is not None:
                raise RuntimeError("a Deferred answers one call only; return a new one each time")
            self._sink = sink
            outcome = self._outcome
        if outcome is not None:
            sink(outcome)

    def __repr__(self) -> str:
        state = "pending" if self._outcome is None else "done"
        return f"<Deferred {state}>"


__all__ = ["Deferred"]
