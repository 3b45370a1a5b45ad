"""Experiment managers: what runs sequences, one at a time, for a notebook or a server.

:class:`LocalExperimentManager` runs sequences in this process (on their own thread);
:class:`~._remote.RemoteExperimentManager` asks an experiment server to. Both offer the
same calls, described by the :class:`ExperimentManager` protocol.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Protocol, runtime_checkable

from shotbook.compile import CompilerFactory
from shotbook.registry import TypeRegistry
from shotbook.rpc import StopSignals
from shotbook.session import RunOwner, State, StorageManager
from shotbook.types import PureSequencePath, as_path

from ._analysis import AnalysisFunction, ShotAnalyses
from ._config import LocalExperimentManagerConfiguration
from ._errors import ManagerBusyError, ManagerClosedError, SequenceFailedError
from ._event_bus import EventBus, EventCallback, EventStream, Subscription
from ._events import SequenceFailed, SequenceStateChanged
from ._owners import claim_in_process, mark_abandoned_sequences, release_in_process
from ._preparation import RunDependencies, check_before_run, read_sequence
from ._progress import make_progress
from ._retry import ShotRetryConfig
from ._runner import SequenceRunner
from ._status import RunProgress, RunSummary

if TYPE_CHECKING:
    from shotbook.device.remote import ClientRPCConfiguration

_log = logging.getLogger("shotbook.control")


@runtime_checkable
class ExperimentManager(Protocol):
    """Runs sequences, one at a time: the same calls in-process and through a server.

    Example::

        summary = manager.run_sequence("/scans/wait time")      # blocks, with a progress bar
        manager.start_sequence("/scans/other")                  # returns once PREPARING
        manager.current()                                       # path, state, shots stored
        manager.interrupt(); manager.wait()
        with manager.events() as events:
            for event in events: ...
    """

    def start_sequence(self, path: PureSequencePath | str) -> None:
        """Check the sequence and start running it; return once it is PREPARING.

        Raises :class:`SequenceFailedError` (the sequence stays DRAFT) when a check fails,
        :class:`ManagerBusyError` when a sequence is running.
        """
        ...

    def run_sequence(
        self, path: PureSequencePath | str, wait: bool = True, *, progress: bool = True
    ) -> RunSummary | None:
        """Run a sequence; with ``wait``, block until it ends and return its summary.

        Raises :class:`SequenceFailedError` if it fails. Ctrl-C (the kernel's interrupt)
        stops it at the next shot boundary, prints one line and returns the summary of the
        INTERRUPTED sequence.
        """
        ...

    def interrupt(self) -> bool:
        """Ask the running sequence to stop at the next shot boundary; False if none runs."""
        ...

    def is_running(self) -> bool:
        """Whether a sequence is being run."""
        ...

    def current(self) -> RunProgress | None:
        """The sequence being run and its progress, or ``None``."""
        ...

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no sequence runs (at most ``timeout`` s); True if none runs then."""
        ...

    def last_run(self) -> RunSummary | None:
        """How the last run that ended went, or ``None``."""
        ...

    def subscribe(self, callback: EventCallback) -> Subscription:
        """Call ``callback(event)`` for each event from now on (from another thread)."""
        ...

    def events(self) -> EventStream:
        """An iterator over events from now on (use it in a ``with`` block)."""
        ...

    def close(self) -> None:
        """Stop: interrupt a running sequence, wait for it, release resources."""
        ...


def wait_with_progress(
    manager: ExperimentManager,
    path: str,
    *,
    progress: bool,
    stream: IO[str] | None = None,
    poll: float = 0.1,
) -> RunSummary:
    """Wait for ``manager``'s run of ``path`` to end, showing progress; handle Ctrl-C.

    Ctrl-C interrupts the run, waits for it to stop at the next shot boundary and prints
    one line (``Interrupted /path after 12 / 200 shots``); a second Ctrl-C stops waiting
    (the run still stops in the background). Ctrl-C (a notebook's interrupt) only sets a
    flag while this waits, in the main thread: a ``KeyboardInterrupt`` raised inside the
    manager's lock or condition could leave the lock held, and the kernel hung.
    """
    display = None
    out = stream if stream is not None else sys.stdout
    if progress:
        status = manager.current()
        expected = None if status is None else status.expected_number_of_shots
        display = make_progress(path, expected, stream)
    interrupted = False
    with StopSignals((signal.SIGINT,), force_after=None) as presses:
        try:
            while not (interrupted := bool(presses.received)):
                if manager.wait(poll):
                    break  # ended by itself: a Ctrl-C from now on comes too late to matter
                if progress:
                    status = manager.current()
                    if status is not None and status.path == path:
                        if display is None:
                            display = make_progress(path, status.expected_number_of_shots, stream)
                        display.update(
                            status.number_of_shots, status.expected_number_of_shots, status.state
                        )
            if interrupted:
                manager.interrupt()
                while not manager.wait(poll):
                    if len(presses.received) > 1:
                        print(
                            f"Stopping {path} in the background (interrupted twice)",
                            file=out,
                            flush=True,
                        )
                        return RunSummary(path, "interrupting", 0, None, None, None)
        finally:
            if display is not None:
                summary = manager.last_run()
                if summary is not None:
                    display.update(
                        summary.number_of_shots, summary.expected_number_of_shots, summary.state
                    )
                display.close()
    summary = manager.last_run()
    if summary is None or summary.path != path:
        if interrupted:
            return RunSummary(path, "interrupted", 0, None, None, None)
        raise RuntimeError(f"the run of {path} ended but the manager has no summary of it")
    if interrupted:
        total = summary.expected_number_of_shots
        print(
            f"Interrupted {path} after {summary.number_of_shots} / "
            f"{'?' if total is None else total} shots",
            file=out,
            flush=True,
        )
    _print_problems(summary, out)
    summary.raise_for_failure()
    return summary


def _print_problems(summary: RunSummary, out: IO[str]) -> None:
    """Say what went wrong on some shots without stopping the run (failed analyses, ...)."""
    for problem in summary.problems:
        print(f"{summary.path}: {problem}", file=out, flush=True)


class LocalExperimentManager:
    """Runs sequences in this process, each on its own thread, one at a time.

    At creation it marks CRASHED the running sequences of the store whose owner is gone
    (same host and dead pid, or a heartbeat older than ``configuration.stale_after``), with
    the reason its run ended when the store could not take it then (a full disk: see
    :mod:`._run_notes`), and removes the temporary files their writers left.

    Args:
        storage_manager: the store (a :class:`shotbook.session.StorageManager`).
        registry: the types known to devices and device servers (device classes by tag).
        device_servers: how to reach each device server, by name
            (``{"lab-pc-2": InsecureRPCConfiguration("lab-pc-2", 5560)}``).
        shot_retry_config: which shot failures are retried.
        analyses: per-shot analyses ``{name: function(data, parameters)}``.
        configuration: tuning (compile-ahead window, queues, heartbeat, timeouts).
        compilers: extra compilers by device configuration type (extensions).
        device_classes: the device class tag of each configuration type, for configuration
            classes without a ``device_type`` attribute.

    Example::

        manager = LocalExperimentManager(storage, registry, analyses={"atoms": count})
        manager.run_sequence("/scans/wait time")
    """

    def __init__(
        self,
        storage_manager: StorageManager,
        registry: TypeRegistry,
        *,
        device_servers: Mapping[str, ClientRPCConfiguration] | None = None,
        shot_retry_config: ShotRetryConfig | None = None,
        analyses: Mapping[str, AnalysisFunction] | None = None,
        configuration: LocalExperimentManagerConfiguration | None = None,
        compilers: Mapping[type, CompilerFactory] | None = None,
        device_classes: Mapping[type, str] | None = None,
    ) -> None:
        self.storage_manager = storage_manager
        self.configuration = configuration or LocalExperimentManagerConfiguration()
        self.shot_retry_config = shot_retry_config or ShotRetryConfig()
        self._analyses = dict(analyses or {})
        ShotAnalyses(self._analyses)  # validate names now
        self.dependencies = RunDependencies(
            registry,
            dict(device_servers or {}),
            dict(compilers or {}),
            dict(device_classes or {}),
        )
        self._bus = EventBus()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._runner: SequenceRunner | None = None
        self._starting: str | None = None
        self._last: RunSummary | None = None
        self._ended: list[SequenceRunner] = []
        self._closed = False
        self.recovered = mark_abandoned_sequences(storage_manager, self.configuration.stale_after)

    @property
    def analyses(self) -> Mapping[str, AnalysisFunction]:
        """The per-shot analyses the next runs apply, by name."""
        with self._lock:
            return dict(self._analyses)

    def add_analysis(self, name: str, function: AnalysisFunction) -> None:
        """Apply ``function`` to the shots of the runs started from now on (replacing an
        analysis of the same name); a run under way keeps the analyses it started with."""
        ShotAnalyses({name: function})  # validate the name now
        with self._lock:
            self._analyses[name] = function

    # ------------------------------------------------------------------ runs

    def start_sequence(self, path: PureSequencePath | str) -> None:
        """Check ``path`` and start running it; return once it is PREPARING.

        Raises:
            SequenceFailedError: a check failed (the sequence is left DRAFT, nothing ran).
            ManagerBusyError: a sequence is already running.
        """
        path = as_path(path)
        text = str(path)
        with self._lock:
            if self._closed:
                raise ManagerClosedError("this experiment manager is closed")
            busy = self._starting or (self._runner.path if self._runner is not None else None)
            if busy is not None:
                raise ManagerBusyError(text, busy)
            self._starting = text
        try:
            runner = self._prepare(path)
        except BaseException:
            with self._lock:
                self._starting = None
                self._idle.notify_all()
            raise
        with self._lock:
            self._starting = None
            self._runner = runner
        runner.start()

    def _prepare(self, path: PureSequencePath) -> SequenceRunner:
        text = str(path)
        # one catalog transaction (one opening of the catalog): read, check, then
        # DRAFT -> PREPARING, with nothing changing the sequence in between
        with self.storage_manager.session() as session, session.transaction():
            state = session.sequences.get_state(path)
            if state is not State.DRAFT:
                raise SequenceFailedError(
                    text,
                    f"it is {state}, and only a DRAFT sequence can run; reset it to draft or "
                    "duplicate it to run it again",
                    state=state.value,
                )
            iteration, time_lanes, global_parameters, configurations = read_sequence(session, path)
            try:
                snapshot = check_before_run(
                    path,
                    iteration,
                    time_lanes,
                    global_parameters,
                    configurations,
                    self.dependencies,
                    self.configuration.server_ping_timeout,
                )
            except SequenceFailedError as error:
                self._bus.publish(SequenceFailed(text, error.to_dict()))
                raise
            session.sequences.prepare(
                path,
                global_parameters,
                configurations,
                RunOwner.current(),
                snapshot.expected_number_of_shots,
            )
        claim_in_process(text)
        self._bus.publish(
            SequenceStateChanged(text, "preparing", 0, snapshot.expected_number_of_shots)
        )
        return SequenceRunner(
            self.storage_manager,
            snapshot,
            self.dependencies,
            configuration=self.configuration,
            retry=self.shot_retry_config,
            analyses=ShotAnalyses(self._analyses),
            emit=self._bus.publish,
            on_done=self._run_done,
        )

    def _run_done(self, runner: SequenceRunner) -> None:
        if not runner.end_pending:  # else the runner releases it once its end is written
            release_in_process(runner.path)
        with self._lock:
            self._ended = [r for r in self._ended if not r.wait_closed(0)]
            self._ended.append(runner)
            if runner.summary is not None:
                self._last = runner.summary
            if self._runner is runner:
                self._runner = None
            self._idle.notify_all()

    def run_sequence(
        self,
        path: PureSequencePath | str,
        wait: bool = True,
        *,
        progress: bool = True,
        stream: IO[str] | None = None,
    ) -> RunSummary | None:
        """Run ``path``; with ``wait`` (default) block until it ends and return its summary.

        Raises :class:`SequenceFailedError` when a check refuses it (it stays DRAFT) or when
        it crashes (it is CRASHED, the shots before the fault are stored; the error names
        the shot, its parameters and where). Ctrl-C (Jupyter's stop button) stops it at the
        next shot boundary, prints ``Interrupted /path after 12 / 200 shots`` and returns
        the summary (state ``"interrupted"``) without raising. ``progress`` shows a progress
        bar (a widget in Jupyter, text in a terminal, plain lines otherwise).
        """
        text = str(as_path(path))
        self.start_sequence(text)
        if not wait:
            return None
        return wait_with_progress(self, text, progress=progress, stream=stream)

    def interrupt(self, requested_by: RunOwner | None = None, detail: str = "") -> bool:
        """Ask the running sequence to stop at the next shot boundary; False if none runs.

        The store's audit log records who asked: ``requested_by`` (the experiment server
        passes its client's host and pid), else this process.
        """
        with self._lock:
            runner = self._runner
        if runner is None:
            return False
        runner.interrupt(requested_by, detail)
        return True

    def is_running(self) -> bool:
        """Whether a sequence is being started or run."""
        with self._lock:
            return self._runner is not None or self._starting is not None

    def current(self) -> RunProgress | None:
        """The sequence being run and its progress, or ``None``."""
        with self._lock:
            runner = self._runner
        return None if runner is None else runner.progress()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no sequence runs (at most ``timeout`` s); True if none runs then."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._runner is not None or self._starting is not None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining if remaining is not None else 0.5)
            return True

    def last_run(self) -> RunSummary | None:
        """How the last run that ended went, or ``None`` before any."""
        with self._lock:
            return self._last

    # ------------------------------------------------------------------ events

    def subscribe(self, callback: EventCallback) -> Subscription:
        """Call ``callback(event)`` from the events thread for each event from now on.

        The callback must be quick; one that raises is logged and stays subscribed.
        """
        return self._bus.subscribe(callback)

    def events(self) -> EventStream:
        """An iterator over events from now on (close it, or use a ``with`` block)."""
        return EventStream(self._bus.subscribe)

    def flush_events(self, timeout: float = 5.0) -> bool:
        """Wait until the events published so far reached the subscribers."""
        return self._bus.flush(timeout)

    # ------------------------------------------------------------------ end

    def close(self, timeout: float | None = 60.0) -> None:
        """Interrupt a running sequence, wait for it and for the final compaction of the runs'
        shots (at most ``timeout`` s each), stop the events."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.interrupt(detail="the experiment manager was closed")
        if not self.wait(timeout):
            _log.warning("closing the experiment manager while a sequence is still stopping")
        with self._lock:
            ended = list(self._ended)
        for runner in ended:
            runner.wait_closed(timeout)
            runner.stop_retrying(timeout)  # an end the store still refuses: left to the note
        self._bus.close()

    def __enter__(self) -> LocalExperimentManager:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        status = self.current()
        what = "idle" if status is None else f"running {status.path}"
        return f"<LocalExperimentManager {what}>"


__all__ = ["ExperimentManager", "LocalExperimentManager", "wait_with_progress"]
