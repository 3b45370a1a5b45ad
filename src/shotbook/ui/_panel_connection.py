"""The panel's link to the experiment manager: created on first use, subscribed once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias, cast

if TYPE_CHECKING:  # shotbook.control loads zmq and the runner: only with a manager
    from shotbook.control import ExperimentManager, ManagerEvent, Subscription

_log = logging.getLogger("shotbook.ui")

ManagerSource: TypeAlias = "ExperimentManager | Callable[[], ExperimentManager] | None"
"""An experiment manager, a function returning one (called on first use), or ``None``."""


class ManagerConnection:
    """The experiment manager of a panel, and the panel's subscription to its events.

    ``source`` is a manager (anything with ``start_sequence``), a function returning one,
    or ``None``. :meth:`get` creates the manager on first use and subscribes
    ``on_event`` to it; :meth:`connect_quietly` does the same but logs a failure once
    instead of raising.
    """

    def __init__(self, source: ManagerSource, on_event: Callable[[ManagerEvent], None]) -> None:
        self._source = source
        self._on_event = on_event
        self._manager: ExperimentManager | None = None
        self._subscription: Subscription | None = None
        self._lock = threading.Lock()
        self._failed = False
        self._closed = False

    @property
    def has_source(self) -> bool:
        """Whether a manager was given (one may be created even if not yet connected)."""
        return self._source is not None

    @property
    def source_is_manager(self) -> bool:
        """Whether the source is a manager itself (not a function returning one)."""
        return self._source is not None and hasattr(self._source, "start_sequence")

    @property
    def connected(self) -> bool:
        """Whether the manager exists and the panel is subscribed to it."""
        return self._manager is not None

    def get(self) -> ExperimentManager | None:
        """The manager, created and subscribed to on first use; ``None`` without a source."""
        with self._lock:
            if self._manager is None and self._source is not None and not self._closed:
                source = self._source
                if hasattr(source, "start_sequence"):
                    manager = cast("ExperimentManager", source)
                else:
                    manager = source()
                self._subscription = manager.subscribe(self._on_event)
                self._manager = manager
            return self._manager

    def connect_quietly(self, poll_interval: float) -> None:
        """Create the manager and subscribe to it without a click; log a failure once."""
        if self._manager is not None or self._failed:
            return
        try:
            self.get()
        except Exception as error:
            self._failed = True
            _log.warning(
                "the panel follows runs by reading the store every %g s: it could not "
                "subscribe to the experiment manager's events (%s); Start will try again",
                poll_interval,
                error,
            )

    def runs(self) -> bool:
        """Whether the connected manager says it runs a sequence (False when unsure)."""
        manager = self._manager
        if manager is None:
            return False
        try:
            return bool(manager.is_running())
        except Exception as error:  # a remote manager that does not answer: trust the store
            _log.debug("the experiment manager did not say whether it runs: %s", error)
            return False

    def close(self) -> None:
        """End the subscription; the manager is not created after this."""
        with self._lock:
            self._closed = True
            if self._subscription is not None:
                self._subscription.close()
                self._subscription = None


__all__ = ["ManagerConnection", "ManagerSource"]
