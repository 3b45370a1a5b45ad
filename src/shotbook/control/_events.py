"""Events of a run: small notifications for the panel, progress bars and live plots.

Events carry ids and small values, never image bytes: the store is the truth, and a
late subscriber reads the store. Each event is a frozen dataclass with a ``topic`` and
``to_dict()`` / :func:`event_from_dict` for the wire.

>>> from datetime import UTC, datetime
>>> event = ShotStored("/scans/a", 3, datetime(2026, 1, 1, tzinfo=UTC),
...                    datetime(2026, 1, 1, tzinfo=UTC), attempts=1)
>>> event_from_dict(event.to_dict()) == event
True
>>> event.topic
'shot.stored'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar


def _now() -> datetime:
    return datetime.now(UTC)


def _time_out(value: datetime) -> str:
    return value.isoformat()


def _time_in(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value))


@dataclass(frozen=True)
class ManagerEvent:
    """Base of all events; ``path`` is the sequence concerned (text)."""

    topic: ClassVar[str] = "event"

    path: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data: ``{"kind": topic, ...fields}`` (datetimes as ISO text)."""
        data: dict[str, Any] = {"kind": self.topic}
        for item in fields(self):
            value = getattr(self, item.name)
            data[item.name] = _time_out(value) if isinstance(value, datetime) else value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ManagerEvent:
        """Rebuild an event from :meth:`to_dict` data (the ``kind`` picks the class).

        >>> ManagerEvent.from_dict({"kind": "shot.retried", "path": "/a", "index": 2,
        ...                         "attempt": 1, "error": "timeout"}).index
        2
        """
        event = event_from_dict(data)
        if not isinstance(event, cls):
            raise ValueError(f"{data.get('kind')!r} data is not a {cls.__name__}")
        return event

    @classmethod
    def _from_fields(cls, data: Mapping[str, Any]) -> ManagerEvent:
        kwargs: dict[str, Any] = {}
        for item in fields(cls):
            if item.name not in data:
                continue
            value = data[item.name]
            if item.type in ("datetime", datetime) and value is not None:
                value = _time_in(value)
            elif item.type in ("dict[str, float]", "dict[str, Any]") and value is not None:
                value = dict(value)
            kwargs[item.name] = value
        return cls(**kwargs)


@dataclass(frozen=True)
class SequenceStateChanged(ManagerEvent):
    """The sequence entered ``state`` (``"preparing"``, ``"running"``, ``"finished"``, ...).

    ``number_of_shots`` is the shots stored so far; ``expected_number_of_shots`` may be
    ``None`` when the scan's length is known only while running.
    """

    topic: ClassVar[str] = "sequence.state"

    state: str
    number_of_shots: int = 0
    expected_number_of_shots: int | None = None
    time: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class ShotStored(ManagerEvent):
    """Shot ``index`` is in the store. ``analysis`` holds its per-shot scalar results."""

    topic: ClassVar[str] = "shot.stored"

    index: int
    start: datetime
    end: datetime
    attempts: int = 1
    analysis: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ShotRetried(ManagerEvent):
    """Shot ``index`` failed with ``error`` on attempt ``attempt`` and is being run again."""

    topic: ClassVar[str] = "shot.retried"

    index: int
    attempt: int
    error: str


@dataclass(frozen=True)
class AnalysisFailed(ManagerEvent):
    """The per-shot analysis ``analysis`` raised ``error`` on shot ``index`` (run goes on)."""

    topic: ClassVar[str] = "shot.analysis_failed"

    index: int
    analysis: str
    error: str


@dataclass(frozen=True)
class SequenceFailed(ManagerEvent):
    """The sequence could not start or crashed; ``failure`` is ``SequenceFailedError.to_dict()``."""

    topic: ClassVar[str] = "sequence.failed"

    failure: dict[str, Any]


EVENT_TYPES: dict[str, type[ManagerEvent]] = {
    cls.topic: cls
    for cls in (SequenceStateChanged, ShotStored, ShotRetried, AnalysisFailed, SequenceFailed)
}
"""Event class by topic."""


def event_from_dict(data: Mapping[str, Any]) -> ManagerEvent:
    """Rebuild an event from ``to_dict()`` data; unknown kinds raise ``ValueError``."""
    kind = data.get("kind")
    cls = EVENT_TYPES.get(str(kind))
    if cls is None:
        raise ValueError(
            f"unknown event kind {kind!r}; known kinds: {', '.join(sorted(EVENT_TYPES))}"
        )
    return cls._from_fields(data)


__all__ = [
    "EVENT_TYPES",
    "AnalysisFailed",
    "ManagerEvent",
    "SequenceFailed",
    "SequenceStateChanged",
    "ShotRetried",
    "ShotStored",
    "event_from_dict",
]
