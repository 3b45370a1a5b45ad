"""Delivering events to subscribers without ever slowing the run down.

The runner only puts events on a queue; one dispatcher thread calls the
subscribers' callbacks. A callback that raises is logged and stays subscribed.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ._events import ManagerEvent

_log = logging.getLogger("shotbook.control")

EventCallback = Callable[[ManagerEvent], object]
"""What ``subscribe`` calls with each event (from the events thread); its result is ignored."""


class Subscription:
    """A subscription to events; :meth:`close` (or leaving the ``with`` block) ends it."""

    def __init__(self, close: Callable[[], None]) -> None:
        self._close = close
        self._closed = False

    def close(self) -> None:
        """Stop receiving events; idempotent."""
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class EventStream:
    """An iterator over events received from now on.

    Iterate it (it blocks until the next event, and ends when closed) or call
    :meth:`get` with a timeout. Use it as a context manager so it unsubscribes.

    Example::

        with manager.events() as events:
            manager.start_sequence("/scans/a")
            for event in events:
                if isinstance(event, SequenceStateChanged) and event.state == "finished":
                    break
    """

    _END = object()

    def __init__(self, subscribe: Callable[[EventCallback], Subscription]) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._subscription = subscribe(self._queue.put)
        self._closed = False

    def get(self, timeout: float | None = None) -> ManagerEvent | None:
        """The next event, or ``None`` after ``timeout`` seconds or once closed."""
        if self._closed and self._queue.empty():
            return None
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is self._END:
            self._queue.put(self._END)
            return None
        event: ManagerEvent = item
        return event

    def __iter__(self) -> Iterator[ManagerEvent]:
        while True:
            event = self.get()
            if event is None:
                return
            yield event

    def close(self) -> None:
        """Unsubscribe; an iteration in progress ends after the events already received."""
        if not self._closed:
            self._closed = True
            self._subscription.close()
            self._queue.put(self._END)

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class EventBus:
    """Fan events out to callbacks from one dispatcher thread."""

    def __init__(self, name: str = "shotbook-events") -> None:
        self._callbacks: dict[int, EventCallback] = {}
        self._lock = threading.Lock()
        self._ids = 0
        self._queue: queue.SimpleQueue[ManagerEvent | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._dispatch, name=name, daemon=True)
        self._thread.start()
        self._closed = False

    def publish(self, event: ManagerEvent) -> None:
        """Queue ``event`` for the subscribers; never blocks."""
        if not self._closed:
            self._queue.put(event)

    def subscribe(self, callback: EventCallback) -> Subscription:
        """Call ``callback(event)`` (from the dispatcher thread) for every event from now on."""
        if not callable(callback):
            raise TypeError(f"subscribe() needs a callable, got {callback!r}")
        with self._lock:
            self._ids += 1
            key = self._ids
            self._callbacks[key] = callback

        def unsubscribe() -> None:
            with self._lock:
                self._callbacks.pop(key, None)

        return Subscription(unsubscribe)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the events published so far are delivered; False on timeout."""
        done = threading.Event()
        self._queue.put(_Marker(done))  # type: ignore[arg-type]
        return done.wait(timeout)

    def close(self) -> None:
        """Deliver what is queued, then stop the dispatcher thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(5.0)

    def _dispatch(self) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                return
            if isinstance(event, _Marker):
                event.done.set()
                continue
            with self._lock:
                callbacks = list(self._callbacks.values())
            for callback in callbacks:
                try:
                    callback(event)
                except Exception:
                    _log.exception("an event subscriber raised on %s", event.topic)


class _Marker:
    def __init__(self, done: threading.Event) -> None:
        self.done = done


__all__ = ["EventBus", "EventCallback", "EventStream", "Subscription"]
