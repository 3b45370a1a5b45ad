"""The table of a shot: named steps with durations, and one lane per output."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._expression import Expression
from ._time_lane import TimeLane, TimeLaneError

MAX_LANE_NAME_LENGTH = 200


def _check_label(kind: str, name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise TimeLaneError(f"a {kind} name is a non-empty str, got {name!r}")
    if len(name) > MAX_LANE_NAME_LENGTH:
        raise TimeLaneError(f"{kind} name {name[:20]!r}... is too long")
    if any(ord(char) < 32 for char in name):
        raise TimeLaneError(f"{kind} name {name!r} contains a control character")
    return name


@dataclass(frozen=True)
class TimeLanes:
    """Steps as columns (name and duration), lanes as rows.

    Every lane spans exactly the steps. The table is immutable: edits return a
    new table.

    >>> from shotbook.types import DigitalTimeLane
    >>> lanes = TimeLanes(["load", "image"], ["100 ms", "10 us"],
    ...                   {"mot.coils": DigitalTimeLane([True, False])})
    >>> lanes.number_steps, list(lanes.lanes)
    (2, ['mot.coils'])
    """

    step_names: tuple[str, ...]
    step_durations: tuple[Expression, ...]
    lanes: Mapping[str, TimeLane[Any]]

    def __init__(
        self,
        step_names: Sequence[str],
        step_durations: Sequence[str | Expression],
        lanes: Mapping[str, TimeLane[Any]] | Iterable[tuple[str, TimeLane[Any]]] = (),
    ) -> None:
        names = tuple(_check_label("step", name) for name in step_names)
        durations = tuple(d if isinstance(d, Expression) else Expression(d) for d in step_durations)
        if len(names) != len(durations):
            raise TimeLaneError(
                f"{len(names)} step names but {len(durations)} step durations: give one "
                "duration per step"
            )
        items = lanes.items() if isinstance(lanes, Mapping) else lanes
        table: dict[str, TimeLane[Any]] = {}
        for name, lane in items:
            _check_label("lane", name)
            if name in table:
                raise TimeLaneError(f"lane {name!r} appears twice")
            if not isinstance(lane, TimeLane):
                raise TimeLaneError(f"lane {name!r} is not a time lane: {lane!r}")
            if len(lane) != len(names):
                raise TimeLaneError(
                    f"lane {name!r} has {len(lane)} steps but the table has {len(names)} "
                    f"({', '.join(names)})"
                )
            table[name] = lane
        object.__setattr__(self, "step_names", names)
        object.__setattr__(self, "step_durations", durations)
        object.__setattr__(self, "lanes", _FrozenDict(table))

    @property
    def number_steps(self) -> int:
        """How many steps (columns)."""
        return len(self.step_names)

    def step_index(self, name: str) -> int:
        """The index of the step called ``name``."""
        try:
            return self.step_names.index(name)
        except ValueError:
            raise KeyError(
                f"no step named {name!r}; steps are {', '.join(self.step_names)}"
            ) from None

    # --- edits ---
    def with_lane(self, name: str, lane: TimeLane[Any]) -> TimeLanes:
        """Add a lane, or replace the lane of that name (keeping its position)."""
        lanes = dict(self.lanes)
        lanes[name] = lane
        return TimeLanes(self.step_names, self.step_durations, lanes)

    def without_lane(self, name: str) -> TimeLanes:
        """Remove a lane."""
        self._lane(name)
        return TimeLanes(
            self.step_names,
            self.step_durations,
            {k: v for k, v in self.lanes.items() if k != name},
        )

    def renamed_lane(self, old: str, new: str) -> TimeLanes:
        """Rename a lane, keeping its position."""
        self._lane(old)
        if new in self.lanes and new != old:
            raise TimeLaneError(f"cannot rename lane {old!r} to {new!r}: that name is used")
        return TimeLanes(
            self.step_names,
            self.step_durations,
            [((new if k == old else k), v) for k, v in self.lanes.items()],
        )

    def reordered_lanes(self, order: Sequence[str]) -> TimeLanes:
        """The same lanes in the given order (every lane named once)."""
        if sorted(order) != sorted(self.lanes):
            raise TimeLaneError("reordering must name every lane exactly once")
        return TimeLanes(self.step_names, self.step_durations, [(k, self.lanes[k]) for k in order])

    def inserted_step(self, index: int, name: str, duration: str | Expression) -> TimeLanes:
        """Insert a step before ``index`` in every lane."""
        names = list(self.step_names)
        durations = list(self.step_durations)
        names.insert(index, name)
        durations.insert(
            index, duration if isinstance(duration, Expression) else Expression(duration)
        )
        lanes = {k: lane.inserted_step(index) for k, lane in self.lanes.items()}
        return TimeLanes(names, durations, lanes)

    def removed_step(self, index: int) -> TimeLanes:
        """Remove the step at ``index`` from every lane."""
        if len(self.step_names) <= 1:
            raise TimeLaneError("a shot needs at least one step")
        names = [n for i, n in enumerate(self.step_names) if i != index]
        durations = [d for i, d in enumerate(self.step_durations) if i != index]
        lanes = {k: lane.removed_step(index) for k, lane in self.lanes.items()}
        return TimeLanes(names, durations, lanes)

    def renamed_step(self, index: int, name: str) -> TimeLanes:
        """Rename the step at ``index``."""
        names = list(self.step_names)
        names[index] = name
        return TimeLanes(names, self.step_durations, self.lanes)

    def with_duration(self, index: int, duration: str | Expression) -> TimeLanes:
        """Set the duration expression of the step at ``index``."""
        durations = list(self.step_durations)
        durations[index] = duration if isinstance(duration, Expression) else Expression(duration)
        return TimeLanes(self.step_names, durations, self.lanes)

    def _lane(self, name: str) -> TimeLane[Any]:
        try:
            return self.lanes[name]
        except KeyError:
            raise KeyError(
                f"no lane named {name!r}; lanes are {', '.join(self.lanes) or 'none'}"
            ) from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TimeLanes):
            return NotImplemented
        return (
            self.step_names == other.step_names
            and self.step_durations == other.step_durations
            and list(self.lanes.items()) == list(other.lanes.items())
        )

    def __hash__(self) -> int:
        return hash((self.step_names, self.step_durations, tuple(self.lanes.items())))


class _FrozenDict(dict[str, Any]):
    """A dict that refuses edits (time lanes are values)."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("TimeLanes are immutable: use with_lane / without_lane / ...")

    __setitem__ = _refuse
    __delitem__ = _refuse
    update = _refuse
    pop = _refuse
    popitem = _refuse  # type: ignore[assignment]
    clear = _refuse
    setdefault = _refuse

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self.items()))
