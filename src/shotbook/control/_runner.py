"""SequenceRunner: runs one prepared sequence on its own thread.

The flow, once the sequence is PREPARING (see :mod:`._preparation` for what comes before):

1. open the devices (in this process or on device servers), then RUNNING;
2. walk the scan's shots and compile them ahead on worker threads (a bounded window);
3. run the shots strictly in order, retrying those whose failure the retry
   configuration allows;
4. hand each shot's data to the storage thread (a bounded queue), which runs the per-shot
   analyses and writes the shot without holding the next one up;
5. close every device whatever happens, then FINISHED / INTERRUPTED / CRASHED (with the
   traceback stored).

The owner's heartbeat is recorded every few seconds meanwhile. The runner never runs on
the caller's (the kernel's) thread.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shotbook.compile import SequenceCompiler
from shotbook.device import ShotRunner, data_units_of, open_devices
from shotbook.session import (
    InvalidStateTransitionError,
    RunOwner,
    ShotFolders,
    ShotWriter,
    StorageManager,
)
from shotbook.types import ShotParameters

from ._analysis import ShotAnalyses
from ._config import LocalExperimentManagerConfiguration
from ._errors import SequenceFailedError
from ._events import (
    AnalysisFailed,
    ManagerEvent,
    SequenceFailed,
    SequenceStateChanged,
    ShotRetried,
    ShotStored,
)
from ._owners import release_in_process
from ._preparation import RunDependencies, SequenceSnapshot
from ._problems import ProblemTally
from ._retry import ShotRetryConfig
from ._run_notes import RunNote, create_note
from ._status import RunProgress, RunSummary
from ._watchdog import Watchdog, watchdog_threshold

_log = logging.getLogger("shotbook.control")

DeviceParameters = dict[str, Mapping[str, Any]]
"""Each device's compiled shot parameters."""

ATTEMPTS_COLUMN = "shot.attempts"
"""Data column holding how many attempts each shot took."""


def _now() -> datetime:
    return datetime.now(UTC)


_END_RETRY_FIRST_S = 0.2
_END_RETRY_MAX_S = 5.0
"""Retries of a final state the store refused (a full disk): from 0.2 s, doubling, to 5 s."""


def _caused_by(error: BaseException, types: tuple[type[BaseException], ...]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, types):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def shot_timeout(device_parameters: Mapping[str, Mapping[str, Any]], margin: float) -> float:
    """Seconds a shot may take: its longest sequence or camera timeout, plus ``margin``."""
    longest = 0.0
    for parameters in device_parameters.values():
        sequence = parameters.get("sequence")
        time_step = parameters.get("time_step")
        if sequence is not None and isinstance(time_step, int):
            with contextlib.suppress(TypeError):
                longest = max(longest, len(sequence) * time_step * 1e-12)
        timeout = parameters.get("timeout")
        if isinstance(timeout, int | float) and not isinstance(timeout, bool):
            longest = max(longest, float(timeout))
    return longest + margin


SHOT_KEY = "shot_key"
"""A shot parameter a device compiler sets to ``None`` to receive the shot's key (its index
in the scan, e.g. to seed a simulation's noise per shot)."""


def with_shot_key(
    device_parameters: Mapping[str, Mapping[str, Any]], key: int
) -> Mapping[str, Mapping[str, Any]]:
    """``device_parameters`` with each ``shot_key: None`` replaced by ``key``."""
    if not any(
        SHOT_KEY in parameters and parameters[SHOT_KEY] is None
        for parameters in device_parameters.values()
    ):
        return device_parameters
    return {
        name: (
            {**parameters, SHOT_KEY: key}
            if SHOT_KEY in parameters and parameters[SHOT_KEY] is None
            else parameters
        )
        for name, parameters in device_parameters.items()
    }


@dataclass
class _Fault:
    """The first error of a run, with the shot it happened at."""

    error: BaseException
    shot_index: int | None = None
    parameters: ShotParameters | None = None


@dataclass
class _ShotToStore:
    index: int
    parameters: ShotParameters
    data: dict[str, Any]
    start: datetime
    end: datetime
    attempts: int
    scalars: dict[str, float] = field(default_factory=dict)


class _Stop(Exception):
    """Unwinds the shot loop after a fault was recorded."""


class SequenceRunner:
    """Runs one sequence, already PREPARING, on its own thread.

    Created and started by a manager; call :meth:`interrupt` to stop at the next shot
    boundary, :meth:`join` to wait, then read :attr:`summary`. Events go to ``emit``, which
    must not block (an :class:`~._event_bus.EventBus`'s ``publish``).
    """

    def __init__(
        self,
        storage_manager: StorageManager,
        snapshot: SequenceSnapshot,
        dependencies: RunDependencies,
        *,
        configuration: LocalExperimentManagerConfiguration,
        retry: ShotRetryConfig,
        analyses: ShotAnalyses,
        emit: Callable[[ManagerEvent], None],
        on_done: Callable[[SequenceRunner], None] | None = None,
    ) -> None:
        self.storage_manager = storage_manager
        self.snapshot = snapshot
        self.dependencies = dependencies
        self.configuration = configuration
        self.retry = retry
        self.analyses = analyses
        self._emit = emit
        self._on_done = on_done
        self.path = str(snapshot.path)
        self.started = _now()
        self._state = "preparing"
        self._stored = 0
        self._stored_lock = threading.Lock()
        self._interrupt = threading.Event()
        self._interrupted_by: tuple[RunOwner | None, str] | None = None
        self._done = threading.Event()
        self._stop_heartbeat = threading.Event()
        self._fault: _Fault | None = None
        self.problems = ProblemTally()
        self._storage_fault: _Fault | None = None
        self.summary: RunSummary | None = None
        self._task = ("starting", time.monotonic())
        self._storage: _StorageThread | None = None
        self._closing: threading.Thread | None = None
        self._note: RunNote | None = create_note(storage_manager, self.path, RunOwner.current())
        self._unwritten_end: tuple[str, str | None] | None = None
        self._end_written = threading.Event()
        self._stop_retrying = threading.Event()
        self._retrying: threading.Thread | None = None
        self._writer_closed = threading.Event()
        self._note_lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._main, name=f"shotbook-runner {self.path}", daemon=True
        )

    # ------------------------------------------------------------------ control

    def start(self) -> None:
        """Start the run on its own thread."""
        self._thread.start()

    def interrupt(self, requested_by: RunOwner | None = None, detail: str = "") -> None:
        """Stop at the next shot boundary (the shot in progress ends and is stored).

        The first caller (``requested_by``: this process when ``None``) goes in the audit
        log when the sequence is marked INTERRUPTED.
        """
        if self._interrupted_by is None:
            self._interrupted_by = (requested_by, detail)
        self._interrupt.set()

    @property
    def interrupted(self) -> bool:
        """Whether :meth:`interrupt` was called."""
        return self._interrupt.is_set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run to end; True if it has."""
        return self._done.wait(timeout)

    def is_done(self) -> bool:
        """Whether the run has ended (its summary is then set)."""
        return self._done.is_set()

    @property
    def number_of_shots(self) -> int:
        """Shots stored so far."""
        with self._stored_lock:
            return self._stored

    def progress(self) -> RunProgress:
        """Where the run is."""
        return RunProgress(
            self.path,
            self._state,
            self.number_of_shots,
            self.snapshot.expected_number_of_shots,
            self.started,
        )

    def current_task(self) -> tuple[str, float]:
        """What the runner thread is doing, and since when (``time.monotonic()``)."""
        return self._task

    # ------------------------------------------------------------------ helpers

    def _doing(self, task: str) -> None:
        self._task = (task, time.monotonic())

    def _set_state(self, state: str) -> None:
        self._state = state
        self._emit(
            SequenceStateChanged(
                self.path, state, self.number_of_shots, self.snapshot.expected_number_of_shots
            )
        )

    def _record_fault(
        self, error: BaseException, index: int | None = None, parameters: Any = None
    ) -> None:
        if self._fault is None:
            self._fault = _Fault(error, index, parameters)

    # ------------------------------------------------------------------ thread

    def _main(self) -> None:
        threshold = watchdog_threshold()
        watchdog = None
        if threshold is not None:
            watchdog = Watchdog(self.current_task, threshold, f"runner of {self.path}")
            watchdog.start()
        heartbeat = threading.Thread(
            target=self._heartbeat, name=f"shotbook-heartbeat {self.path}", daemon=True
        )
        heartbeat.start()
        try:
            self._run()
        except BaseException as error:  # never let the thread die silently
            self._record_fault(error)
        finally:
            self._stop_heartbeat.set()
            heartbeat.join(10.0)  # no heartbeat after the final state
            self._finish()
            self._close_writer_later()
            if watchdog is not None:
                watchdog.stop()
            self._done.set()
            if self._on_done is not None:
                try:
                    self._on_done(self)
                except Exception:
                    _log.exception("the end-of-run callback failed for %s", self.path)

    def _close_writer_later(self) -> None:
        """Compact the shots after the state is set: they are all durable already.

        A non-daemon thread, so that a script's interpreter waits for it at exit.
        """
        storage = self._storage
        if storage is None:
            self._writer_closed.set()
            self._discard_note_when_done()
            return

        def close() -> None:
            try:
                storage.close_writer()
            finally:
                self._writer_closed.set()
                self._discard_note_when_done()

        self._closing = threading.Thread(target=close, name=f"shotbook-close-writer {self.path}")
        self._closing.start()

    def _note_shot_folder(self) -> None:
        """Write the shot folder into the run note (for the recovery of a killed run)."""
        note = self._note
        if note is None or not isinstance(self.storage_manager, ShotFolders):
            return
        try:
            folder = self.storage_manager.locate_shots(self.snapshot.path)
            if folder is not None:
                note.record_folder(folder)
        except Exception as error:
            _log.warning("%s: could not write its shot folder into its run note: %s",
                         self.path, error)  # fmt: skip

    def _discard_note_when_done(self) -> None:
        """Delete the run note once the end is stored and the final compaction is over."""
        note = self._note
        if note is None or not (self._end_written.is_set() and self._writer_closed.is_set()):
            return
        with self._note_lock:
            if self._note is None:
                return
            self._note = None
        try:
            note.discard()
        except OSError as error:
            _log.warning("%s: could not delete its run note: %s", self.path, error)

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Wait for the end of the run and for the final compaction of its shots."""
        if not self._done.wait(timeout):
            return False
        closing = self._closing
        if closing is not None:
            closing.join(timeout)
            return not closing.is_alive()
        return True

    def _heartbeat(self) -> None:
        interval = self.configuration.heartbeat_interval
        while not self._stop_heartbeat.wait(interval):
            try:
                with self.storage_manager.session() as session:
                    session.sequences.heartbeat(self.snapshot.path)
            except Exception as error:
                _log.warning("heartbeat of %s failed: %s", self.path, error)

    def _run(self) -> None:
        snapshot = self.snapshot
        with contextlib.ExitStack() as devices_stack:
            # compiling the first shots overlaps with opening the devices
            ahead = devices_stack.enter_context(_CompileAhead(self, self._record_fault))
            ahead.fill()
            self._doing("open the devices")
            try:
                devices = devices_stack.enter_context(
                    open_devices(
                        snapshot.device_specs,
                        self.dependencies.registry,
                        self.dependencies.device_servers,
                        timeout=self.configuration.shot_timeout,
                        client_name=f"experiment manager pid {os.getpid()}",
                    )
                )
                shot_runner = devices_stack.enter_context(ShotRunner(devices))
                self._doing("ask the data sources their units")
                data_units = data_units_of(devices)
            except Exception as error:
                self._record_fault(error)
                return
            if self._interrupt.is_set():
                return
            self._doing("start the sequence (RUNNING)")
            with self.storage_manager.session() as session:
                writer = session.sequences.start(snapshot.path)
            self._note_shot_folder()
            self._set_state("running")
            storage = _StorageThread(self, writer, data_units)
            self._storage = storage
            storage.start()
            try:
                self._run_shots(ahead, shot_runner, storage)
            except _Stop:
                pass  # the fault is recorded
            except BaseException as error:
                self._record_fault(error)
            finally:
                self._doing("close the devices")
                try:
                    devices_stack.close()
                except Exception as error:
                    _log.warning("closing the devices of %s failed: %s", self.path, error)
                    self._record_fault(error)
                self._doing("store the last shots")
                storage.stop()
                if self._fault is None and self._storage_fault is not None:
                    self._fault = self._storage_fault

    def _run_shots(
        self, ahead: _CompileAhead, shot_runner: ShotRunner, storage: _StorageThread
    ) -> None:
        while True:
            ahead.fill()
            if self._interrupt.is_set() or storage.failed:
                return
            self._doing(f"compile shot {ahead.next_index}")
            shot = ahead.next()
            if shot is None:
                return  # the end of the scan, or a fault (recorded)
            index, parameters, device_parameters = shot
            start, end, data, attempts = self._run_one(
                shot_runner, index, parameters, device_parameters
            )
            self._doing(f"queue shot {index} for storage")
            storage.put(_ShotToStore(index, parameters, data, start, end, attempts))

    def _run_one(
        self,
        shot_runner: ShotRunner,
        index: int,
        parameters: ShotParameters,
        device_parameters: Mapping[str, Mapping[str, Any]],
    ) -> tuple[datetime, datetime, dict[str, Any], int]:
        timeout = shot_timeout(device_parameters, self.configuration.shot_timeout)
        device_parameters = with_shot_key(device_parameters, index)
        attempt = 1
        while True:
            self._doing(f"run shot {index} (attempt {attempt})")
            start = _now()
            try:
                data = shot_runner.run_shot(device_parameters, timeout)
            except Exception as error:
                retry = self.retry
                if (
                    attempt < retry.number_of_attempts
                    and _caused_by(error, retry.exceptions_to_retry)
                    and not self._interrupt.is_set()
                ):
                    _log.warning(
                        "%s: shot %d failed on attempt %d of %d, retrying: %s",
                        self.path, index, attempt, retry.number_of_attempts, error,
                    )  # fmt: skip
                    self._emit(ShotRetried(self.path, index, attempt, f"{error}"))
                    self.problems.note("retried", index, f"{type(error).__name__}: {error}")
                    attempt += 1
                    continue
                self._record_fault(error, index, parameters)
                raise _Stop from None
            return start, _now(), dict(data), attempt

    def _finish(self) -> None:
        """Set the final state and the summary; never raises."""
        fault = self._fault if self._fault is not None else self._storage_fault
        number = self.number_of_shots
        failure: SequenceFailedError | None = None
        if fault is not None:
            state = "crashed"
            failure = SequenceFailedError.from_exception(
                self.path,
                fault.error,
                shot_index=fault.shot_index,
                parameters=fault.parameters,
                number_of_shots=number,
            )
        elif self._interrupt.is_set():
            state = "interrupted"
        else:
            state = "finished"
        self._doing(f"mark the sequence {state}")
        text = None if failure is None else _stored_traceback(failure)
        try:
            self._write_end(state, text)
        except Exception as error:
            _log.exception("could not mark %s %s", self.path, state.upper())
            if failure is None:
                state = "crashed"
                failure = SequenceFailedError.from_exception(
                    self.path, error, number_of_shots=number
                )
                text = _stored_traceback(failure)
            self._keep_end_for_later(state, text, error)
        else:
            self._end_written.set()
        self.summary = RunSummary(
            self.path,
            state,
            number,
            self.snapshot.expected_number_of_shots,
            self.started,
            _now(),
            failure,
            self.problems.problems(),
        )
        if failure is not None:
            self._emit(SequenceFailed(self.path, failure.to_dict()))
        self._set_state(state)
        self._doing("done")

    def _write_end(self, state: str, text: str | None) -> None:
        with self.storage_manager.session() as session:
            sequences = session.sequences
            if state == "crashed":
                assert text is not None
                sequences.crash(self.snapshot.path, text)
            elif state == "interrupted":
                by, detail = self._interrupted_by or (None, "")
                sequences.interrupt(self.snapshot.path, by, detail)
            else:
                sequences.finish(self.snapshot.path)

    # ------------------------------------------------------------- an end the store refused

    @property
    def end_pending(self) -> bool:
        """Whether the final state is still to be written to the store (being retried)."""
        return not self._end_written.is_set()

    def _keep_end_for_later(self, state: str, text: str | None, error: BaseException) -> None:
        """The store refused the final state: note it on disk, retry it from memory."""
        self._unwritten_end = (state, text)
        if self._note is not None and text is not None:
            try:
                self._note.record(text)
            except OSError as note_error:
                _log.warning("%s: could not write the run note %s: %s",
                             self.path, self._note.file, note_error)  # fmt: skip
        _log.warning("%s: its end (%s) is kept and written once the store takes it: %s",
                     self.path, state.upper(), error)  # fmt: skip
        self._retrying = threading.Thread(
            target=self._retry_end, name=f"shotbook-retry-end {self.path}", daemon=True
        )
        self._retrying.start()

    def _retry_end(self) -> None:
        delay = _END_RETRY_FIRST_S
        while not self._stop_retrying.wait(delay):
            if self._try_end_again():
                return
            delay = min(delay * 2, _END_RETRY_MAX_S)
        self._try_end_again()  # once more when the manager closes
        release_in_process(self.path)  # the next manager takes it from here (the note)

    def _try_end_again(self) -> bool:
        """Write the kept end; True when done (written, or another manager ended the run)."""
        if self._end_written.is_set():
            return True
        assert self._unwritten_end is not None
        state, text = self._unwritten_end
        try:
            self._write_end(state, text)
        except InvalidStateTransitionError as error:
            _log.warning("%s: not writing its end, it was ended meanwhile: %s", self.path, error)
        except Exception as error:
            _log.debug("%s: writing its end failed again: %s", self.path, error)
            return False
        else:
            _log.warning("%s: its end (%s) is written now", self.path, state.upper())
        self._end_written.set()
        self._discard_note_when_done()
        release_in_process(self.path)
        return True

    def stop_retrying(self, timeout: float | None = 30.0) -> None:
        """Try the kept end once more, then leave it to the next manager (the run note).

        Waits (at most ``timeout`` s) for that last try.
        """
        self._stop_retrying.set()
        retrying = self._retrying
        if retrying is not None:
            retrying.join(timeout)


def _stored_traceback(failure: SequenceFailedError) -> str:
    return f"{failure}\n\n{failure.remote_traceback}".rstrip() + "\n"


class _NumberedShots(Iterator[tuple[int, ShotParameters]]):
    def __init__(self, shots: Iterator[ShotParameters]) -> None:
        self._shots = shots
        self.next_index = 0

    def __next__(self) -> tuple[int, ShotParameters]:
        parameters = next(self._shots)
        index = self.next_index
        self.next_index += 1
        return index, parameters


def _numbered(shots: Iterator[ShotParameters]) -> _NumberedShots:
    return _NumberedShots(shots)


class _CompileAhead:
    """Walks the scan and compiles up to ``compile_ahead`` shots ahead on worker threads.

    Each worker thread has its own :class:`SequenceCompiler`, so compilers never share
    state between threads. Shots come out strictly in order.
    """

    def __init__(
        self,
        runner: SequenceRunner,
        record_fault: Callable[[BaseException, int | None, ShotParameters | None], None],
    ) -> None:
        self._runner = runner
        self._record_fault = record_fault  # the runner's: the first fault ends the run
        snapshot = runner.snapshot
        self._size = runner.configuration.compile_ahead
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(
            runner.configuration.compile_workers, thread_name_prefix="shotbook-compile"
        )
        self._window: deque[tuple[int, ShotParameters, Future[DeviceParameters]]] = deque()
        self._walk_fault: _Fault | None = None
        self._exhausted = False
        try:
            plan = snapshot.iteration.compile(snapshot.global_parameters)
            self._shots = _numbered(plan.walk())
        except Exception as error:  # checked before the run: only if the store changed
            self._walk_fault = _Fault(error, 0, None)
            self._exhausted = True
            self._shots = _numbered(iter(()))

    @property
    def next_index(self) -> int:
        """The index of the next shot to come out."""
        return self._window[0][0] if self._window else self._shots.next_index

    def _compile(self, parameters: ShotParameters) -> DeviceParameters:
        compiler = getattr(self._local, "compiler", None)
        if compiler is None:
            snapshot = self._runner.snapshot
            compiler = self._local.compiler = SequenceCompiler(
                snapshot.time_lanes,
                snapshot.device_configurations,
                compilers=self._runner.dependencies.compilers,
            )
        return compiler.compile_shot(parameters)

    def fill(self) -> None:
        """Walk the scan until the window of compiling shots is full."""
        while not self._exhausted and len(self._window) < self._size:
            try:
                index, parameters = next(self._shots)
            except StopIteration:
                self._exhausted = True
                return
            except Exception as error:  # a value-dependent error of the scan itself
                self._walk_fault = _Fault(error, self._shots.next_index, None)
                self._exhausted = True
                return
            future = self._pool.submit(self._compile, parameters)
            self._window.append((index, parameters, future))

    def next(self) -> tuple[int, ShotParameters, DeviceParameters] | None:
        """The next compiled shot, or ``None`` at the end (a fault is then recorded)."""
        if not self._window:
            fault = self._walk_fault
            if fault is not None:
                self._record_fault(fault.error, fault.shot_index, fault.parameters)
            return None
        index, parameters, future = self._window.popleft()
        try:
            return index, parameters, future.result()
        except Exception as error:
            self._record_fault(error, index, parameters)
            return None

    def __enter__(self) -> _CompileAhead:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for _, _, future in self._window:
            future.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Stage:
    """One thread of the shot pipeline, fed through a bounded queue."""

    def __init__(self, name: str, size: int, work: Callable[[_ShotToStore], None]) -> None:
        self._queue: queue.Queue[_ShotToStore | None] = queue.Queue(size)
        self._work = work
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.stopped = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def put(self, item: _ShotToStore, give_up: Callable[[], bool]) -> None:
        """Queue an item, waiting while the queue is full, unless ``give_up()``."""
        while not give_up():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def stop(self) -> None:
        """Process what is queued, then stop the thread."""
        while self._thread.is_alive():
            try:
                self._queue.put(None, timeout=0.1)
                break
            except queue.Full:
                continue
        self._thread.join()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._work(item)


class _StorageThread:
    """The shots' way to the store, off the runner's thread: one thread runs the per-shot
    analyses, another writes each shot (so that neither holds the next shot up)."""

    def __init__(
        self, runner: SequenceRunner, writer: ShotWriter, data_units: Mapping[str, str]
    ) -> None:
        self._runner = runner
        self._writer = writer
        self._data_units = dict(data_units)
        size = runner.configuration.storage_queue_size
        self._write_stage = _Stage(f"shotbook-storage {runner.path}", size, self._write)
        self._analysis_stage: _Stage | None = None
        if runner.analyses:
            self._analysis_stage = _Stage(f"shotbook-analysis {runner.path}", size, self._analyse)
        self.failed = False

    def start(self) -> None:
        self._write_stage.start()
        if self._analysis_stage is not None:
            self._analysis_stage.start()

    def put(self, item: _ShotToStore) -> None:
        """Queue a shot; waits while the queue is full (storage slower than shots)."""
        first = self._analysis_stage or self._write_stage
        first.put(item, lambda: self.failed)

    def stop(self) -> None:
        """Analyse and store what is queued, then stop the threads (the writer stays open)."""
        if self._analysis_stage is not None:
            self._analysis_stage.stop()
        self._write_stage.stop()

    def _analyse(self, item: _ShotToStore) -> None:
        runner = self._runner
        if self.failed:
            return
        try:
            results = runner.analyses.run(item.data, item.parameters)
        except BaseException as error:  # pragma: no cover - analyses catch their own errors
            self._fail(error, item)
            return
        for name, text in results.errors.items():
            _log.warning("%s: analysis %r failed on shot %d: %s",
                         runner.path, name, item.index, text)  # fmt: skip
            runner._emit(AnalysisFailed(runner.path, item.index, name, text))
            runner.problems.note(f"analysis {name!r} failed", item.index, text)
        item.data.update(results.values)
        item.scalars = {k: v for k, v in results.scalars().items() if not math.isnan(v)}
        self._write_stage.put(item, lambda: self.failed)

    def _write(self, item: _ShotToStore) -> None:
        runner = self._runner
        if self.failed:
            return  # drain without storing after a write error
        item.data[ATTEMPTS_COLUMN] = item.attempts
        try:
            self._writer.write_shot(
                item.index,
                item.parameters,
                item.data,
                item.start,
                item.end,
                data_units=self._data_units,
            )
        except BaseException as error:
            self._fail(error, item)
            return
        with runner._stored_lock:
            runner._stored += 1
        runner._emit(
            ShotStored(runner.path, item.index, item.start, item.end, item.attempts, item.scalars)
        )

    def _fail(self, error: BaseException, item: _ShotToStore) -> None:
        runner = self._runner
        self.failed = True
        if runner._storage_fault is None:
            runner._storage_fault = _Fault(error, item.index, item.parameters)
        _log.error("%s: storing shot %d failed: %s", runner.path, item.index, error)

    def close_writer(self) -> None:
        """Close the writer (final compaction); errors are logged, the shots are kept."""
        try:
            self._writer.close()
        except Exception:
            _log.exception(
                "%s: the final compaction failed; the shots stay stored uncompacted",
                self._runner.path,
            )


__all__ = ["ATTEMPTS_COLUMN", "SequenceRunner", "shot_timeout"]
