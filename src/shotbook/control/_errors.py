"""Errors of running sequences: a failed run, a busy manager.

Both travel between an experiment server and its clients as plain data
(:meth:`to_dict` / :meth:`from_dict`), never as pickles.

>>> error = ManagerBusyError("/scans/b", "/scans/a")
>>> print(error)
cannot start /scans/b: the experiment manager is running /scans/a; wait for it to end or \
interrupt it first
>>> ManagerBusyError.from_dict(error.to_dict()).running
'/scans/a'
"""

from __future__ import annotations

import traceback as traceback_module
from collections.abc import Mapping
from typing import Any


class ControlError(Exception):
    """Base of the errors raised by :mod:`shotbook.control`."""


def _format_parameters(parameters: Mapping[str, Any]) -> str:
    text = str(parameters) if not isinstance(parameters, dict) else _dict_text(parameters)
    return text if len(text) <= 2000 else text[:1997] + "..."


def _dict_text(parameters: Mapping[str, Any]) -> str:
    return ", ".join(f"{name} = {value}" for name, value in parameters.items())


def location_of(error: BaseException) -> str | None:
    """Where an error points to: ``device 'x', channel 'y', lane 'z', step 'w'``, if it says.

    Reads the ``device``, ``channel``, ``lane``, ``step`` attributes that
    compilation errors carry (and ``device``/``step`` of device errors).
    """
    inner = getattr(error, "errors", None)
    if isinstance(inner, tuple | list) and len(inner) == 1 and isinstance(inner[0], BaseException):
        error = inner[0]
    parts = []
    for kind in ("device", "channel", "lane", "step"):
        value = getattr(error, kind, None)
        if isinstance(value, str) and value:
            parts.append(f"{kind} {value!r}")
    expression = getattr(error, "expression", None)
    if isinstance(expression, str) and expression:
        parts.append(f"expression {expression!r}")
    return ", ".join(parts) or None


class SequenceFailedError(ControlError):
    """A sequence could not run, or crashed while running.

    ``shot_index`` is ``None`` when the sequence failed before its first shot (a static
    check, an unreachable device server, a device that would not open); otherwise it is
    the shot at fault, and the shots before it are stored.

    Attributes:
        path: the sequence path (text).
        shot_index: the shot at fault, or ``None``.
        parameters: that shot's parameters (display values by name), or ``None``.
        location: where the fault is (device, channel, lane, step, expression), if known.
        error_type: the qualified name of the original exception type.
        reason: the original error message.
        remote_traceback: the traceback text of the original error (as stored with the
            sequence). Locally, the original exception is also ``__cause__``.
        number_of_shots: shots stored before the failure.
        state: the state the sequence ended in (``"crashed"``), or ``"draft"`` when a
            check refused it before anything was stored.

    Example::

        try:
            manager.run_sequence("/scans/wait time")
        except SequenceFailedError as error:
            print(error.shot_index, error.parameters, error.location)
    """

    def __init__(
        self,
        path: str,
        reason: str,
        *,
        shot_index: int | None = None,
        parameters: Mapping[str, Any] | None = None,
        location: str | None = None,
        error_type: str = "",
        remote_traceback: str = "",
        number_of_shots: int = 0,
        state: str = "crashed",
    ) -> None:
        self.path = str(path)
        self.reason = reason
        self.shot_index = shot_index
        self.parameters = parameters
        self.location = location
        self.error_type = error_type
        self.remote_traceback = remote_traceback
        self.number_of_shots = number_of_shots
        self.state = state
        super().__init__(self._message())

    def _message(self) -> str:
        if self.shot_index is None:
            head = f"sequence {self.path} could not start"
        else:
            head = (
                f"sequence {self.path} crashed at shot {self.shot_index} "
                f"({self.number_of_shots} shot{'s' if self.number_of_shots != 1 else ''} stored)"
            )
        kind = f"{self.error_type}: " if self.error_type else ""
        lines = [f"{head}: {kind}{self.reason}"]
        if self.location and self.location not in self.reason:
            lines.append(f"  at: {self.location}")
        if self.parameters is not None and "shot parameters:" not in self.reason:
            lines.append(f"  shot parameters: {_format_parameters(self.parameters) or '(none)'}")
        return "\n".join(lines)

    @classmethod
    def from_exception(
        cls,
        path: str,
        error: BaseException,
        *,
        shot_index: int | None = None,
        parameters: Mapping[str, Any] | None = None,
        number_of_shots: int = 0,
        state: str = "crashed",
    ) -> SequenceFailedError:
        """Wrap ``error`` (kept as ``__cause__``) with where it happened."""
        if isinstance(error, SequenceFailedError):
            return error
        name = type(error).__qualname__
        reason = str(error) or repr(error)
        text = "".join(traceback_module.format_exception(error))
        remote = getattr(error, "remote_traceback", None)
        if isinstance(remote, str) and remote:
            text += "\n--- remote traceback ---\n" + remote
        failed = cls(
            path,
            reason,
            shot_index=shot_index,
            parameters=parameters,
            location=location_of(error),
            error_type=name,
            remote_traceback=text,
            number_of_shots=number_of_shots,
            state=state,
        )
        failed.__cause__ = error
        return failed

    def to_dict(self) -> dict[str, Any]:
        """Plain data (msgpack/JSON-able) describing the failure."""
        parameters = None
        if self.parameters is not None:
            parameters = {str(k): _plain(v) for k, v in _display_values(self.parameters).items()}
        return {
            "path": self.path,
            "reason": self.reason,
            "shot_index": self.shot_index,
            "parameters": parameters,
            "location": self.location,
            "error_type": self.error_type,
            "remote_traceback": self.remote_traceback,
            "number_of_shots": self.number_of_shots,
            "state": self.state,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SequenceFailedError:
        """Rebuild the error from :meth:`to_dict` data."""
        return cls(
            str(data["path"]),
            str(data["reason"]),
            shot_index=data.get("shot_index"),
            parameters=data.get("parameters"),
            location=data.get("location"),
            error_type=str(data.get("error_type") or ""),
            remote_traceback=str(data.get("remote_traceback") or ""),
            number_of_shots=int(data.get("number_of_shots") or 0),
            state=str(data.get("state") or "crashed"),
        )


def _display_values(parameters: Mapping[str, Any]) -> Mapping[str, Any]:
    display = getattr(parameters, "display_values", None)
    if callable(display):
        values: Mapping[str, Any] = display()
        units = getattr(parameters, "units", {})
        return {
            name: f"{value:.6g} {units[name].symbol}"
            if isinstance(value, float) and units.get(name) is not None
            else value
            for name, value in values.items()
        }
    return parameters


def _plain(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


class ManagerBusyError(ControlError):
    """The experiment manager already runs a sequence (one at a time).

    Attributes:
        requested: the sequence that was refused.
        running: the sequence being run.
    """

    def __init__(self, requested: str, running: str) -> None:
        self.requested = str(requested)
        self.running = str(running)
        super().__init__(
            f"cannot start {self.requested}: the experiment manager is running {self.running}; "
            "wait for it to end or interrupt it first"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data describing the refusal."""
        return {"requested": self.requested, "running": self.running}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ManagerBusyError:
        """Rebuild the error from :meth:`to_dict` data."""
        return cls(str(data["requested"]), str(data["running"]))


class ManagerClosedError(ControlError):
    """The experiment manager was closed; create a new one."""


__all__ = [
    "ControlError",
    "ManagerBusyError",
    "ManagerClosedError",
    "SequenceFailedError",
    "location_of",
]
