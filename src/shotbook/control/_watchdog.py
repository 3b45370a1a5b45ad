"""Watchdog: warn when the runner stays on one task longer than expected.

Set the environment variable ``SHOTBOOK_BLOCKING_TASK_DURATION_WARNING`` to a number of
seconds: a thread then samples what the runner is doing and logs a warning naming the task
(e.g. ``run shot 12 (attempt 1)``) that kept it busy for longer than that.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable

_log = logging.getLogger("shotbook.control.watchdog")

ENVIRONMENT_VARIABLE = "SHOTBOOK_BLOCKING_TASK_DURATION_WARNING"


def watchdog_threshold() -> float | None:
    """The threshold (seconds) set in the environment, or ``None`` when unset or invalid."""
    text = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        _log.warning("%s=%r is not a number of seconds; ignored", ENVIRONMENT_VARIABLE, text)
        return None
    if not math.isfinite(value) or value <= 0:
        _log.warning("%s=%r must be > 0 seconds; ignored", ENVIRONMENT_VARIABLE, text)
        return None
    return value


class Watchdog:
    """Samples ``current_task()`` → ``(task, since)`` and warns once per task over ``threshold``.

    Example::

        watchdog = Watchdog(runner.current_task, threshold=0.5, what="runner of /scans/a")
        watchdog.start()
        ...
        watchdog.stop()
    """

    def __init__(
        self, current_task: Callable[[], tuple[str, float]], threshold: float, what: str
    ) -> None:
        self._current_task = current_task
        self.threshold = threshold
        self._what = what
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="shotbook-watchdog", daemon=True)
        self.warnings: list[str] = []

    def start(self) -> None:
        """Start sampling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(2.0)

    def _watch(self) -> None:
        period = min(0.1, self.threshold / 4)
        warned: tuple[str, float] | None = None
        while not self._stop.wait(period):
            task, since = self._current_task()
            busy = time.monotonic() - since
            if busy > self.threshold and warned != (task, since):
                warned = (task, since)
                message = (
                    f"the {self._what} has been busy with '{task}' for {busy:.2f} s "
                    f"(more than {ENVIRONMENT_VARIABLE}={self.threshold:g} s)"
                )
                self.warnings.append(message)
                _log.warning("%s", message)


__all__ = ["ENVIRONMENT_VARIABLE", "Watchdog", "watchdog_threshold"]
