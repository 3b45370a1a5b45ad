"""The time lanes grid: steps as columns, lanes as rows, blocks as merged cells."""

from __future__ import annotations

import functools
import pathlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import traitlets

from shotbook.compile import LaneValues, ShotCompilationError, find_sequence_problems
from shotbook.registry import DeviceExtension, TimeLaneExtension
from shotbook.types import (
    Expression,
    PureSequencePath,
    Ramp,
    StepsConfiguration,
    TimeLanes,
)

from ._base import EditorWidget, esm_source
from ._document import DraftDocument
from ._lane_edits import LANE_EDITS, LaneEditing, cell_value
from ._lane_ranges import pruned, pruned_cursor, range_of
from ._sequence_context import (
    SequenceContext,
    as_mapping,
    compilers_of,
    lane_extension_of,
    read_context,
)

_HERE = pathlib.Path(__file__).parent
_BUILT_IN_EDITORS = ("text", "toggle", "choice")


def cell_text(value: Any) -> str:
    """A block's value as shown in its cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Expression):
        return value.text
    return str(value)


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
    def _action_for(self, action: str) -> Callable[[dict[str, Any]], Any] | None:
        edit = LANE_EDITS.get(action)  # the grid has no other actions
        if edit is None:
            return None
        return functools.partial(
            edit, LaneEditing(self.time_lanes, self.selection, self._lane_extensions)
        )

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

    @traitlets.validate("selection")
    def _valid_selection(self, proposal: dict[str, Any]) -> dict[str, Any]:
        return pruned(proposal["value"] or {}, self.time_lanes)

    @traitlets.validate("cursor")
    def _valid_cursor(self, proposal: dict[str, Any]) -> dict[str, Any]:
        return pruned_cursor(proposal["value"] or {}, self.time_lanes)

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
