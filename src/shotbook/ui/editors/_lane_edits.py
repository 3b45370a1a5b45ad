"""The time lanes grid's edits, as functions: ``edit(lanes being edited, command) -> lanes``.

Each entry of :data:`LANE_EDITS` performs one command of the
:class:`~._lanes_editor.TimeLanesEditor` (cells, ranges, lanes, steps) on an immutable
:class:`~shotbook.types.TimeLanes` and returns the new value; bad input raises an error
that names what is wrong (the editor shows it in its ``status``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shotbook.registry import TimeLaneExtension
from shotbook.types import (
    AnalogTimeLane,
    CameraTimeLane,
    DigitalTimeLane,
    Expression,
    Ramp,
    TakePicture,
    TimeLane,
    TimeLanes,
)

from ._base import EditRejected
from ._lane_ranges import merged_range, range_of, set_range, split_range
from ._sequence_context import lane_extension_of


@dataclass(frozen=True)
class LaneEditing:
    """What an edit sees: the lanes, the grid's selection, the kinds of lane known."""

    lanes: TimeLanes
    selection: Mapping[str, Any]
    extensions: Mapping[str, TimeLaneExtension]

    def lane(self, command: Mapping[str, Any]) -> tuple[str, TimeLane[Any]]:
        """The lane named by the command's ``lane``."""
        name = _text(command, "lane")
        return name, lane_named(self.lanes, name)

    def label_of(self, lane: TimeLane[Any]) -> str | None:
        """The label of the extension that made ``lane`` (``None``: no extension)."""
        extension = lane_extension_of(lane, self.extensions)
        return extension.label if extension is not None else None


LaneEdit = Callable[[LaneEditing, Mapping[str, Any]], TimeLanes]
"""One command of the grid: the new lanes."""


def lane_named(lanes: TimeLanes, name: str) -> TimeLane[Any]:
    """The lane ``name`` (a ``KeyError`` listing the lanes when there is none)."""
    try:
        return lanes.lanes[name]
    except KeyError:
        raise KeyError(
            f"no lane named {name!r}; lanes are {', '.join(lanes.lanes) or 'none'}"
        ) from None


def _int(command: Mapping[str, Any], name: str) -> int:
    value = command.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} is an integer, got {value!r}")
    return value


def _text(command: Mapping[str, Any], name: str) -> str:
    value = command.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name} is a text, got {value!r}")
    return value


def cell_value(lane: TimeLane[Any], value: Any) -> Any:
    """What a person typed in a cell, as a value of ``lane``.

    Digital: a bool, or an expression giving a bool; analog: an expression or ``ramp``;
    camera: a picture name, or nothing. Other lanes receive the text (or bool) as is.
    """
    if isinstance(lane, DigitalTimeLane):
        if isinstance(value, bool):
            return value
        text = str(value).strip()
        lowered = text.lower()
        if lowered in ("on", "true", "1", "enabled"):
            return True
        if lowered in ("off", "false", "0", "disabled"):
            return False
        return Expression(text)
    if isinstance(lane, AnalogTimeLane):
        text = str(value).strip()
        if text.lower() == "ramp":
            return Ramp()
        if not text:
            raise ValueError("an analog cell needs an expression (e.g. 10 MHz) or 'ramp'")
        return Expression(text)
    if isinstance(lane, CameraTimeLane):
        text = str(value).strip()
        return TakePicture(text) if text else None
    return value


# --- cells ---


def toggle(editing: LaneEditing, command: Mapping[str, Any]) -> TimeLanes:
    """``toggle {lane, step}``: flip a digital cell (or a lane with toggle cells)."""
    name, lane = editing.lane(command)
    step = _int(command, "step")
    current = lane[step]
    if isinstance(lane, DigitalTimeLane):
        new_value: Any = not current if isinstance(current, bool) else True
    else:
        extension = lane_extension_of(lane, editing.extensions)
        if extension is None or extension.cell_editor != "toggle":
            raise EditRejected(f"lane {name!r} has no toggle cells; type a value instead")
        new_value = not bool(current)
    return editing.lanes.with_lane(name, lane.with_value(step, step + 1, new_value))


def set_cells(editing: LaneEditing, command: Mapping[str, Any]) -> TimeLanes:
    """``set_cells {lane, start, stop, value}``: one value over steps ``[start, stop)``."""
    name, lane = editing.lane(command)
    start, stop = _int(command, "start"), _int(command, "stop")
    value = cell_value(lane, command.get("value"))
    return editing.lanes.with_lane(name, lane.with_value(start, stop, value))


def merge(editing: LaneEditing, command: Mapping[str, Any]) -> TimeLanes:
    """``merge {lane, start, stop}``: one block over steps ``[start, stop)``."""
    name, lane = editing.lane(command)
    return editing.lanes.with_lane(name, lane.merged(_int(command, "start"), _int(command, "stop")))


def split(editing: LaneEditing, command: Mapping[str, Any]) -> TimeLanes:
    """``split {lane, step}``: cut the block at ``step`` (after it, on a block's first cell)."""
    name, lane = editing.lane(command)
    step = _int(command, "step")
    cut = lane.split(step)
    if cut == lane and step + 1 < len(lane):
        cut = lane.split(step + 1)  # a click on a block's first cell splits after it
    return editing.lanes.with_lane(name, cut)


# --- ranges (one edit for the whole rectangle) ---


def set_cells_range(editing: LaneEditing, command: Mapping[str, Any]) -> TimeLanes:
    """``set_range {lanes, start, stop, value}`` (or the selection): lanes of one kind."""
    cells = range_of(command, editing.lanes, editing.selection)
    return set_range(editing.lanes, cells, command.get("value", ""), cell_value, editing.label_of)


def merge_range(editing: LaneEditing, command: Mapping[str, Any]) -> TimeLanes:
    """``merge_range {lanes, start, stop}`` (or the selection)."""
    return merged_range(editing.lanes, range_of(command, editing.lanes, editing.selection))


def split_cells_range(editing: LaneEditing, command: Mapping[str, Any]) -> TimeLanes:
    """``split_range {lanes, start, stop}`` (or the selection)."""
    return split_range(editing.lanes, range_of(command, editing.lanes, editing.selection))


# --- lanes ---


def add_lane(editing: LaneEditing, command: Mapping[str, Any]) -> TimeLanes:
    """``add_lane {name, kind}``: a new lane of a registered kind."""
    name = _text(command, "name").strip()
    kind = _text(command, "kind")
    extension = editing.extensions.get(kind)
    if extension is None:
        raise ValueError(f"no kind of lane {kind!r}; registered: {', '.join(editing.extensions)}")
    if name in editing.lanes.lanes:
        raise ValueError(f"a lane is already named {name!r}: choose another name")
    lane = extension.lane_factory(editing.lanes.number_steps)
    return editing.lanes.with_lane(name, lane)


def remove_lane(editing: LaneEditing, command: Mapping[str, Any]) -> TimeLanes:
    """``remove_lane {name}``."""
    return editing.lanes.without_lane(_text(command, "name"))


def rename_lane(editing: LaneEditing, command: Mapping[str, Any]) -> TimeLanes:
    """``rename_lane {name, new}``."""
    return editing.lanes.renamed_lane(_text(command, "name"), _text(command, "new").strip())


def move_lane(editing: LaneEditing, command: Mapping[str, Any]) -> TimeLanes:
    """``move_lane {name, to}``: the lane goes to row ``to`` (clamped to the rows)."""
    name = _text(command, "name")
    lane_named(editing.lanes, name)
    order = [lane for lane in editing.lanes.lanes if lane != name]
    to = max(0, min(_int(command, "to"), len(order)))
    order.insert(to, name)
    return editing.lanes.reordered_lanes(order)


# --- steps ---


def _inserted_step(lane: TimeLane[Any], index: int) -> TimeLane[Any]:
    """The lane with a step inserted before ``index``; a camera lane gets no picture there
    (copying the previous block would name a picture twice)."""
    if isinstance(lane, CameraTimeLane):
        bounds = lane.block_bounds()
        if not any(start < index < stop for start, stop in bounds):
            blocks = list(lane.blocks)
            position = next((i for i, (s, _) in enumerate(bounds) if s == index), len(blocks))
            blocks.insert(position, (None, 1))
            return CameraTimeLane.from_blocks(blocks)
    return lane.inserted_step(index)


def _free_step_name(names: Sequence[str]) -> str:
    """``"step N"`` for the smallest N >= 1 that no step is named yet."""
    taken = set(names)
    number = 1
    while f"step {number}" in taken:
        number += 1
    return f"step {number}"


def add_step(editing: LaneEditing, command: Mapping[str, Any]) -> TimeLanes:
    """``add_step {index, name, duration}``: a step before ``index`` (default 1 ms)."""
    lanes = editing.lanes
    index = _int(command, "index")
    if not 0 <= index <= lanes.number_steps:
        raise IndexError(f"cannot add a step at {index}: there are {lanes.number_steps}")
    name = str(command.get("name") or _free_step_name(lanes.step_names))
    duration = Expression(str(command.get("duration") or "1 ms"))
    names = list(lanes.step_names)
    durations = list(lanes.step_durations)
    names.insert(index, name)
    durations.insert(index, duration)
    return TimeLanes(
        names, durations, [(k, _inserted_step(lane, index)) for k, lane in lanes.lanes.items()]
    )


def remove_step(editing: LaneEditing, command: Mapping[str, Any]) -> TimeLanes:
    """``remove_step {index}``."""
    lanes = editing.lanes
    index = _int(command, "index")
    if not 0 <= index < lanes.number_steps:
        raise IndexError(f"no step {index}: there are {lanes.number_steps}")
    return lanes.removed_step(index)


def rename_step(editing: LaneEditing, command: Mapping[str, Any]) -> TimeLanes:
    """``rename_step {index, name}``."""
    return editing.lanes.renamed_step(_int(command, "index"), _text(command, "name"))


def set_duration(editing: LaneEditing, command: Mapping[str, Any]) -> TimeLanes:
    """``set_duration {index, value}``: the step's duration expression."""
    return editing.lanes.with_duration(_int(command, "index"), Expression(_text(command, "value")))


def move_step(editing: LaneEditing, command: Mapping[str, Any]) -> TimeLanes:
    """``move_step {index, to}``: the step and every lane's cell at it move together."""
    lanes = editing.lanes
    source, destination = _int(command, "index"), _int(command, "to")
    count = lanes.number_steps
    if not (0 <= source < count and 0 <= destination < count):
        raise IndexError(f"steps are numbered 0 to {count - 1}, got {source} -> {destination}")
    names = list(lanes.step_names)
    durations = list(lanes.step_durations)
    names.insert(destination, names.pop(source))
    durations.insert(destination, durations.pop(source))
    return TimeLanes(
        names,
        durations,
        [(name, lane.moved_step(source, destination)) for name, lane in lanes.lanes.items()],
    )


LANE_EDITS: dict[str, LaneEdit] = {
    "toggle": toggle,
    "set_cells": set_cells,
    "merge": merge,
    "split": split,
    "set_range": set_cells_range,
    "merge_range": merge_range,
    "split_range": split_cells_range,
    "add_lane": add_lane,
    "remove_lane": remove_lane,
    "rename_lane": rename_lane,
    "move_lane": move_lane,
    "add_step": add_step,
    "remove_step": remove_step,
    "rename_step": rename_step,
    "set_duration": set_duration,
    "move_step": move_step,
}
"""The grid's commands by action."""


__all__ = ["LANE_EDITS", "LaneEdit", "LaneEditing", "cell_value", "lane_named"]
