"""Rectangular ranges of the lanes grid: lanes (rows) × steps (columns), edited at once.

A range is ``{"lanes": [names], "start": first step, "stop": step after the last}``. Setting,
merging or splitting a range builds one new :class:`~shotbook.types.TimeLanes`, so the whole
range is one undoable edit. An action that does not apply to a kind of lane in the range is
refused as a whole, with a message naming the lanes concerned; nothing is saved then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shotbook.types import CameraTimeLane, DigitalTimeLane, TimeLane, TimeLanes

from ._base import EditRejected


@dataclass(frozen=True)
class LaneRange:
    """Lanes ``lanes`` (in grid order) over steps ``[start, stop)``."""

    lanes: tuple[str, ...]
    start: int
    stop: int

    def as_dict(self) -> dict[str, Any]:
        """The range as the front end and the ``selection`` trait hold it."""
        return {"lanes": list(self.lanes), "start": self.start, "stop": self.stop}

    def describe(self) -> str:
        """``"mot light, repump: steps 2–3"`` (steps numbered from 1, as shown)."""
        steps = (
            f"step {self.start + 1}"
            if self.stop - self.start == 1
            else f"steps {self.start + 1}–{self.stop}"
        )
        return f"{', '.join(self.lanes)}: {steps}"


def _index(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EditRejected(f"{name} is an integer, got {value!r}", key="range")
    return value


def range_of(
    command: Mapping[str, Any], lanes: TimeLanes, selection: Mapping[str, Any]
) -> LaneRange:
    """The range a command names (``lanes``, ``start``, ``stop``), else the selection.

    The lanes are put in grid order; unknown lanes and steps outside the grid are refused.
    """
    source = command if "lanes" in command else selection
    if not source:
        raise EditRejected("select a range of cells first (click, then shift-click)", key="range")
    names = source.get("lanes")
    if isinstance(names, str) or not isinstance(names, Sequence) or not names:
        raise EditRejected(f"a range names its lanes as a list, got {names!r}", key="range")
    unknown = [str(name) for name in names if name not in lanes.lanes]
    if unknown:
        raise EditRejected(
            f"no lane named {', '.join(map(repr, unknown))} (lanes: {', '.join(lanes.lanes)})",
            key="range",
        )
    start, stop = _index(source.get("start"), "start"), _index(source.get("stop"), "stop")
    count = lanes.number_steps
    if not 0 <= start < stop <= count:
        raise EditRejected(
            f"steps [{start}, {stop}) are not a range of the {count} steps", key="range"
        )
    wanted = set(names)
    ordered = tuple(name for name in lanes.lanes if name in wanted)
    return LaneRange(ordered, start, stop)


def kind_of(lane: TimeLane[Any], label: str | None) -> str:
    """The kind a person sees: the extension's label, else the lane's own kind."""
    return label if label is not None else str(getattr(lane, "kind", type(lane).__name__))


def _by_kind(
    lanes: TimeLanes, cells: LaneRange, label_of: Callable[[TimeLane[Any]], str | None]
) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for name in cells.lanes:
        lane = lanes.lanes[name]
        kinds.setdefault(kind_of(lane, label_of(lane)), []).append(name)
    return kinds


def set_range(
    lanes: TimeLanes,
    cells: LaneRange,
    text: Any,
    value_of: Callable[[TimeLane[Any], Any], Any],
    label_of: Callable[[TimeLane[Any]], str | None],
) -> TimeLanes:
    """Every lane of the range holds ``text`` (parsed by ``value_of``) over the range's steps.

    The lanes must be of one kind: a value means different things in a digital, an analog
    and a camera lane.
    """
    kinds = _by_kind(lanes, cells, label_of)
    if len(kinds) > 1:
        mixed = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in kinds.items())
        raise EditRejected(
            f"the range mixes kinds of lane ({mixed}): a value is set in lanes of one kind, "
            "select rows of one kind",
            key="range",
            text=str(text),
        )
    new = lanes
    for name in cells.lanes:
        lane = new.lanes[name]
        new = new.with_lane(name, lane.with_value(cells.start, cells.stop, value_of(lane, text)))
    return new


def merged_range(lanes: TimeLanes, cells: LaneRange) -> TimeLanes:
    """In each lane, the blocks covering the range's steps become one (the first's value)."""
    new = lanes
    for name in cells.lanes:
        new = new.with_lane(name, new.lanes[name].merged(cells.start, cells.stop))
    return new


def _refuses_split(lane: TimeLane[Any]) -> str | None:
    if isinstance(lane, DigitalTimeLane):
        return "neighbouring digital cells of one value are always one block"
    if isinstance(lane, CameraTimeLane):
        return "a camera block takes one picture (split it by setting its cells)"
    return None


def split_range(lanes: TimeLanes, cells: LaneRange) -> TimeLanes:
    """In each lane, every step of the range becomes a block of its own (same value)."""
    refused = {name: _refuses_split(lanes.lanes[name]) for name in cells.lanes}
    refused = {name: why for name, why in refused.items() if why}
    if refused:
        details = "; ".join(f"{name!r}: {why}" for name, why in refused.items())
        raise EditRejected(
            f"split does not apply to {', '.join(map(repr, refused))} ({details}); "
            "select analog rows only",
            key="range",
        )
    new = lanes
    for name in cells.lanes:
        lane = new.lanes[name]
        for step in range(cells.start, min(cells.stop + 1, len(lane))):
            lane = lane.split(step)
        new = new.with_lane(name, lane)
    return new


def pruned(selection: Mapping[str, Any], lanes: TimeLanes) -> dict[str, Any]:
    """The selection kept within the grid after an edit (``{}`` when nothing is left)."""
    if not selection:
        return {}
    names = selection.get("lanes")
    if not isinstance(names, list):
        return {}
    kept = [name for name in lanes.lanes if name in names]
    start, stop = selection.get("start"), selection.get("stop")
    if not kept or not isinstance(start, int) or not isinstance(stop, int):
        return {}
    stop = min(stop, lanes.number_steps)
    start = min(max(start, 0), stop - 1)
    if stop <= start:
        return {}
    return {"lanes": kept, "start": start, "stop": stop}


def pruned_cursor(cursor: Mapping[str, Any], lanes: TimeLanes) -> dict[str, Any]:
    """The current cell kept within the grid (``{}`` when its lane is gone)."""
    lane, step = cursor.get("lane"), cursor.get("step")
    if lane not in lanes.lanes or not isinstance(step, int) or lanes.number_steps == 0:
        return {}
    return {"lane": lane, "step": min(max(step, 0), lanes.number_steps - 1)}


__all__ = [
    "LaneRange",
    "kind_of",
    "merged_range",
    "pruned",
    "pruned_cursor",
    "range_of",
    "set_range",
    "split_range",
]
