"""The time lanes grid: steps as columns, lanes as rows, blocks as merged cells."""

from __future__ import annotations

import pathlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import traitlets

from shotbook.compile import LaneValues, ShotCompilationError, find_sequence_problems
from shotbook.registry import DeviceExtension, TimeLaneExtension
from shotbook.types import (
    AnalogTimeLane,
    CameraTimeLane,
    DigitalTimeLane,
    Expression,
    PureSequencePath,
    Ramp,
    StepsConfiguration,
    TakePicture,
    TimeLane,
    TimeLanes,
)

from ._base import EditorWidget, EditRejected, esm_source
from ._document import DraftDocument
from ._lane_ranges import (
    merged_range,
    pruned,
    pruned_cursor,
    range_of,
    set_range,
    split_range,
)
from ._sequence_context import (
    SequenceContext,
    as_mapping,
    compilers_of,
    lane_extension_of,
    read_context,
)

_HERE = pathlib.Path(__file__).parent
_BUILT_IN_EDITORS = ("text", "toggle", "choice")


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


def cell_text(value: Any) -> str:
    """A block's value as shown in its cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Expression):
        return value.text
    return str(value)


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


class TimeLanesEditor(EditorWidget):
    """Edit the time lanes of a draft sequence as a grid.

    ``lane_extensions`` (by label, or an iterable) say which kinds of lane can be added and
    how their cells are edited (``cell_editor``: ``"toggle"``, ``"text"``, ``"choice"`` or the
    path of an anywidget-style ESM module exporting ``renderCell``); ``device_extensions`` give
    the compilers used to check the sequence.

    Commands (steps and cells are 0-based indices, ranges ``[start, stop)``):

    * cells: ``toggle {lane, step}``, ``set_cells {lane, start, stop, value}``,
      ``merge {lane, start, stop}``, ``split {lane, step}``;
    * rectangular ranges (several lanes × steps ``[start, stop)``, one undoable edit each;
      without ``lanes``/``start``/``stop`` they act on ``selection``):
      ``set_range {lanes, start, stop, value}`` (lanes of one kind), ``merge_range``,
      ``split_range`` (analog lanes: each step of the range becomes its own block);
    * lanes: ``add_lane {name, kind}``, ``remove_lane {name}``, ``rename_lane {name, new}``,
      ``move_lane {name, to}``;
    * steps: ``add_step {index, name, duration}``, ``remove_step {index}``,
      ``rename_step {index, name}``, ``set_duration {index, value}``, ``move_step {index, to}``;
    * ``undo``, ``redo``, ``reload``.

    ``problems`` lists every problem :func:`~shotbook.compile.find_sequence_problems`
    reports (the panel disables Start while it is not empty); the cells and step headers
    concerned carry their message in ``view``. Text that is not an expression is never
    saved: it stays in ``invalid`` (by cell) with its message and column.
    """

    _esm = esm_source("_lanes_editor.js")
    _css = _HERE / "_editors.css"

    path = traitlets.Unicode("").tag(sync=True)
    cell_modules = traitlets.Dict().tag(sync=True)
    selection = traitlets.Dict().tag(sync=True)
    """The selected range, ``{"lanes": [...], "start": i, "stop": j}`` or ``{}``; set by the
    grid (click, shift-click, drag, shift+arrows) or by Python; kept within the grid."""
    cursor = traitlets.Dict().tag(sync=True)
    """The current cell of keyboard navigation, ``{"lane": name, "step": i}`` or ``{}``."""

    def __init__(
        self,
        storage: Any,
        path: str | PureSequencePath,
        *,
        lane_extensions: Mapping[str, TimeLaneExtension] | Iterable[TimeLaneExtension],
        device_extensions: Mapping[str, DeviceExtension] | Iterable[DeviceExtension] = (),
    ) -> None:
        super().__init__()
        self._storage = storage
        self._path = PureSequencePath(path)
        self.path = str(self._path)
        self._lane_extensions: dict[str, TimeLaneExtension] = as_mapping(lane_extensions)
        self._device_extensions: dict[str, DeviceExtension] = as_mapping(device_extensions)
        self._compilers = compilers_of(self._device_extensions)
        self._context = SequenceContext()
        self._iteration = StepsConfiguration.empty()
        modules = {}
        for label, extension in self._lane_extensions.items():
            if extension.cell_editor not in _BUILT_IN_EDITORS:
                modules[label] = pathlib.Path(extension.cell_editor).read_text(encoding="utf-8")
        self.cell_modules = modules
        self._document = DraftDocument(
            storage,
            lambda session: session.sequences.get_time_lanes(self._path),
            lambda session, value: session.sequences.set_time_lanes(self._path, value),
            f"the time lanes of {self._path}",
        )
        self._sync()

    @classmethod
    def from_experiment(cls, experiment: Any, path: str | PureSequencePath) -> TimeLanesEditor:
        """The lanes editor of ``path`` with the experiment's store and extensions."""
        return cls(
            experiment.get_storage_manager(),
            path,
            lane_extensions=experiment.time_lane_extensions,
            device_extensions=experiment.device_extensions,
        )

    @property
    def time_lanes(self) -> TimeLanes:
        """The lanes as shown (and stored)."""
        value: TimeLanes = self._document.value
        return value

    # --- helpers ---
    def _lane(self, command: Mapping[str, Any]) -> tuple[str, TimeLane[Any]]:
        name = _text(command, "lane")
        return name, self.time_lanes._lane(name)

    def _key_of(self, command: dict[str, Any]) -> str | None:
        action = command.get("action")
        if action == "set_cells":
            return f"cell/{command.get('lane')}/{command.get('start')}"
        if action == "set_duration":
            return f"duration/{command.get('index')}"
        if action == "rename_step":
            return f"step/{command.get('index')}"
        if action == "rename_lane":
            return f"lane/{command.get('name')}"
        if action == "add_lane":
            return "new_lane"
        if action in ("set_range", "merge_range", "split_range"):
            return "range"
        return None

    def select(self, lanes: Iterable[str], start: int, stop: int | None = None) -> None:
        """Select ``lanes`` over steps ``[start, stop)`` (one step when ``stop`` is omitted),
        as a click and shift-click in the grid do; the current cell moves to its first cell."""
        cells = range_of(
            {"lanes": list(lanes), "start": start, "stop": start + 1 if stop is None else stop},
            self.time_lanes,
            {},
        )
        with self.hold_sync():
            self.selection = cells.as_dict()
            self.cursor = {"lane": cells.lanes[0], "step": cells.start}

    def _label_of(self, lane: TimeLane[Any]) -> str | None:
        extension = lane_extension_of(lane, self._lane_extensions)
        return extension.label if extension is not None else None

    # --- cell actions ---
    def _action_toggle(self, command: dict[str, Any]) -> TimeLanes:
        name, lane = self._lane(command)
        step = _int(command, "step")
        current = lane[step]
        if isinstance(lane, DigitalTimeLane):
            new_value: Any = not current if isinstance(current, bool) else True
        else:
            extension = lane_extension_of(lane, self._lane_extensions)
            if extension is None or extension.cell_editor != "toggle":
                raise EditRejected(f"lane {name!r} has no toggle cells; type a value instead")
            new_value = not bool(current)
        return self.time_lanes.with_lane(name, lane.with_value(step, step + 1, new_value))

    def _action_set_cells(self, command: dict[str, Any]) -> TimeLanes:
        name, lane = self._lane(command)
        start, stop = _int(command, "start"), _int(command, "stop")
        value = cell_value(lane, command.get("value"))
        return self.time_lanes.with_lane(name, lane.with_value(start, stop, value))

    def _action_merge(self, command: dict[str, Any]) -> TimeLanes:
        name, lane = self._lane(command)
        return self.time_lanes.with_lane(
            name, lane.merged(_int(command, "start"), _int(command, "stop"))
        )

    def _action_split(self, command: dict[str, Any]) -> TimeLanes:
        name, lane = self._lane(command)
        step = _int(command, "step")
        split = lane.split(step)
        if split == lane and step + 1 < len(lane):
            split = lane.split(step + 1)  # a click on a block's first cell splits after it
        return self.time_lanes.with_lane(name, split)

    # --- range actions (one edit for the whole rectangle) ---
    def _action_set_range(self, command: dict[str, Any]) -> TimeLanes:
        cells = range_of(command, self.time_lanes, self.selection)
        return set_range(
            self.time_lanes, cells, command.get("value", ""), cell_value, self._label_of
        )

    def _action_merge_range(self, command: dict[str, Any]) -> TimeLanes:
        return merged_range(self.time_lanes, range_of(command, self.time_lanes, self.selection))

    def _action_split_range(self, command: dict[str, Any]) -> TimeLanes:
        return split_range(self.time_lanes, range_of(command, self.time_lanes, self.selection))

    @traitlets.validate("selection")
    def _valid_selection(self, proposal: dict[str, Any]) -> dict[str, Any]:
        return pruned(proposal["value"] or {}, self.time_lanes)

    @traitlets.validate("cursor")
    def _valid_cursor(self, proposal: dict[str, Any]) -> dict[str, Any]:
        return pruned_cursor(proposal["value"] or {}, self.time_lanes)

    # --- lane actions ---
    def _action_add_lane(self, command: dict[str, Any]) -> TimeLanes:
        name = _text(command, "name").strip()
        kind = _text(command, "kind")
        extension = self._lane_extensions.get(kind)
        if extension is None:
            raise ValueError(
                f"no kind of lane {kind!r}; registered: {', '.join(self._lane_extensions)}"
            )
        if name in self.time_lanes.lanes:
            raise ValueError(f"a lane is already named {name!r}: choose another name")
        lane = extension.lane_factory(self.time_lanes.number_steps)
        return self.time_lanes.with_lane(name, lane)

    def _action_remove_lane(self, command: dict[str, Any]) -> TimeLanes:
        return self.time_lanes.without_lane(_text(command, "name"))

    def _action_rename_lane(self, command: dict[str, Any]) -> TimeLanes:
        return self.time_lanes.renamed_lane(_text(command, "name"), _text(command, "new").strip())

    def _action_move_lane(self, command: dict[str, Any]) -> TimeLanes:
        name = _text(command, "name")
        self.time_lanes._lane(name)
        order = [lane for lane in self.time_lanes.lanes if lane != name]
        to = max(0, min(_int(command, "to"), len(order)))
        order.insert(to, name)
        return self.time_lanes.reordered_lanes(order)

    # --- step actions ---
    def _action_add_step(self, command: dict[str, Any]) -> TimeLanes:
        lanes = self.time_lanes
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

    def _action_remove_step(self, command: dict[str, Any]) -> TimeLanes:
        lanes = self.time_lanes
        index = _int(command, "index")
        if not 0 <= index < lanes.number_steps:
            raise IndexError(f"no step {index}: there are {lanes.number_steps}")
        return lanes.removed_step(index)

    def _action_rename_step(self, command: dict[str, Any]) -> TimeLanes:
        return self.time_lanes.renamed_step(_int(command, "index"), _text(command, "name"))

    def _action_set_duration(self, command: dict[str, Any]) -> TimeLanes:
        return self.time_lanes.with_duration(
            _int(command, "index"), Expression(_text(command, "value"))
        )

    def _action_move_step(self, command: dict[str, Any]) -> TimeLanes:
        lanes = self.time_lanes
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

    # --- view ---
    def _load_context(self) -> None:
        with self._storage.session() as session, session.transaction():
            self._context = read_context(session, self._path, devices=True)
            self._iteration = session.sequences.get_iteration(self._path)

    def _check_editable(self) -> str:
        return self._context.not_editable_reason(self._path)

    def find_problems(self) -> list[Exception]:
        """Every static problem of the sequence as it is now (lanes, scan, globals, devices)."""
        return find_sequence_problems(
            self.time_lanes,
            self._iteration,
            self._context.global_parameters,
            self._context.device_configurations,
            compilers=self._compilers,
        )

    def _lanes_of_channel(self, device: str | None, channel: str | None) -> list[str]:
        """The lanes read by a channel's output graph (to mark a channel's problem in them)."""
        configuration = self._context.device_configurations.get(device or "")
        for entry in getattr(configuration, "channels", ()):
            if entry.name == channel:
                found: list[str] = []
                pending = [entry.output]
                while pending:
                    node = pending.pop()
                    if isinstance(node, LaneValues):
                        found.append(node.lane)
                    for name in ("input", "left", "right"):
                        child = getattr(node, name, None)
                        if child is not None:
                            pending.append(child)
                return found
        return []

    def _refresh(self) -> None:
        lanes = self.time_lanes
        self.selection = pruned(self.selection, lanes)
        self.cursor = pruned_cursor(self.cursor, lanes)
        problems = []
        cell_problems: dict[tuple[str, int], list[str]] = {}
        step_problems: dict[int, list[str]] = {}
        for error in self.find_problems():
            entry: dict[str, Any] = {"message": str(error)}
            if isinstance(error, ShotCompilationError):
                reason = error.reason
                entry.update(
                    device=error.device, channel=error.channel, lane=error.lane, step=error.step
                )
                step_index = (
                    lanes.step_names.index(error.step) if error.step in lanes.step_names else None
                )
                concerned = (
                    [error.lane]
                    if error.lane is not None
                    else self._lanes_of_channel(error.device, error.channel)
                )
                concerned = [lane for lane in concerned if lane in lanes.lanes]
                if concerned and step_index is not None:
                    for lane_name in concerned:
                        cell_problems.setdefault((lane_name, step_index), []).append(reason)
                elif error.lane is None and error.device is None and step_index is not None:
                    step_problems.setdefault(step_index, []).append(reason)
            problems.append(entry)
        self.problems = problems
        rows = []
        for name, lane in lanes.lanes.items():
            extension = lane_extension_of(lane, self._lane_extensions)
            editor = extension.cell_editor if extension is not None else "text"
            blocks = []
            for value, (start, stop) in zip(lane.block_values(), lane.block_bounds(), strict=True):
                messages = [m for s in range(start, stop) for m in cell_problems.get((name, s), [])]
                blocks.append(
                    {
                        "start": start,
                        "stop": stop,
                        "value": value if isinstance(value, bool) else cell_text(value),
                        "text": cell_text(value),
                        "ramp": isinstance(value, Ramp),
                        "problem": "; ".join(messages) or None,
                    }
                )
            lane_messages = [m for (n, _), ms in cell_problems.items() if n == name for m in ms]
            rows.append(
                {
                    "name": name,
                    "kind": extension.label if extension is not None else lane.kind,
                    "editor": editor if editor in _BUILT_IN_EDITORS else "module",
                    "choices": list(extension.choices) if extension is not None else [],
                    "blocks": blocks,
                    "problem": "; ".join(lane_messages) or None,
                }
            )
        self.view = {
            "steps": [
                {
                    "name": step_name,
                    "duration": duration.text,
                    "problem": "; ".join(step_problems.get(index, [])) or None,
                }
                for index, (step_name, duration) in enumerate(
                    zip(lanes.step_names, lanes.step_durations, strict=True)
                )
            ],
            "lanes": rows,
            "lane_kinds": list(self._lane_extensions),
        }


__all__ = ["TimeLanesEditor", "cell_text", "cell_value"]


def _free_step_name(names: Sequence[str]) -> str:
    """``"step N"`` for the smallest N >= 1 that no step is named yet."""
    taken = set(names)
    number = 1
    while f"step {number}" in taken:
        number += 1
    return f"step {number}"
