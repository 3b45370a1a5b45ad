"""What a manager tells about its run: progress while running, a summary at the end."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from ._errors import SequenceFailedError
from ._problems import ShotProblems


def _time_out(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time_in(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


@dataclass(frozen=True)
class RunProgress:
    """The sequence being run: its path, state and how many shots are stored.

    ``expected_number_of_shots`` is ``None`` when the scan's length is known only while
    running.
    """

    path: str
    state: str
    number_of_shots: int
    expected_number_of_shots: int | None
    started: datetime

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the wire."""
        return {
            "path": self.path,
            "state": self.state,
            "number_of_shots": self.number_of_shots,
            "expected_number_of_shots": self.expected_number_of_shots,
            "started": _time_out(self.started),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunProgress:
        """Rebuild from :meth:`to_dict` data."""
        started = _time_in(data["started"])
        assert started is not None
        return cls(
            str(data["path"]),
            str(data["state"]),
            int(data["number_of_shots"]),
            data.get("expected_number_of_shots"),
            started,
        )


@dataclass(frozen=True)
class RunSummary:
    """How a run ended.

    ``state`` is ``"finished"``, ``"interrupted"`` or ``"crashed"`` (or ``"draft"`` when a
    check refused the sequence before anything changed); ``failure`` describes a crash;
    ``problems`` counts what went wrong on some shots without stopping the run (failed
    analyses, retried shots), each with its first occurrence.

    Example::

        summary = manager.run_sequence("/scans/a")
        print(summary.state, summary.number_of_shots)
    """

    path: str
    state: str
    number_of_shots: int
    expected_number_of_shots: int | None
    started: datetime | None
    stopped: datetime | None
    failure: SequenceFailedError | None = None
    problems: tuple[ShotProblems, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the sequence ran to its end."""
        return self.state == "finished"

    def raise_for_failure(self) -> None:
        """Raise the :class:`SequenceFailedError` of a failed run; do nothing otherwise."""
        if self.failure is not None:
            raise self.failure

    @property
    def duration(self) -> float | None:
        """Seconds from start to stop, if both are known."""
        if self.started is None or self.stopped is None:
            return None
        return (self.stopped - self.started).total_seconds()

    def _timing(self) -> str | None:
        if self.started is None:
            return None
        start = self.started.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
        duration = self.duration
        if duration is None:
            return f"started {start}"
        rate = ""
        if duration > 0 and self.number_of_shots:
            rate = f", {self.number_of_shots / duration:.2f} shots/s"
        return f"ran {duration:.1f} s from {start}{rate}"

    def __str__(self) -> str:
        """The summary as text: the outcome, then each problem, the failure and the timing.

        ``/scan: finished after 24 / 24 shots``, then one indented line per kind of problem
        (``analysis 'fit' failed on 1 shot (first on shot 7: ...)``), the failure's message
        (shot, parameters, where) when the run crashed, and how long it ran.
        """
        expected = "?" if self.expected_number_of_shots is None else self.expected_number_of_shots
        line = f"{self.path}: {self.state} after {self.number_of_shots} / {expected} shots"
        lines = [line, *(f"  {problem}" for problem in self.problems)]
        if self.failure is not None:
            lines.extend(f"  {text}" for text in str(self.failure).splitlines())
        timing = self._timing()
        if timing is not None:
            lines.append(f"  {timing}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's plain-text display: the text form, not the dataclass fields."""
        printer.text(str(self))

    def _repr_html_(self) -> str:
        """The summary as a small HTML block (a notebook's rich display)."""
        expected = "?" if self.expected_number_of_shots is None else self.expected_number_of_shots
        colour = {"finished": "#2e7d32", "interrupted": "#b26a00"}.get(self.state, "#c62828")
        rows = [
            f'<div style="font-weight:600">{escape(self.path)}: '
            f'<span style="color:{colour}">{escape(self.state)}</span> after '
            f"{self.number_of_shots} / {expected} shots</div>"
        ]
        if self.failure is not None:
            rows.append(
                '<pre style="background:#fdecea;padding:6px;white-space:pre-wrap">'
                f"{escape(str(self.failure))}</pre>"
            )
        if self.problems:
            items = "".join(f"<li>{escape(str(problem))}</li>" for problem in self.problems)
            rows.append(f'<ul style="margin:2px 0">{items}</ul>')
        timing = self._timing()
        if timing is not None:
            rows.append(f'<div style="color:#555">{escape(timing)}</div>')
        return f'<div class="shotbook-run-summary">{"".join(rows)}</div>'

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the wire."""
        return {
            "path": self.path,
            "state": self.state,
            "number_of_shots": self.number_of_shots,
            "expected_number_of_shots": self.expected_number_of_shots,
            "started": _time_out(self.started),
            "stopped": _time_out(self.stopped),
            "failure": None if self.failure is None else self.failure.to_dict(),
            "problems": [problem.to_dict() for problem in self.problems],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSummary:
        """Rebuild from :meth:`to_dict` data."""
        failure = data.get("failure")
        return cls(
            str(data["path"]),
            str(data["state"]),
            int(data["number_of_shots"]),
            data.get("expected_number_of_shots"),
            _time_in(data.get("started")),
            _time_in(data.get("stopped")),
            None if failure is None else SequenceFailedError.from_dict(failure),
            tuple(ShotProblems.from_dict(problem) for problem in data.get("problems") or ()),
        )


__all__ = ["RunProgress", "RunSummary"]
