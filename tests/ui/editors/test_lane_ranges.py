"""Rectangular ranges of the lanes grid and the traits keyboard navigation drives."""

from __future__ import annotations

from typing import Any

import comm
import pytest

from shotbook.types import Expression, Ramp, TakePicture
from shotbook.ui.editors import TimeLanesEditor

from .conftest import PATH, stored
from .test_lanes_editor import RecordingComm


@pytest.fixture
def editor(experiment: Any, monkeypatch: pytest.MonkeyPatch) -> TimeLanesEditor:
    monkeypatch.setattr(comm, "create_comm", RecordingComm)
    editor = TimeLanesEditor.from_experiment(experiment, PATH)
    editor.handle({"action": "add_lane", "name": "repump", "kind": "digital"})
    editor.handle({"action": "add_lane", "name": "probe", "kind": "analog"})
    return editor


def test_a_digital_rectangle_is_set_in_one_undoable_edit(
    editor: TimeLanesEditor, storage: Any
) -> None:
    before = stored(storage, "lanes")
    status = editor.handle(
        {
            "action": "set_range",
            "lanes": ["repump", "mot light"],
            "start": 0,
            "stop": 3,
            "value": "on",
        }
    )
    assert status["ok"], status
    lanes = stored(storage, "lanes")
    assert lanes.lanes["mot light"].blocks == ((True, 3),)
    assert lanes.lanes["repump"].blocks == ((True, 3),)
    # one edit: a single undo restores both lanes
    assert editor.handle({"action": "undo"})["message"] == "undone"
    assert stored(storage, "lanes") == before
    editor.handle({"action": "redo"})
    assert stored(storage, "lanes") == lanes


def test_an_analog_rectangle_takes_one_expression_or_a_ramp(
    editor: TimeLanesEditor, storage: Any
) -> None:
    editor.handle(
        {
            "action": "set_range",
            "lanes": ["coil current", "probe"],
            "start": 1,
            "stop": 3,
            "value": "2 A",
        }
    )
    lanes = stored(storage, "lanes")
    assert lanes.lanes["coil current"].blocks == ((Expression("10 A"), 1), (Expression("2 A"), 2))
    assert lanes.lanes["probe"].blocks[-1] == (Expression("2 A"), 2)
    assert editor.handle(
        {"action": "set_range", "lanes": ["probe"], "start": 1, "stop": 2, "value": "ramp"}
    )["ok"]
    assert stored(storage, "lanes").lanes["probe"].blocks[1] == (Ramp(), 1)


def test_a_camera_range_takes_a_picture(editor: TimeLanesEditor, storage: Any) -> None:
    editor.handle(
        {"action": "set_range", "lanes": ["camera"], "start": 0, "stop": 2, "value": "bg"}
    )
    assert stored(storage, "lanes").lanes["camera"].blocks[0] == (TakePicture("bg"), 2)


def test_a_value_for_lanes_of_several_kinds_is_refused_with_the_lanes_named(
    editor: TimeLanesEditor, storage: Any
) -> None:
    before = stored(storage, "lanes")
    status = editor.handle(
        {
            "action": "set_range",
            "lanes": ["mot light", "coil current", "camera"],
            "start": 0,
            "stop": 2,
            "value": "on",
        }
    )
    assert status["ok"] is False
    message = status["message"]
    assert "mixes kinds of lane" in message
    assert "digital: mot light" in message
    assert "analog: coil current" in message
    assert "camera: camera" in message
    assert stored(storage, "lanes") == before
    assert editor.invalid["range"]["text"] == "on"


def test_a_wrong_expression_in_a_range_is_marked_and_not_saved(
    editor: TimeLanesEditor, storage: Any
) -> None:
    before = stored(storage, "lanes")
    status = editor.handle(
        {"action": "set_range", "lanes": ["probe"], "start": 0, "stop": 3, "value": "3 A *"}
    )
    assert status["ok"] is False
    assert editor.invalid["range"]["column"] is not None
    assert stored(storage, "lanes") == before
    editor.handle(
        {"action": "set_range", "lanes": ["probe"], "start": 0, "stop": 3, "value": "3 A"}
    )
    assert "range" not in editor.invalid


def test_merge_and_split_a_rectangle(editor: TimeLanesEditor, storage: Any) -> None:
    editor.handle(
        {"action": "merge_range", "lanes": ["coil current", "mot detuning"], "start": 0, "stop": 3}
    )
    lanes = stored(storage, "lanes")
    assert lanes.lanes["coil current"].blocks == ((Expression("10 A"), 3),)
    assert lanes.lanes["mot detuning"].blocks == ((Expression("mot.detuning"), 3),)
    editor.handle(
        {"action": "split_range", "lanes": ["coil current", "mot detuning"], "start": 1, "stop": 2}
    )
    lanes = stored(storage, "lanes")
    assert lanes.lanes["coil current"].block_spans() == [1, 1, 1]
    assert lanes.lanes["mot detuning"].block_spans() == [1, 1, 1]
    assert editor.handle({"action": "undo"})["ok"]
    assert stored(storage, "lanes").lanes["coil current"].block_spans() == [3]


def test_split_names_the_lanes_it_does_not_apply_to(editor: TimeLanesEditor, storage: Any) -> None:
    before = stored(storage, "lanes")
    status = editor.handle(
        {
            "action": "split_range",
            "lanes": ["mot light", "coil current", "camera"],
            "start": 0,
            "stop": 3,
        }
    )
    assert status["ok"] is False
    assert "split does not apply to 'mot light', 'camera'" in status["message"]
    assert "one block" in status["message"]
    assert stored(storage, "lanes") == before


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ({"lanes": ["nope"], "start": 0, "stop": 1}, "no lane named 'nope'"),
        ({"lanes": ["probe"], "start": 2, "stop": 9}, "not a range of the 3 steps"),
        ({"lanes": ["probe"], "start": 2, "stop": 2}, "not a range"),
        ({"lanes": "probe", "start": 0, "stop": 1}, "as a list"),
        ({}, "select a range of cells first"),
    ],
)
def test_bad_ranges_are_clear_errors(
    editor: TimeLanesEditor, command: dict[str, Any], expected: str
) -> None:
    status = editor.handle({"action": "merge_range", **command})
    assert status["ok"] is False
    assert expected in status["message"]


def test_range_actions_use_the_selection_the_grid_set(
    editor: TimeLanesEditor, storage: Any
) -> None:
    """The front end writes ``selection`` and ``cursor`` as a person clicks, drags or moves
    with the keyboard; an action without a range then applies to the selection."""
    editor.comm.handle_msg(
        {
            "content": {
                "data": {
                    "method": "update",
                    "state": {
                        "selection": {"lanes": ["repump", "mot light"], "start": 1, "stop": 3},
                        "cursor": {"lane": "mot light", "step": 2},
                    },
                    "buffer_paths": [],
                }
            },
            "buffers": [],
        }
    )
    # kept in grid order, and the front end is told
    assert editor.selection == {"lanes": ["mot light", "repump"], "start": 1, "stop": 3}
    assert editor.cursor == {"lane": "mot light", "step": 2}
    sent = [m["data"].get("state", {}) for m in editor.comm.sent]
    assert {"lanes": ["mot light", "repump"], "start": 1, "stop": 3} in [
        s.get("selection") for s in sent
    ]
    editor.handle({"action": "set_range", "value": "on"})
    lanes = stored(storage, "lanes")
    assert list(lanes.lanes["mot light"]) == [True, True, True]
    assert list(lanes.lanes["repump"]) == [False, True, True]


def test_selection_and_cursor_stay_inside_the_grid(editor: TimeLanesEditor) -> None:
    editor.select(["probe", "repump"], 1, 3)
    assert editor.selection == {"lanes": ["repump", "probe"], "start": 1, "stop": 3}
    assert editor.cursor == {"lane": "repump", "step": 1}
    assert editor.handle({"action": "remove_step", "index": 1})["ok"]
    assert editor.selection == {"lanes": ["repump", "probe"], "start": 1, "stop": 2}
    editor.handle({"action": "remove_lane", "name": "repump"})
    assert editor.selection == {"lanes": ["probe"], "start": 1, "stop": 2}
    assert editor.cursor == {}
    editor.cursor = {"lane": "probe", "step": 7}
    assert editor.cursor == {"lane": "probe", "step": 1}
    with pytest.raises(Exception, match="no lane named 'x'"):
        editor.select(["x"], 0)


def test_keys_reach_the_kernel_as_commands_in_order(editor: TimeLanesEditor, storage: Any) -> None:
    """What Space, Enter and Ctrl+Z / Ctrl+Y send, as custom messages over the comm."""
    before = stored(storage, "lanes")

    def key(command: dict[str, Any]) -> None:
        editor.comm.handle_msg(
            {
                "content": {
                    "data": {
                        "method": "custom",
                        "content": {"kind": "shotbook-command", "command": command},
                    }
                },
                "buffers": [],
            }
        )

    key({"id": 1, "action": "toggle", "lane": "repump", "step": 0})  # Space
    key(
        {"id": 2, "action": "set_cells", "lane": "probe", "start": 0, "stop": 3, "value": "1 A"}
    )  # Enter, typing, Enter
    assert list(stored(storage, "lanes").lanes["repump"]) == [True, False, False]
    key({"id": 3, "action": "undo"})  # Ctrl+Z
    key({"id": 4, "action": "undo"})  # Ctrl+Z
    assert stored(storage, "lanes") == before
    assert editor.can_redo is True
    key({"id": 5, "action": "redo"})  # Ctrl+Y
    assert list(stored(storage, "lanes").lanes["repump"]) == [True, False, False]
    assert editor.status["id"] == 5
