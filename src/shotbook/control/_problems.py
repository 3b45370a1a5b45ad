"""Problems a run met without stopping: failed analyses, retried shots.

Each is logged and published as an event when it happens; the run's summary also counts
them, so a scan that ran overnight says at its end what went wrong on which shots.

>>> tally = ProblemTally()
>>> tally.note("analysis 'fit' failed", 5, "ValueError: cloud out of view")
>>> tally.note("analysis 'fit' failed", 9, "ValueError: cloud out of view")
>>> print(tally.problems()[0])
analysis 'fit' failed on 2 shots (first on shot 5: ValueError: cloud out of view)
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_MESSAGE = 300
"""Longest first message kept (characters); the log and the events have it whole."""


@dataclass(frozen=True)
class ShotProblems:
    """Shots on which one kind of problem happened: how many, and the first of them.

    ``what`` says what happened (``"analysis 'fit' failed"``, ``"retried"``).
    """

    what: str
    shots: int
    first_shot: int
    first_message: str

    def __str__(self) -> str:
        plural = "" if self.shots == 1 else "s"
        return (
            f"{self.what} on {self.shots} shot{plural} "
            f"(first on shot {self.first_shot}: {self.first_message})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the wire."""
        return {
            "what": self.what,
            "shots": self.shots,
            "first_shot": self.first_shot,
            "first_message": self.first_message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ShotProblems:
        """Rebuild from :meth:`to_dict` data."""
        return cls(
            str(data["what"]),
            int(data["shots"]),
            int(data["first_shot"]),
            str(data["first_message"]),
        )


@dataclass
class _Count:
    shots: int
    last_shot: int
    first_shot: int
    first_message: str


class ProblemTally:
    """Counts the shots each kind of problem happened on; safe to call from any thread.

    A shot noted twice for the same problem in a row (retried twice) counts once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, _Count] = {}  # in the order each first happened

    def note(self, what: str, shot: int, message: str) -> None:
        """Record that ``what`` happened on shot ``shot`` (``message`` says how)."""
        with self._lock:
            count = self._counts.get(what)
            if count is None:
                text = " ".join(message.split())
                if len(text) > MAX_MESSAGE:
                    text = text[: MAX_MESSAGE - 1] + "…"
                self._counts[what] = _Count(1, shot, shot, text)
            elif count.last_shot != shot:
                count.shots += 1
                count.last_shot = shot

    def problems(self) -> tuple[ShotProblems, ...]:
        """Each kind of problem seen, in the order it first happened."""
        with self._lock:
            return tuple(
                ShotProblems(what, count.shots, count.first_shot, count.first_message)
                for what, count in self._counts.items()
            )


__all__ = ["MAX_MESSAGE", "ProblemTally", "ShotProblems"]
