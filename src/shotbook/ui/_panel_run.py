"""The panel's run control: Start / Interrupt / traceback commands and the state shown.

:class:`RunCommands` answers the run control's commands through the experiment manager,
keeps each sequence's last failure, and writes the state, progress, rate and error of the
shown sequence into the :class:`RunControl` widget (under one lock: the manager's events
thread counts shots too).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from shotbook.session import SequenceStats, State, StorageManager

from ._commands import answer_command
from ._panel_connection import ManagerConnection
from ._run_control import RunControl

if TYPE_CHECKING:
    from shotbook.control import ExperimentManager, SequenceStateChanged


INTERRUPTING = "interrupting at the next shot boundary"
"""The answer to Interrupt, shown until the run ends (marked ``while_running``)."""


class RunCommands:
    """Runs the run control's commands and shows the watched sequence's run in it.

    Args:
        storage_manager: where stored tracebacks are read.
        run_control: the widget shown and answered.
        connection: the experiment manager (created on the first command that needs it).
        watched: the sequence watched now (the default of Start and of the traceback).
    """

    def __init__(
        self,
        storage_manager: StorageManager,
        run_control: RunControl,
        connection: ManagerConnection,
        watched: Callable[[], str],
    ) -> None:
        self._storage_manager = storage_manager
        self._control = run_control
        self._connection = connection
        self._watched = watched
        self._failures: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ commands

    def command(self, command: Mapping[str, Any]) -> None:
        """Perform a ``start``, ``interrupt`` or ``traceback`` command and answer it."""
        action = command["action"]
        control = self._control
        try:
            if action == "traceback":
                self._load_traceback(str(command.get("path") or self._watched()))
                return
            manager = self._connection.get()
            if manager is None:
                raise RuntimeError(
                    "this panel has no experiment manager: configure one on the Experiment "
                    "(configure_experiment_manager) to start sequences"
                )
            if action == "start":
                self._start(manager, command)
            elif action == "interrupt":
                if manager.interrupt():
                    # true only while the run lasts: the front end hides it once it ended
                    control.set_trait(
                        "status",
                        {
                            "id": command.get("id"),
                            "ok": True,
                            "message": INTERRUPTING,
                            "while_running": True,
                        },
                    )
                else:
                    answer_command(control, command, False, "nothing is running")
        except Exception as error:
            answer_command(control, command, False, str(error))

    def _start(self, manager: ExperimentManager, command: Mapping[str, Any]) -> None:
        path = str(command.get("path") or self._watched())
        if not path:
            raise ValueError("select a sequence to start")
        answer_command(self._control, command, True, f"starting {path}")
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
                self.remember_failure(path, failure)
            raise
        answer_command(self._control, command, True, f"started {path}")

    def _load_traceback(self, path: str) -> None:
        failure = self._failures.get(path)
        text = str(failure.get("remote_traceback") or "") if failure else ""
        if not text and path:
            with self._storage_manager.session() as session:
                text = session.sequences.get_traceback(path) or ""
        self._control.traceback = text or "no traceback stored for this sequence"

    def tell(self, ok: bool, message: str) -> None:
        """Show a message that answers no command (a retried shot, a failed analysis)."""
        self._control.status = {"id": None, "ok": ok, "message": message}

    # ------------------------------------------------------------------ failures

    def remember_failure(self, path: str, failure: Mapping[str, Any]) -> None:
        """Keep the last failure of ``path``; show it if ``path`` is watched."""
        self._failures[path] = dict(failure)
        if path == self._watched():
            self._show_failure(failure)

    def forget_failure(self, path: str) -> None:
        """Drop the failure kept for ``path`` (it runs again, was reset or deleted)."""
        self._failures.pop(path, None)

    def _show_failure(self, failure: Mapping[str, Any]) -> None:
        shown = {k: v for k, v in failure.items() if k != "remote_traceback"}
        control = self._control
        with self._lock, control.hold_sync():
            control.error = shown
            control.traceback = ""
            if control.show_traceback:
                control.traceback = str(failure.get("remote_traceback") or "")

    # ------------------------------------------------------------------ state shown

    @property
    def running(self) -> str:
        """The sequence shown as running (``""``: none)."""
        return self._control.running

    def can_start(self, stats: SequenceStats | None) -> bool:
        """Whether Start may run this sequence now: a draft, with a manager, nothing running."""
        if stats is None or stats.state is not State.DRAFT or not self._connection.has_source:
            return False
        return not self._control.running

    def show_selected(self, path: str, stats: SequenceStats | None, seen: int) -> None:
        """Show ``path`` from scratch: its stats (if it is a sequence) and its last problem."""
        control = self._control
        with self._lock, control.hold_sync():
            control.path = path
            control.error = {}
            control.traceback = ""
            control.show_traceback = False
            control.rate = 0.0
            control.eta = -1.0
        if not path or stats is None:
            with self._lock, control.hold_sync():
                control.state = ""
                control.shots = 0
                control.expected = -1
                control.can_start = False
            return
        self.show_stats(stats, seen)
        failure = self._failures.get(path)
        if failure is not None:
            self._show_failure(failure)
        elif stats.state is State.CRASHED:
            control.error = {"path": path, "reason": "the sequence crashed (see the traceback)"}

    def show_stats(self, stats: SequenceStats, seen: int) -> None:
        """Show the state and progress read from the store (``seen``: shots read so far)."""
        control = self._control
        path = str(stats.path)
        with self._lock, control.hold_sync():
            control.path = path
            control.state = stats.state.value
            control.shots = max(stats.number_of_shots, seen if stats.state.is_active() else 0)
            expected = stats.expected_number_of_shots
            control.expected = -1 if expected is None else int(expected)
            control.can_start = self.can_start(stats)
            if not stats.state.is_active():
                control.rate = 0.0
                control.eta = -1.0

    def show_state(
        self, event: SequenceStateChanged, seen: int, stats: SequenceStats | None
    ) -> None:
        """Show the state an event announced for the watched sequence."""
        control = self._control
        with self._lock, control.hold_sync():
            control.state = event.state
            control.shots = max(event.number_of_shots, seen)
            expected = event.expected_number_of_shots
            control.expected = -1 if expected is None else int(expected)
            control.can_start = self.can_start(stats)
            if event.state not in ("preparing", "running"):
                control.rate = 0.0
                control.eta = -1.0

    def count_shot(self, index: int) -> None:
        """Shot ``index`` is stored: count it at once (called on the events thread)."""
        control = self._control
        with self._lock:
            if index + 1 > control.shots:
                control.shots = index + 1

    def show_rate(self, rate: float, shots: int) -> None:
        """Show the shot rate, the shots seen and the time left."""
        control = self._control
        with self._lock, control.hold_sync():
            control.rate = rate
            control.shots = max(control.shots, shots)
            if control.expected >= 0:
                control.eta = max(0.0, (control.expected - shots) / rate)


__all__ = ["RunCommands"]
