"""The Experiment panel: browse, launch and watch sequences, in one widget.

:class:`ExperimentPanel` is a facade over one collaborator per job:

* :class:`~._panel_worker.PanelWorker` — the worker thread that makes every store read and
  trait update, in order, and the poller that reads the store's list every
  ``poll_interval``;
* :class:`~._panel_tree.StoreListing` / :class:`~._panel_tree.TreeCommands` — the browser's
  rows and its commands (create, rename, delete, ...);
* :class:`~._panel_run.RunCommands` and :class:`~._panel_connection.ManagerConnection` —
  Start / Interrupt through the experiment manager, and the run control's state;
* :class:`~._panel_live.LiveViews` — the newest image and the scalar plot;
* :class:`~._panel_events.PanelEvents` — the manager's events, turned into updates;
* :mod:`._panel_snapshot` — the static HTML left in a saved notebook.

The panel itself holds the widgets together and decides which sequence is watched. The
kernel never waits for the store, and a running cell does not stop the updates.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import ipywidgets

from shotbook.session import StorageManager
from shotbook.types._paths import PureSequencePath

from ._browser import SequenceBrowser
from ._panel_connection import ManagerConnection, ManagerSource
from ._panel_events import EventCallbacks, PanelEvents
from ._panel_live import LiveViews
from ._panel_run import RunCommands
from ._panel_snapshot import (
    SnapshotDisplay,
    display_bundle,
    snapshot_html,
    widget_front_end_expected,
)
from ._panel_tree import Listing, StoreListing, TreeCallbacks, TreeCommands
from ._panel_worker import PanelWorker, Task
from ._run_control import RunControl

if TYPE_CHECKING:
    from shotbook.control import ExperimentManager


class ExperimentPanel:
    """Browse the store, start and interrupt sequences, and watch shots arrive.

    Args:
        storage_manager: the store (``experiment.get_storage_manager()``).
        manager: the experiment manager (local or remote), or a function returning it, or
            ``None`` to only browse. A manager is subscribed to at once (its events show
            each shot the moment it is stored); a function is called on the first Start /
            Interrupt, at once with ``connect=True``, or when the store shows a run owned by
            this process (one started from a cell), whichever comes first.
        poll_interval: seconds between reads of the store's sequence list (runs the
            manager does not report, e.g. started by other processes, show up at this rate).
        image: the data label of the live image (default: the first 2-D array of a shot).
        scalar: the per-shot scalar plotted (default: the first ``analysis.*`` result).
        parameter: the parameter on the x axis (default: the one that varies most).
        max_image_rate: frames per second sent to the browser at most.
        connect: call the manager function now (to receive its events before the first
            Start).
        title: the heading shown above the panel.

    Show it as the last expression of a cell (or ``display(panel)``). In a saved notebook it
    also leaves an HTML table of the sequences and the last image.

    Example::

        panel = ExperimentPanel(experiment.get_storage_manager(),
                                experiment.get_local_experiment_manager)
        panel                      # the widget
        panel.select("/scans/tof")
        panel.start()              # same as the Start button
    """

    def __init__(
        self,
        storage_manager: StorageManager,
        manager: ManagerSource = None,
        *,
        poll_interval: float = 1.0,
        image: str | None = None,
        scalar: str | None = None,
        parameter: str | None = None,
        max_image_rate: float = 30.0,
        connect: bool = False,
        title: str = "shotbook",
    ) -> None:
        self.storage_manager = storage_manager
        self.title = title
        self._worker = PanelWorker(self._read_for_poller, poll_interval)
        submit = self._worker.submit

        self.browser = SequenceBrowser()
        self.run_control = RunControl()
        self._live = LiveViews(
            storage_manager,
            submit=submit,
            on_rate=lambda rate, shots: self._run.show_rate(rate, shots),
            image=image,
            scalar=scalar,
            parameter=parameter,
            max_image_rate=max_image_rate,
        )
        self.image = self._live.image
        self.plot = self._live.plot
        self.image_choice = self._live.choices.image_choice
        self.y_choice = self._live.choices.y_choice
        self.x_choice = self._live.choices.x_choice
        self.plot_hint = self._live.choices.hint  # says how to get a value while y is empty
        self._listing = StoreListing(storage_manager, self.browser)
        self._connection = ManagerConnection(manager, lambda event: self._events.on_event(event))
        self._run = RunCommands(
            storage_manager, self.run_control, self._connection, lambda: self._live.path
        )
        self._events = PanelEvents(
            self._run,
            self._live,
            self._listing,
            EventCallbacks(
                lambda task: submit(self._snapshot.following(task)),
                self._select,
                self._poll,
                self._show_running,
            ),
        )
        tree = TreeCommands(
            storage_manager,
            self.browser,
            self._listing,
            TreeCallbacks(
                self._poll, self._select, lambda: self._live.path, self._run.forget_failure
            ),
        )
        self.widget = ipywidgets.VBox(
            [
                ipywidgets.HTML(f"<b>{title}</b>"),
                self.browser,
                self.run_control,
                ipywidgets.HBox(
                    [
                        self.image,
                        ipywidgets.VBox(
                            [
                                self.image_choice,
                                self.y_choice,
                                self.x_choice,
                                self.plot,
                                self.plot_hint,
                            ]
                        ),
                    ]
                ),
            ]
        )
        self.widget.add_class("shotbook-panel")
        self._snapshot = SnapshotDisplay(
            self.widget,
            self.static_html,
            lambda: repr(self),
            lambda: self.run_control.state,
            self._settle,
        )
        self.browser.on_command(lambda command: submit(lambda: tree.command(command)))
        self.run_control.on_command(lambda command: submit(lambda: self._run.command(command)))

        if connect:
            self._connection.get()
        elif self._connection.source_is_manager:
            # subscribe on the worker: a remote manager's subscription makes network calls
            self.connect_in_background()
        self._poll()
        latest = self._listing.latest_sequence()
        if latest is not None and not self._live.path:
            # its shots are read on the worker: the panel shows at once, the picture follows
            self._worker.submit(lambda: self._select(latest) if not self._live.path else None)
        self._worker.start()

    # ------------------------------------------------------------------ public calls

    @property
    def manager(self) -> ExperimentManager | None:
        """The experiment manager (created on first use), or ``None`` without one."""
        return self._connection.get()

    def select(self, path: str) -> None:
        """Show the sequence at ``path`` (as a click on its row does)."""
        self._worker.submit(lambda: self._select(str(PureSequencePath(path))))

    def start(self, path: str | None = None) -> None:
        """Start ``path`` (default: the selected sequence), as the Start button does."""
        self._worker.submit(lambda: self._run.command({"action": "start", "path": path}))

    def interrupt(self) -> None:
        """Interrupt the running sequence, as the Interrupt button does."""
        self._worker.submit(lambda: self._run.command({"action": "interrupt"}))

    def refresh(self) -> None:
        """Read the store's sequence list now."""
        self._worker.submit(self._poll)

    def connect_in_background(self) -> None:
        """Subscribe to the manager's events on the panel's worker, without blocking.

        A manager that cannot be reached is logged once; the panel keeps following runs by
        reading the store, and Start tries to connect again.
        """
        interval = self._worker.interval
        self._worker.submit(lambda: self._connection.connect_quietly(interval))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the panel has handled what it was asked so far and sent its views.

        Returns False on timeout. Useful in tests and scripts; the panel never needs it.
        """
        if not self._worker.wait_idle(timeout):
            return False
        return self.image.flush(timeout) and self.plot.flush(timeout)

    def close(self) -> None:
        """Stop updating: unsubscribe from the manager, stop the worker, close the views."""
        if self._worker.closed:
            return
        self._connection.close()
        self._snapshot.close()
        self._worker.close()
        self.widget.close()
        self.browser.close()
        self.run_control.close()
        self._live.close()

    def static_html(self) -> str:
        """The panel as plain HTML: the sequences table, the last image and the plot."""
        return snapshot_html(self.title, self.browser, self.run_control, self.image, self.plot)

    def show(self, widget: ipywidgets.Widget | None = None) -> None:
        """Display the panel (or ``widget``, a view holding it) and the static snapshot
        that follows it: a notebook saved or exported later, or run headless, shows the
        last run's path, picture and plot. ``display(panel)`` does the same."""
        self._snapshot.show(widget)

    _ipython_display_ = show  # IPython's display protocol: display(panel) shows it so

    def _repr_mimebundle_(self, **kwargs: object) -> dict[str, object]:
        return display_bundle(self.widget, self.static_html(), repr(self), **kwargs)

    def __repr__(self) -> str:
        running = self.run_control.running or "nothing"
        return f"<ExperimentPanel: {len(self._listing.stats)} sequences, running {running}>"

    # ------------------------------------------------------------------ on the worker

    def _poll(self) -> None:
        """Read the store's list and show it (supersedes the poller's read under way)."""
        self._listing.begin_read()
        self._apply_listing(self._listing.read(full=True))

    def _read_for_poller(self) -> Task:
        """On the poller thread: read what changed; the worker only applies the (cheap) diff."""
        generation = self._listing.generation
        return functools.partial(self._apply_polled, generation, self._listing.read())

    def _apply_polled(self, generation: int, listing: Listing) -> None:
        if generation == self._listing.generation:  # else the worker read a newer one since
            self._apply_listing(listing)

    def _apply_listing(self, listing: Listing) -> None:
        switch = self._listing.apply(listing, self._live.path)
        if switch is not None:
            self._select(switch)
        watched = self._listing.stats.get(self._live.path)
        if watched is not None:
            self._run.show_stats(watched, self._live.seen)
            if watched.number_of_shots > self._live.known:
                self._live.catch_up(watched)
        elif self._live.path:
            self._select("")
        connection = self._connection
        if not connection.connected and connection.has_source and self._listing.own_run_active():
            connection.connect_quietly(self._worker.interval)  # its manager has its events
        if not connection.runs():
            active = sorted(self._listing.active)
            self._show_running(active[0] if active else "")
        self._snapshot.changed()

    def _settle(self, timeout: float) -> bool:
        """Read what changed in the store now and wait until it is shown (after a cell);
        briefly only while the manager runs a sequence, not to hold the notebook up."""
        if self._connection.runs():
            timeout = min(timeout, 0.2)

        def read() -> None:
            self._listing.begin_read()
            self._apply_listing(self._listing.read())

        self._worker.submit(read)
        return self.flush(timeout)

    def _show_running(self, path: str) -> None:
        self.run_control.running = path
        self.browser.running = path

    def _select(self, path: str) -> None:
        """Watch ``path`` (``""``: nothing) from scratch: its state, problem and shots."""
        self._live.watch(path)
        self.browser.selected = path
        stats = self._listing.stats.get(path) if path else None
        self._run.show_selected(path, stats, self._live.seen)
        self._listing.show_notes(path)
        if stats is not None and stats.number_of_shots > 0:
            self._live.catch_up(stats)
        else:
            self._live.clear()  # no picture of shots deleted (or of another sequence)
        self._snapshot.changed()


__all__ = ["ExperimentPanel", "ManagerSource", "widget_front_end_expected"]
