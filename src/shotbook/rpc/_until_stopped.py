"""Hold a server process's main thread until Ctrl-C, SIGTERM or a stop event.

A server serves from background threads; its main thread only waits here. The signal
handler appends to a list and nothing else, and the wait is a plain ``time.sleep`` loop: a
signal raising ``KeyboardInterrupt`` inside ``threading`` internals (``Thread.start``,
``Event.wait``) can leave a lock half released ("release unlocked lock"), and a handler that
sets an ``Event`` can deadlock on the lock the interrupted main thread holds.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType, TracebackType
from typing import Any

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)
"""The signals that stop a server (both exist on Windows too)."""


class StopSignals:
    """Catch ``signals`` (SIGINT and SIGTERM) in this context; :meth:`wait` returns on one.

    Handlers are installed only in the main thread (elsewhere only a ``stop`` event ends
    :meth:`wait`); the previous ones are restored on exit. Enter it before announcing that
    the server listens, so a Ctrl-C right after the announcement is caught too, and close
    the server inside it: signals repeated within ``force_after`` seconds of the first (a
    burst, a double press) leave the clean shutdown alone, one after that raises
    ``KeyboardInterrupt`` for who insists (never, with ``force_after=None``).

    Example::

        with StopSignals() as signals:
            try:
                server.start()  # serves from background threads
                print("listening on", server.address, flush=True)
                signals.wait()
            finally:
                server.close()
    """

    def __init__(
        self, signals: tuple[signal.Signals, ...] = STOP_SIGNALS, *, force_after: float | None = 2.0
    ) -> None:
        self.signals = signals
        self.received: list[str] = []
        self.force_after = force_after
        self._first = 0.0
        self._previous: dict[signal.Signals, Any] = {}

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        if not self.received:
            self._first = now
        elif self.force_after is not None and now - self._first > self.force_after:
            raise KeyboardInterrupt(f"{signal.Signals(signum).name} again: stopping now")
        self.received.append(signal.Signals(signum).name)  # no lock taken in a handler

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in self.signals:
                self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        previous, self._previous = self._previous, {}
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def wait(self, stop: threading.Event | None = None, *, poll: float = 0.1) -> str:
        """Block until a stop signal arrives or ``stop`` is set; return the signal's name
        (``"SIGINT"``) or ``"stop"``."""
        while not self.received:
            if stop is not None and stop.is_set():
                return "stop"
            time.sleep(poll)
        return self.received[0]


__all__ = ["STOP_SIGNALS", "StopSignals"]
