"""The experiment manager's events, turned into panel updates.

:meth:`PanelEvents.on_event` runs on the manager's events thread: it counts a stored shot
at once and hands the event to the panel's worker, where :meth:`PanelEvents.handle`
updates the run control, the live views and the tree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._panel_live import LiveViews
from ._panel_run import RunCommands
from ._panel_tree import StoreListing
from ._panel_worker import Task

if TYPE_CHECKING:
    from shotbook.control import ManagerEvent, SequenceStateChanged


@dataclass(frozen=True)
class EventCallbacks:
    """What the events need from the rest of the panel."""

    submit: Callable[[Task], None]
    """Run a task on the panel's worker."""
    select: Callable[[str], None]
    """Watch this sequence, from scratch."""
    refresh: Callable[[], None]
    """Read the store's list now and show it."""
    show_running: Callable[[str], None]
    """Show this sequence as the running one (``""``: none)."""


class PanelEvents:
    """Routes each manager event to the run control, the live views and the tree."""

    def __init__(
        self,
        run: RunCommands,
        live: LiveViews,
        listing: StoreListing,
        callbacks: EventCallbacks,
    ) -> None:
        self._run = run
        self._live = live
        self._listing = listing
        self._host = callbacks

    def on_event(self, event: ManagerEvent) -> None:
        """Called on the manager's events thread: show progress now, hand the rest over."""
        from shotbook.control import ShotStored  # loaded with any manager

        if isinstance(event, ShotStored) and str(event.path) == self._live.path:
            self._run.count_shot(int(event.index))
        self._host.submit(lambda: self.handle(event))

    def handle(self, event: ManagerEvent) -> None:
        """Show ``event`` (on the panel's worker)."""
        from shotbook.control import (  # loaded with any manager
            AnalysisFailed,
            SequenceFailed,
            SequenceStateChanged,
            ShotRetried,
            ShotStored,
        )

        path = str(event.path)
        if isinstance(event, SequenceStateChanged):
            self._state_changed(event)
        elif isinstance(event, ShotStored):
            if path == self._live.path:
                self._live.shot_announced(int(event.index))
        elif isinstance(event, SequenceFailed):
            self._run.remember_failure(path, event.failure)
        elif isinstance(event, ShotRetried):
            self._run.tell(
                True, f"shot {event.index} retried (attempt {event.attempt}): {event.error}"
            )
        elif isinstance(event, AnalysisFailed):
            self._run.tell(
                False, f"analysis {event.analysis} failed on shot {event.index}: {event.error}"
            )

    def _state_changed(self, event: SequenceStateChanged) -> None:
        path = str(event.path)
        if event.state in ("preparing", "running"):
            self._listing.mark_active(path, True)
            self._host.show_running(path)
            if event.state == "preparing":
                self._run.forget_failure(path)
                self._host.select(path)
        else:
            self._listing.mark_active(path, False)
            if self._run.running == path:
                self._host.show_running("")
        if path == self._live.path:
            self._live.read_pending()
            self._run.show_state(event, self._live.seen, self._listing.stats.get(path))
        self._host.refresh()


__all__ = ["EventCallbacks", "PanelEvents"]
