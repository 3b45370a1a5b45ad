"""The panel's two threads: a worker that runs every update in order, and a store poller.

Every store read the panel makes for the front end, every trait update and every manager
event is a task on one worker thread, so the kernel never waits for the store and a
running cell does not stop the updates. The poller reads the store's sequence list once
per interval on its own thread and hands the (cheap) applying of it to the worker.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

_log = logging.getLogger("shotbook.ui")

Task = Callable[[], None]
"""One update, run on the worker thread."""

PollRead = Callable[[], Task]
"""Called on the poller thread: reads the store and returns the task that applies it."""


class PanelWorker:
    """Runs tasks in order on a worker thread; polls with ``poll_read`` every ``interval``.

    A task that raises is logged and the next one runs. Nothing runs after :meth:`close`.

    >>> worker = PanelWorker(poll_read=lambda: (lambda: None), interval=3600.0)
    >>> worker.start(); worker.submit(lambda: print("done")); worker.wait_idle(5.0)
    done
    True
    >>> worker.close()
    """

    def __init__(self, poll_read: PollRead, interval: float) -> None:
        if interval <= 0:
            raise ValueError(f"poll_interval is in seconds, > 0; got {interval}")
        self.interval = float(interval)
        self._poll_read = poll_read
        self._queue: queue.SimpleQueue[Task | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="shotbook-panel", daemon=True)
        self._poller = threading.Thread(target=self._poll, name="shotbook-poll", daemon=True)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def start(self) -> None:
        """Start the worker and the poller."""
        self._thread.start()
        self._poller.start()

    def submit(self, task: Task) -> None:
        """Run ``task`` on the worker after the tasks already queued (dropped once closed)."""
        if not self._closed:
            self._queue.put(task)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the tasks queued so far have run; False on timeout."""
        done = threading.Event()
        self._queue.put(done.set)
        return done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop both threads after the tasks queued so far (the poller at its next tick)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        if threading.current_thread() is not self._thread and self._thread.is_alive():
            self._thread.join(timeout)

    def _work(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            try:
                task()
            except Exception:
                _log.exception("the panel could not update")

    def _poll(self) -> None:
        while not self._closed:
            time.sleep(self.interval)
            if self._closed:
                return
            try:
                apply = self._poll_read()
            except Exception:
                _log.exception("the panel could not read the store")
                continue
            self.submit(apply)


__all__ = ["PanelWorker", "PollRead", "Task"]
