"""Software triggers of a camera, fired at their times in the shot by one long-lived thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence


class SoftwareTriggers:
    """Fire a shot's software triggers at ``origin + times[k]``, in order, one at a time.

    One thread per camera, started with the camera and woken by :meth:`arm` each shot
    (starting and joining a thread per shot cost ~0.3–0.6 ms a shot on a loaded machine).
    The camera's collection may also fire a trigger that is already due (:meth:`fire_due`)
    rather than wait for the thread to wake up; whichever claims trigger ``k`` first fires
    it, and never before its time. So a camera collected after another still gets its
    triggers on time from its own thread.

    ``fire(k)`` does what trigger ``k`` needs (wait for the camera, set the exposure,
    trigger); its first exception stops the shot's triggers and is kept in :attr:`error`.

    Example:
        >>> fired = []
        >>> triggers = SoftwareTriggers("camera", fired.append)
        >>> triggers.arm(time.monotonic(), [0.0, 0.01])
        >>> triggers.wait_fired(2, timeout=5.0)
        True
        >>> triggers.disarm(timeout=1.0); triggers.close(); fired
        [0, 1]
    """

    def __init__(self, name: str, fire: Callable[[int], None]) -> None:
        self._fire = fire
        self._condition = threading.Condition()
        self._times: list[float] = []
        self._origin = 0.0
        self._next = 0
        self._armed = False
        self._firing = False
        self._closed = False
        self.error: Exception | None = None
        """The exception of the last shot's failed trigger, if any."""
        self._thread = threading.Thread(
            target=self._run, name=f"shotbook-{name}-triggers", daemon=True
        )
        self._thread.start()

    def arm(self, origin: float, times: Sequence[float]) -> None:
        """Fire trigger ``k`` at ``origin + times[k]`` (monotonic seconds) from now on."""
        with self._condition:
            self._origin, self._times = origin, [float(t) for t in times]
            self._next, self._armed, self.error = 0, True, None
            self._condition.notify_all()

    def fire_due(self, index: int) -> None:
        """Fire trigger ``index`` on this thread if it is due and nobody fired it yet."""
        with self._condition:
            claimed = self._claim(index)
        if claimed:
            self._call(index)

    def wait_fired(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` triggers of the shot were fired (or failed)."""
        with self._condition:
            return self._condition.wait_for(
                lambda: (self._next >= count and not self._firing) or self.error is not None,
                timeout,
            )

    def disarm(self, timeout: float) -> None:
        """Fire no more triggers of this shot; wait up to ``timeout`` s for one being fired."""
        with self._condition:
            self._armed = False
            self._condition.notify_all()
            self._condition.wait_for(lambda: not self._firing, max(timeout, 0.0))

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread."""
        with self._condition:
            self._closed, self._armed = True, False
            self._condition.notify_all()
        self._thread.join(timeout)

    def _claim(self, index: int | None) -> bool:
        """Under the lock: claim trigger ``index`` (or the next one) if due and free."""
        if not self._armed or self._firing or self._next >= len(self._times):
            return False
        if index is not None and index != self._next:
            return False
        if self._origin + self._times[self._next] > time.monotonic():
            return False
        self._next += 1
        self._firing = True
        return True

    def _call(self, index: int) -> None:
        error: Exception | None = None
        try:
            self._fire(index)
        except Exception as exc:  # reported by the collection, naming the picture
            error = exc
        with self._condition:
            self._firing = False
            if error is not None:
                self.error, self._armed = error, False
            self._condition.notify_all()

    def _run(self) -> None:
        condition = self._condition
        index = 0
        while True:
            with condition:
                while True:
                    if self._closed:
                        return
                    if self._armed and not self._firing and self._next < len(self._times):
                        delay = self._origin + self._times[self._next] - time.monotonic()
                        if delay <= 0:
                            index = self._next
                            if self._claim(index):
                                break
                        condition.wait(delay)
                    else:
                        condition.wait()
            self._call(index)
