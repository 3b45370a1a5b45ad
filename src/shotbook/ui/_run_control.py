"""Run control: start and interrupt, state and progress, the last error and its traceback."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

from ._commands import command_of_message, dispatch_command
from ._front_end import front_end_module

_HERE = pathlib.Path(__file__).parent

RUN_ACTIONS = ("start", "interrupt", "traceback")
"""What the run control's front end may ask, in ``command["action"]``."""


def progress_text(shots: int, expected: int | None) -> str:
    """``"12 / 200 shots"`` (``"12 shots"`` when the total is not known).

    >>> progress_text(8, 8), progress_text(1, None)
    ('8 / 8 shots', '1 shot')
    """
    if expected is None or expected < 0:
        return f"{shots} shot{'' if shots == 1 else 's'}"
    return f"{shots} / {expected} shots"


class RunControl(anywidget.AnyWidget):
    """Start / Interrupt buttons, the state and progress of a sequence, its last error.

    ``path`` is the sequence shown (the running one, else the selected one); ``shots`` /
    ``expected`` (-1: unknown), ``rate`` (shots/s) and ``eta`` (s, -1: unknown) its
    progress. ``error`` describes the last failure (shot, location, reason); the front end
    sets ``show_traceback`` to see ``traceback``. Buttons write ``command``
    (``{"id": n, "action": "start" | "interrupt" | "traceback", "path": ...}``) and the owner
    answers in ``status``.

    >>> control = RunControl(path="/scans/a", state="running", shots=3, expected=10)
    >>> control.progress
    '3 / 10 shots'
    """

    _esm = front_end_module(_HERE / "_run_control.js")
    _css = _HERE / "_panel.css"

    path = traitlets.Unicode("").tag(sync=True)
    state = traitlets.Unicode("").tag(sync=True)
    running = traitlets.Unicode("").tag(sync=True)
    shots = traitlets.Int(0).tag(sync=True)
    expected = traitlets.Int(-1).tag(sync=True)
    rate = traitlets.Float(0.0).tag(sync=True)
    eta = traitlets.Float(-1.0).tag(sync=True)
    error = traitlets.Dict().tag(sync=True)
    traceback = traitlets.Unicode("").tag(sync=True)
    show_traceback = traitlets.Bool(False).tag(sync=True)
    command = traitlets.Dict().tag(sync=True)
    status = traitlets.Dict().tag(sync=True)
    can_start = traitlets.Bool(False).tag(sync=True)
    start_blocked = traitlets.Unicode("").tag(sync=True)
    """Why Start is refused now (shown beside it; ``""``: not blocked): the open sequence's
    editors report problems. A start command received meanwhile is answered, not run."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._handlers: list[Callable[[dict[str, Any]], None]] = []
        self.on_msg(self._custom_message)

    @property
    def progress(self) -> str:
        """The progress as shown: ``"12 / 200 shots"``."""
        return progress_text(self.shots, None if self.expected < 0 else self.expected)

    def on_command(self, handler: Callable[[dict[str, Any]], None]) -> None:
        """Call ``handler(command)`` for each command written by the front end."""
        self._handlers.append(handler)

    @traitlets.observe("command")
    def _command_changed(self, change: dict[str, Any]) -> None:
        command = dict(change["new"] or {})
        if not self._refused(command):
            dispatch_command(self, command, RUN_ACTIONS, self._handlers)

    def _custom_message(self, _: Any, content: Any, buffers: Any) -> None:
        command = command_of_message(content)
        if command is not None and not self._refused(command):
            dispatch_command(self, command, RUN_ACTIONS, self._handlers)

    def _refused(self, command: dict[str, Any]) -> bool:
        """Answer a start while ``start_blocked`` says why not (a click sent before it was)."""
        if command.get("action") != "start" or not self.start_blocked:
            return False
        self.status = {
            "id": command.get("id"),
            "ok": False,
            "message": f"not started: {self.start_blocked}",
        }
        return True

    @traitlets.observe("show_traceback")
    def _traceback_wanted(self, change: dict[str, Any]) -> None:
        if change["new"] and not self.traceback:
            for handler in self._handlers:
                handler({"id": None, "action": "traceback", "path": self.path})


__all__ = ["RUN_ACTIONS", "RunControl", "progress_text"]
