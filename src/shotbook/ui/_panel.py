"""The Experiment panel: browse, launch and watch sequences, in one widget.

All store reads and trait updates happen on one worker thread of the panel, fed by the
front end's commands, the manager's events and a poll of the store (``list()`` once per
``poll_interval``, diffed). The kernel never waits for the store, and a running cell does
not stop the updates.
"""

from __future__ import annotations

import collections
import functools
import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ipywidgets
import numpy as np

from shotbook.session import RunOwner, SequenceStats, State, StorageManager
from shotbook.types import StepsConfiguration, TimeLanes
from shotbook.types._paths import PureSequencePath

from ._browser import SequenceBrowser, build_rows
from ._image_view import LiveImage
from ._run_control import RunControl, progress_text
from ._scalar_plot import ScalarPlot
from ._static import image_html, panel_html

_log = logging.getLogger("shotbook.ui")

ManagerSource = Any
"""An experiment manager, a function returning one (called on first use), or ``None``."""

_NONE = "—"


def _is_scalar(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    return isinstance(value, int | float | np.integer | np.floating)


def widget_front_end_expected() -> bool:
    """Whether a live widget front end shows this kernel's outputs.

    True in JupyterLab / Notebook 7 (the kernel was started for a notebook session, or the
    widget manager has connected), in Voila and in VS Code; False when a notebook is run
    headless (``nbconvert --execute``, papermill), where the panel then leaves its static
    HTML only, so that ``nbconvert --to html`` shows the table and the image. The environment
    variable ``SHOTBOOK_PANEL_STATIC`` (``1`` / ``0``) forces the answer.
    """
    forced = os.environ.get("SHOTBOOK_PANEL_STATIC")
    if forced is not None:
        return forced.strip() in ("0", "", "false", "no")
    if getattr(ipywidgets.Widget, "_control_comm", None) is not None:
        return True
    if "JPY_SESSION_NAME" in os.environ or "VSCODE_PID" in os.environ:
        return True
    return "voila" in os.environ.get("SERVER_SOFTWARE", "").lower()


def _default_sequence() -> tuple[StepsConfiguration, TimeLanes]:
    from shotbook.types import ExecuteShot

    return StepsConfiguration([ExecuteShot()]), TimeLanes(["step 1"], ["10 ms"])


@dataclass
class _Watched:
    """What the live view knows about the sequence it shows."""

    path: str = ""
    values: dict[int, dict[str, float]] = field(default_factory=dict)
    parameters: list[str] = field(default_factory=list)
    scalars: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    newest: int = -1
    pending: set[int] = field(default_factory=set)
    arrivals: collections.deque[tuple[float, int]] = field(
        default_factory=lambda: collections.deque(maxlen=64)
    )


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
        if poll_interval <= 0:
            raise ValueError(f"poll_interval is in seconds, > 0; got {poll_interval}")
        self.storage_manager = storage_manager
        self.title = title
        self._manager_source = manager
        self._manager: Any = None
        self._subscription: Any = None
        self._manager_lock = threading.Lock()
        self._manager_failed = False
        self._poll_interval = float(poll_interval)
        self._wanted_image = image
        self._wanted_scalar = scalar
        self._wanted_parameter = parameter
        self._confirm_tokens = itertools.count(1)
        self._pending_confirm: dict[str, Any] = {}
        self._last_rows: list[dict[str, Any]] = []
        self._stats: dict[str, SequenceStats] = {}
        self._active: set[str] = set()
        # each sequence's state at the previous listing (None before the first)
        self._previous_states: dict[str, State] | None = None
        self._failures: dict[str, dict[str, Any]] = {}
        self._watched = _Watched()
        self._run_counts: dict[str, int] = {}
        self._closed = False
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._idle = threading.Event()
        self._idle.set()
        self._busy = 0
        self._busy_lock = threading.Lock()
        self._control_lock = threading.RLock()
        self._listing_generation = 0
        self._read_queued = False

        self.browser = SequenceBrowser()
        self.run_control = RunControl()
        self.image = LiveImage(max_rate=max_image_rate)
        self.plot = ScalarPlot()
        self.image_choice = ipywidgets.Dropdown(description="image", options=[_NONE])
        self.y_choice = ipywidgets.Dropdown(description="y", options=[_NONE])
        self.x_choice = ipywidgets.Dropdown(description="x", options=[_NONE])
        self._setting_options = False
        self.widget = ipywidgets.VBox(
            [
                ipywidgets.HTML(f"<b>{title}</b>"),
                self.browser,
                self.run_control,
                ipywidgets.HBox(
                    [
                        self.image,
                        ipywidgets.VBox(
                            [self.image_choice, self.y_choice, self.x_choice, self.plot]
                        ),
                    ]
                ),
            ]
        )
        self.widget.add_class("shotbook-panel")

        self.browser.on_command(
            lambda command: self._submit(lambda: self._browser_command(command))
        )
        self.run_control.on_command(
            lambda command: self._submit(lambda: self._run_command(command))
        )
        self.image_choice.observe(self._choice_changed, names="value")
        self.y_choice.observe(self._choice_changed, names="value")
        self.x_choice.observe(self._choice_changed, names="value")

        if connect:
            self._get_manager()
        elif manager is not None and hasattr(manager, "start_sequence"):
            # subscribe on the worker: a remote manager's subscription makes network calls
            self.connect_in_background()
        self._poll()
        latest = self._latest_sequence()
        if latest is not None and not self._watched.path:
            self._select(latest)
        self._thread = threading.Thread(target=self._work, name="shotbook-panel", daemon=True)
        self._thread.start()
        self._poller = threading.Thread(target=self._poll_loop, name="shotbook-poll", daemon=True)
        self._poller.start()

    # ------------------------------------------------------------------ public calls

    @property
    def manager(self) -> Any:
        """The experiment manager (created on first use), or ``None`` without one."""
        return self._get_manager()

    def select(self, path: str) -> None:
        """Show the sequence at ``path`` (as a click on its row does)."""
        self._submit(lambda: self._select(str(PureSequencePath(path))))

    def start(self, path: str | None = None) -> None:
        """Start ``path`` (default: the selected sequence), as the Start button does."""
        target = path
        self._submit(lambda: self._run_command({"action": "start", "path": target}))

    def interrupt(self) -> None:
        """Interrupt the running sequence, as the Interrupt button does."""
        self._submit(lambda: self._run_command({"action": "interrupt"}))

    def refresh(self) -> None:
        """Read the store's sequence list now."""
        self._submit(self._poll)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the panel has handled what it was asked so far and sent its views.

        Returns False on timeout. Useful in tests and scripts; the panel never needs it.
        """
        done = threading.Event()
        self._queue.put(done.set)
        if not done.wait(timeout):
            return False
        return self.image.flush(timeout) and self.plot.flush(timeout)

    def close(self) -> None:
        """Stop updating: unsubscribe from the manager, stop the worker, close the views."""
        if self._closed:
            return
        self._closed = True
        with self._manager_lock:
            if self._subscription is not None:
                self._subscription.close()
                self._subscription = None
        self._queue.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(5.0)
        self.widget.close()
        for view in (self.browser, self.run_control, self.image, self.plot):
            view.close()

    def static_html(self) -> str:
        """The panel as plain HTML: the sequences table and the last image."""
        run = self.run_control
        line = ""
        if run.path:
            expected = None if run.expected < 0 else run.expected
            line = f"{run.path}: {run.state}, {progress_text(run.shots, expected)}"
        picture = image_html(
            self.image.last_image,
            label=self.image.last_label,
            colormap=self.image.colormap,
            levels=None if self.image.auto_levels else self.image.levels,
            roi=self.image.roi,
        )
        return panel_html(self.browser.rows, title=self.title, run_line=line, image=picture)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = {}
        if widget_front_end_expected():
            bundle.update(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/html"] = self.static_html()
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        running = self.run_control.running or "nothing"
        return f"<ExperimentPanel: {len(self._stats)} sequences, running {running}>"

    # ------------------------------------------------------------------ worker

    def _submit(self, task: Callable[[], None]) -> None:
        if not self._closed:
            self._queue.put(task)

    def _work(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            try:
                task()
            except Exception:
                _log.exception("the panel could not update")

    def _poll_loop(self) -> None:
        """Read the store's list on this thread; the worker only applies the (cheap) diff."""
        while not self._closed:
            time.sleep(self._poll_interval)
            if self._closed:
                return
            generation = self._listing_generation
            try:
                listing = self._read_listing()
            except Exception:
                _log.exception("the panel could not read the store")
                continue
            self._submit(functools.partial(self._apply_polled, generation, listing))

    def _apply_polled(
        self, generation: int, listing: tuple[list[SequenceStats], set[PureSequencePath]]
    ) -> None:
        if generation == self._listing_generation:  # else the worker read a newer one since
            self._apply_listing(*listing)

    # ------------------------------------------------------------------ manager

    def _get_manager(self) -> Any:
        with self._manager_lock:
            if self._manager is None and self._manager_source is not None and not self._closed:
                source = self._manager_source
                manager = source if hasattr(source, "start_sequence") else source()
                self._subscription = manager.subscribe(self._on_event)
                self._manager = manager
            return self._manager

    def connect_in_background(self) -> None:
        """Subscribe to the manager's events on the panel's worker, without blocking.

        A manager that cannot be reached is logged once; the panel keeps following runs by
        reading the store, and Start tries to connect again.
        """
        self._submit(self._connect_quietly)

    def _connect_quietly(self) -> None:
        """Create the manager and subscribe to it without a click; log a failure once."""
        if self._manager is not None or self._manager_failed:
            return
        try:
            self._get_manager()
        except Exception as error:
            self._manager_failed = True
            _log.warning(
                "the panel follows runs by reading the store every %g s: it could not "
                "subscribe to the experiment manager's events (%s); Start will try again",
                self._poll_interval,
                error,
            )

    def _on_event(self, event: Any) -> None:
        """Called on the manager's events thread: show progress now, hand the rest over."""
        if getattr(event, "topic", "") == "shot.stored" and str(event.path) == self._watched.path:
            control = self.run_control
            with self._control_lock:
                if event.index + 1 > control.shots:
                    control.shots = int(event.index) + 1
        self._submit(lambda: self._handle_event(event))

    def _handle_event(self, event: Any) -> None:
        topic = getattr(event, "topic", "")
        path = str(event.path)
        control = self.run_control
        if topic == "sequence.state":
            state = event.state
            if state in ("preparing", "running"):
                self._active.add(path)
                control.running = path
                self.browser.running = path
                if state == "preparing":
                    self._failures.pop(path, None)
                    self._select(path, reset=True)
            else:
                self._active.discard(path)
                if control.running == path:
                    control.running = ""
                    self.browser.running = ""
            if path == self._watched.path:
                self._read_pending()
                with self._control_lock, control.hold_sync():
                    control.state = state
                    control.shots = max(event.number_of_shots, len(self._watched.values))
                    expected = event.expected_number_of_shots
                    control.expected = -1 if expected is None else int(expected)
                    control.can_start = self._can_start(path)
                    if state not in ("preparing", "running"):
                        control.rate = 0.0
                        control.eta = -1.0
            self._poll()
        elif topic == "shot.stored":
            if path == self._watched.path:
                self._watched.pending.add(int(event.index))
                if not self._read_queued:
                    # behind the events already queued: one read serves them all, so the
                    # worker never falls behind when reading a shot takes longer than a shot
                    self._read_queued = True
                    self._submit(self._read_queued_shots)
        elif topic == "sequence.failed":
            failure = dict(event.failure)
            self._failures[path] = failure
            if path == self._watched.path:
                self._show_failure(failure)
        elif topic == "shot.retried":
            control.status = {
                "id": None,
                "ok": True,
                "message": f"shot {event.index} retried (attempt {event.attempt}): {event.error}",
            }
        elif topic == "shot.analysis_failed":
            control.status = {
                "id": None,
                "ok": False,
                "message": f"analysis {event.analysis} failed on shot {event.index}: {event.error}",
            }

    def _show_failure(self, failure: Mapping[str, Any]) -> None:
        shown = {k: v for k, v in failure.items() if k != "remote_traceback"}
        with self._control_lock, self.run_control.hold_sync():
            self.run_control.error = shown
            self.run_control.traceback = ""
            if self.run_control.show_traceback:
                self.run_control.traceback = str(failure.get("remote_traceback") or "")

    # ------------------------------------------------------------------ store polling

    def _poll(self) -> None:
        self._listing_generation += 1
        self._apply_listing(*self._read_listing())

    def _read_listing(self) -> tuple[list[SequenceStats], set[PureSequencePath]]:
        with self.storage_manager.session() as session, session.transaction():
            return session.sequences.list(), session.paths.all_paths()

    def _apply_listing(self, stats: list[SequenceStats], paths: set[PureSequencePath]) -> None:
        by_path = {str(s.path): s for s in stats}
        folders = sorted(str(p) for p in paths if str(p) not in by_path)
        self._stats = by_path
        rows = build_rows(stats, folders)
        if rows != self._last_rows:
            self._last_rows = rows
            self.browser.rows = rows
        newly_active = [
            path for path, s in by_path.items() if s.state.is_active() and path not in self._active
        ]
        self._active = {path for path, s in by_path.items() if s.state.is_active()}
        if newly_active and self._watched.path not in self._active:
            self._select(sorted(newly_active)[0], reset=True)
        elif self._watched.path not in self._active:
            ran = self._ran_between_listings(by_path)
            if ran is not None:
                self._select(ran, reset=True)
        self._previous_states = {path: s.state for path, s in by_path.items()}
        watched = by_path.get(self._watched.path)
        if watched is not None:
            self._update_control_from_stats(watched)
            if watched.number_of_shots > len(self._watched.values) + len(self._watched.pending):
                self._catch_up(watched)
        elif self._watched.path and self._watched.path not in by_path:
            self._select("", reset=True)
        if self._manager is None and self._manager_source is not None:
            me = RunOwner.current()
            if any(
                s.state.is_active()
                and s.owner is not None
                and (s.owner.host, s.owner.pid) == (me.host, me.pid)
                for s in stats
            ):
                self._connect_quietly()  # a run of this process: its manager has its events
        if not self._manager_runs():
            active = sorted(self._active)
            self.run_control.running = active[0] if active else ""
            self.browser.running = self.run_control.running

    def _ran_between_listings(self, by_path: dict[str, SequenceStats]) -> str | None:
        """The latest sequence that was a draft at the previous listing and has run to its
        end since (a short run started elsewhere can start and end between two polls)."""
        previous = self._previous_states
        if previous is None:
            return None
        ran = [
            s
            for path, s in by_path.items()
            if s.start_time is not None
            and not s.state.is_active()
            and s.state is not State.DRAFT
            and previous.get(path, State.DRAFT) is State.DRAFT
        ]
        if not ran:
            return None
        return str(max(ran, key=lambda s: s.start_time or s.created).path)

    def _manager_runs(self) -> bool:
        manager = self._manager
        if manager is None:
            return False
        try:
            return bool(manager.is_running())
        except Exception as error:  # a remote manager that does not answer: trust the store
            _log.debug("the experiment manager did not say whether it runs: %s", error)
            return False

    def _latest_sequence(self) -> str | None:
        started = [s for s in self._stats.values() if s.start_time is not None]
        if started:
            return str(max(started, key=lambda s: s.start_time or s.created).path)
        return None

    def _can_start(self, path: str) -> bool:
        stats = self._stats.get(path)
        if stats is None or stats.state is not State.DRAFT or self._manager_source is None:
            return False
        return not self.run_control.running

    def _update_control_from_stats(self, stats: SequenceStats) -> None:
        control = self.run_control
        path = str(stats.path)
        with self._control_lock, control.hold_sync():
            control.path = path
            control.state = stats.state.value
            control.shots = max(
                stats.number_of_shots,
                len(self._watched.values) if stats.state.is_active() else 0,
            )
            expected = stats.expected_number_of_shots
            control.expected = -1 if expected is None else int(expected)
            control.can_start = self._can_start(path)
            if not stats.state.is_active():
                control.rate = 0.0
                control.eta = -1.0

    # ------------------------------------------------------------------ selection and shots

    def _select(self, path: str, *, reset: bool = True) -> None:
        if path == self._watched.path and not reset:
            return
        self._watched = _Watched(path=path)
        self.browser.selected = path
        control = self.run_control
        with self._control_lock, control.hold_sync():
            control.path = path
            control.error = {}
            control.traceback = ""
            control.show_traceback = False
            control.rate = 0.0
            control.eta = -1.0
        stats = self._stats.get(path)
        if not path or stats is None:
            with self._control_lock, control.hold_sync():
                control.state = ""
                control.shots = 0
                control.expected = -1
                control.can_start = False
            self.browser.notes = ""
            self.plot.set_points([], [])
            return
        with self.storage_manager.session() as session:
            self.browser.notes = session.sequences.get_notes(path)
        self._update_control_from_stats(stats)
        failure = self._failures.get(path)
        if failure is not None:
            self._show_failure(failure)
        elif stats.state is State.CRASHED:
            control.error = {"path": path, "reason": "the sequence crashed (see the traceback)"}
        if stats.number_of_shots > 0:
            self._catch_up(stats)
        else:
            self.plot.set_points([], [])

    def _catch_up(self, stats: SequenceStats) -> None:
        """Read the scalars of every shot not seen yet (one scan) and the newest shot."""
        watched = self._watched
        path = str(stats.path)
        with self.storage_manager.session() as session:
            with session.transaction():
                shots = session.sequences.get_shots(path)
                if not shots:
                    return
                newest = shots[-1]
                parameters, data = newest.parameters, newest.data
                frame = session.sequences.scan(path)
            self._learn_names(parameters, data)
            missing = [s.index for s in shots if s.index not in watched.values]
            if missing:
                self._read_scalars(frame, missing)
        self._show_shot(newest.index, parameters, data)
        self._refresh_plot()

    def _read_scalars(self, frame: Any, indices: list[int]) -> None:
        import polars as pl

        names = [n for n in (*self._watched.parameters, *self._watched.scalars)]
        schema = frame.collect_schema()
        columns = [n for n in names if n in schema]
        table = (
            frame.filter(pl.col("shot_index").is_in(indices))
            .select(["shot_index", *columns])
            .collect()
        )
        for row in table.iter_rows(named=True):
            index = int(row.pop("shot_index"))
            self._watched.values[index] = {
                k: float(v) for k, v in row.items() if v is not None and _is_scalar(v)
            }

    def _read_queued_shots(self) -> None:
        self._read_queued = False
        self._read_pending()

    def _read_pending(self) -> None:
        """Read the shots announced by events: the newest fully, the others' scalars only."""
        watched = self._watched
        pending = sorted(i for i in watched.pending if i not in watched.values)
        watched.pending.clear()
        if not pending:
            return
        path = watched.path
        newest_index = pending[-1]
        with self.storage_manager.session() as session:
            with session.transaction():
                newest = session.sequences.get_shot(path, newest_index)
                parameters, data = newest.parameters, newest.data
                frame = session.sequences.scan(path) if len(pending) > 1 else None
            self._learn_names(parameters, data)
            if frame is not None:
                self._read_scalars(frame, pending[:-1])
        self._show_shot(newest_index, parameters, data)
        now = time.monotonic()
        watched.arrivals.append((now, len(watched.values)))
        self._update_rate()
        self._refresh_plot()

    def _learn_names(self, parameters: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        watched = self._watched
        parameter_names = sorted(k for k, v in parameters.items() if _is_scalar(v))
        scalar_names = [k for k, v in data.items() if _is_scalar(v) and k != "shot.attempts"]
        scalar_names.sort(key=lambda k: (not k.startswith("analysis."), k))
        images = sorted(k for k, v in data.items() if getattr(v, "ndim", 0) == 2)
        if (parameter_names, scalar_names, images) == (
            watched.parameters,
            watched.scalars,
            watched.images,
        ):
            return
        watched.parameters, watched.scalars, watched.images = parameter_names, scalar_names, images
        self._set_options(self.image_choice, images, self._wanted_image)
        self._set_options(self.y_choice, scalar_names, self._wanted_scalar)
        self._set_options(self.x_choice, parameter_names, self._wanted_parameter)

    def _set_options(
        self, dropdown: ipywidgets.Dropdown, names: list[str], wanted: str | None
    ) -> None:
        options = names or [_NONE]
        current = dropdown.value
        self._setting_options = True
        try:
            dropdown.options = options
            if wanted in options:
                dropdown.value = wanted
            elif current in options and current != _NONE:
                dropdown.value = current
            else:
                dropdown.value = options[0]
        finally:
            self._setting_options = False

    def _show_shot(
        self, index: int, parameters: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        watched = self._watched
        values = {k: float(v) for k, v in parameters.items() if _is_scalar(v)}
        values.update({k: float(v) for k, v in data.items() if _is_scalar(v)})
        watched.values[index] = values
        if index < watched.newest:
            return
        watched.newest = index
        label = self.image_choice.value
        image = data.get(label) if label != _NONE else None
        if image is not None and getattr(image, "ndim", 0) == 2:
            self.image.show(image, label=f"{label} · shot {index} · {watched.path}")

    def _x_name(self) -> str | None:
        chosen = self.x_choice.value
        if self._wanted_parameter is not None or chosen in (None, _NONE):
            return None if chosen in (None, _NONE) else str(chosen)
        return str(chosen)

    def _auto_x(self) -> None:
        """Pick the parameter that varies most, until the person picks one."""
        if self._wanted_parameter is not None:
            return
        values = self._watched.values
        best, best_count = None, 1
        for name in self._watched.parameters:
            count = len({v.get(name) for v in values.values()})
            if count > best_count:
                best, best_count = name, count
        if best is not None and best != self.x_choice.value:
            self._setting_options = True
            try:
                self.x_choice.value = best
            finally:
                self._setting_options = False

    def _refresh_plot(self) -> None:
        self._auto_x()
        x_name = self._x_name()
        y_name = self.y_choice.value
        self.plot.x_label = x_name or ""
        self.plot.y_label = "" if y_name in (None, _NONE) else str(y_name)
        if x_name is None or y_name in (None, _NONE):
            self.plot.set_points([], [])
            return
        indices = sorted(self._watched.values)
        xs = [self._watched.values[i].get(x_name, np.nan) for i in indices]
        ys = [self._watched.values[i].get(str(y_name), np.nan) for i in indices]
        self.plot.set_points(xs, ys)

    def _update_rate(self) -> None:
        arrivals = self._watched.arrivals
        control = self.run_control
        if len(arrivals) < 2:
            return
        (t0, n0), (t1, n1) = arrivals[0], arrivals[-1]
        if t1 <= t0 or n1 <= n0:
            return
        rate = (n1 - n0) / (t1 - t0)
        with self._control_lock, control.hold_sync():
            control.rate = rate
            control.shots = max(control.shots, n1)
            if control.expected >= 0:
                control.eta = max(0.0, (control.expected - n1) / rate)

    def _choice_changed(self, change: dict[str, Any]) -> None:
        if self._setting_options:
            return
        owner = change["owner"]
        if owner is self.x_choice:
            self._wanted_parameter = change["new"] if change["new"] != _NONE else None
        elif owner is self.y_choice:
            self._wanted_scalar = change["new"] if change["new"] != _NONE else None
        elif owner is self.image_choice:
            self._wanted_image = change["new"] if change["new"] != _NONE else None
        self._submit(self._refresh_after_choice)

    def _refresh_after_choice(self) -> None:
        self._refresh_plot()
        watched = self._watched
        if watched.newest >= 0 and self._wanted_image:
            with self.storage_manager.session() as session:
                shot = session.sequences.get_shot(watched.path, watched.newest)
                data = shot.data
            self._show_shot(watched.newest, shot.parameters, data)

    # ------------------------------------------------------------------ commands

    def _answer(self, view: Any, command: Mapping[str, Any], ok: bool, message: str) -> None:
        view.status = {"id": command.get("id"), "ok": ok, "message": message}

    def _browser_command(self, command: Mapping[str, Any]) -> None:
        try:
            message = self._do_browser_command(command)
        except Exception as error:
            self._answer(self.browser, command, False, str(error))
            self._poll()
            return
        if message is not None:
            self._answer(self.browser, command, True, message)

    def _do_browser_command(self, command: Mapping[str, Any]) -> str | None:
        action = command["action"]
        path = str(command.get("path") or "").strip()
        if action == "select":
            self._select(str(PureSequencePath(path)) if path else "")
            return None
        if action == "refresh":
            self._poll()
            return "store read again"
        if action == "cancel":
            self._pending_confirm = {}
            self.browser.confirm = {}
            return "cancelled"
        if action == "confirm":
            return self._confirmed(command)
        if not path:
            raise ValueError(f"{action}: give a path (e.g. /folder/name) in the path box")
        target = PureSequencePath(path.rstrip("/") or "/")
        if action in ("delete", "reset"):
            return self._ask(action, target)
        with self.storage_manager.session() as session:
            if action == "new_folder":
                session.paths.create(target)
                done = f"created folder {target}"
            elif action == "new_sequence":
                iteration, lanes = _default_sequence()
                session.sequences.create(target, iteration, lanes)
                done = f"created draft sequence {target}"
            elif action in ("rename", "duplicate"):
                destination = str(command.get("destination") or "").strip().rstrip("/")
                if not destination:
                    raise ValueError(f"{action}: give the new path in the path box")
                new = PureSequencePath(destination)
                if action == "rename":
                    session.paths.move(target, new)
                    done = f"moved {target} to {new}"
                else:
                    session.sequences.duplicate(target, new)
                    done = f"duplicated {target} as {new}"
            elif action == "set_notes":
                session.sequences.set_notes(target, str(command.get("notes") or ""))
                done = f"notes of {target} saved"
            else:  # pragma: no cover - ACTIONS is checked by the browser
                raise ValueError(f"unknown action {action!r}")
        self._poll()
        if action == "rename" and self._watched.path == str(target):
            self._select(str(PureSequencePath(str(command.get("destination")).rstrip("/"))))
        return done

    def _ask(self, action: str, target: PureSequencePath) -> str:
        stats = self._stats.get(str(target))
        if action == "delete":
            if stats is not None:
                what = f"sequence {target} and its {stats.number_of_shots} shots"
            else:
                inside = [p for p in self._stats if p.startswith(f"{target}/")]
                what = f"folder {target}" + (
                    f" with its {len(inside)} sequence{'s' if len(inside) != 1 else ''}"
                    if inside
                    else ""
                )
            message = f"Delete {what}? This cannot be undone."
        else:
            if stats is None:
                raise ValueError(f"{target} is not a sequence: only sequences can be reset")
            message = f"Reset {target} to draft? Its {stats.number_of_shots} shots will be deleted."
        token = next(self._confirm_tokens)
        self._pending_confirm = {"token": token, "action": action, "path": str(target)}
        self.browser.confirm = {**self._pending_confirm, "message": message}
        return "waiting for confirmation"

    def _confirmed(self, command: Mapping[str, Any]) -> str:
        pending = self._pending_confirm
        if not pending:
            raise ValueError("nothing to confirm")
        token = command.get("token")
        if token is not None and token != pending["token"]:
            raise ValueError("this confirmation is out of date; ask again")
        self._pending_confirm = {}
        self.browser.confirm = {}
        path = pending["path"]
        with self.storage_manager.session() as session:
            if pending["action"] == "delete":
                session.paths.delete(path, delete_sequences=True)
                done = f"deleted {path}"
            else:
                session.sequences.reset_to_draft(path)
                done = f"{path} reset to draft"
        self._failures.pop(path, None)
        self._poll()
        if self._watched.path == path or self._watched.path.startswith(f"{path}/"):
            self._select(path if pending["action"] == "reset" else "", reset=True)
        return done

    def _run_command(self, command: Mapping[str, Any]) -> None:
        action = command["action"]
        control = self.run_control
        try:
            if action == "traceback":
                self._load_traceback(str(command.get("path") or self._watched.path))
                return
            manager = self._get_manager()
            if manager is None:
                raise RuntimeError(
                    "this panel has no experiment manager: configure one on the Experiment "
                    "(configure_experiment_manager) to start sequences"
                )
            if action == "start":
                path = str(command.get("path") or self._watched.path)
                if not path:
                    raise ValueError("select a sequence to start")
                control.status = {
                    "id": command.get("id"),
                    "ok": True,
                    "message": f"starting {path}",
                }
                from shotbook.control import ManagerBusyError  # loaded with any manager

                try:
                    manager.start_sequence(path)
                except ManagerBusyError as error:
                    raise RuntimeError(
                        f"{error.running} is already running: {error.requested} was not "
                        "started (wait for the run to end, or interrupt it)"
                    ) from error
                except Exception as error:
                    to_dict = getattr(error, "to_dict", None)
                    failure = to_dict() if callable(to_dict) else None
                    if isinstance(failure, dict) and "reason" in failure:
                        self._failures[path] = failure
                        if path == self._watched.path:
                            self._show_failure(failure)
                    raise
                self._answer(control, command, True, f"started {path}")
            elif action == "interrupt":
                if manager.interrupt():
                    self._answer(control, command, True, "interrupting at the next shot boundary")
                else:
                    self._answer(control, command, False, "nothing is running")
        except Exception as error:
            self._answer(control, command, False, str(error))

    def _load_traceback(self, path: str) -> None:
        failure = self._failures.get(path)
        text = str(failure.get("remote_traceback") or "") if failure else ""
        if not text and path:
            with self.storage_manager.session() as session:
                text = session.sequences.get_traceback(path) or ""
        self.run_control.traceback = text or "no traceback stored for this sequence"


__all__ = ["ExperimentPanel", "widget_front_end_expected"]
