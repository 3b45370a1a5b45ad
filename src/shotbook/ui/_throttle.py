"""Send only the newest item, at most ``rate`` times a second, from a timer thread.

Producers call :meth:`LatestOnly.submit` from any thread; older items waiting to be sent
are dropped. The first item after a quiet period goes out at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

_NOTHING = object()


class LatestOnly(Generic[T]):
    """Deliver the newest submitted item to ``send`` at most ``rate`` times per second.

    >>> sent = []
    >>> throttle = LatestOnly(sent.append, rate=30.0)
    >>> throttle.submit(1); throttle.flush(); sent
    [1]
    """

    def __init__(self, send: Callable[[T], None], rate: float = 30.0) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be > 0 per second, got {rate}")
        self._send = send
        self._period = 1.0 / rate
        self._lock = threading.Lock()
        self._pending: object = _NOTHING
        self._last_sent = -float("inf")
        self._timer: threading.Timer | None = None
        self._idle = threading.Condition(self._lock)
        self._sending = False
        self.sent_count = 0
        self.dropped_count = 0

    def submit(self, item: T) -> None:
        """Queue ``item`` (replacing one not yet sent); it goes out within one period."""
        with self._lock:
            if self._pending is not _NOTHING:
                self.dropped_count += 1
            self._pending = item
            if self._timer is not None or self._sending:
                return
            delay = max(0.0, self._last_sent + self._period - time.monotonic())
            self._timer = threading.Timer(delay, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
            item = self._pending
            self._pending = _NOTHING
            if item is _NOTHING:
                self._idle.notify_all()
                return
            self._sending = True
        try:
            self._send(item)  # type: ignore[arg-type]
        finally:
            with self._lock:
                self._sending = False
                self._last_sent = time.monotonic()
                self.sent_count += 1
                if self._pending is not _NOTHING and self._timer is None:
                    self._timer = threading.Timer(self._period, self._fire)
                    self._timer.daemon = True
                    self._timer.start()
                self._idle.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until nothing is waiting to be sent; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending is not _NOTHING or self._timer is not None or self._sending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def cancel(self) -> None:
        """Drop what waits and stop the timer."""
        with self._lock:
            self._pending = _NOTHING
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._idle.notify_all()


__all__ = ["LatestOnly"]
