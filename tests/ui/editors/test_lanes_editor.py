"""The time lanes grid, driven through the commands its front end sends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import comm
import pytest

from shotbook.registry import TimeLaneExtension
from shotbook.session import RunOwner
from shotbook.types import (
    AnalogTimeLane,
    DigitalTimeLane,
    Expression,
    ParameterNamespace,
    Ramp,
    TakePicture,
    TimeLane,
)
from shotbook.ui.editors import TimeLanesEditor

from .conftest import PATH, demo_lanes, stored


@pytest.fixture
def editor(experiment: Any) -> TimeLanesEditor:
    return TimeLanesEditor.from_experiment(experiment, PATH)


def test_a_clean_sequence_has_no_problem_and_shows_every_lane(editor: TimeLanesEditor) -> None:
    assert editor.problems == []
    assert [lane["name"] for lane in editor.view["lanes"]] == [
        "mot light",
        "mot detuning",
        "coil current",
        "camera",
    ]
    assert [s["name"] for s in editor.view["steps"]] == ["load", "tof", "image"]
    digital = editor.view["lanes"][0]
    assert digital["editor"] == "toggle"
    assert [(b["start"], b["stop"], b["value"]) for b in digital["blocks"]] == [
        (0, 1, True),
        (1, 3, False),
    ]
    assert editor.view["lanes"][1]["blocks"][1]["ramp"] is True
    assert editor.read_only is False


def test_toggling_a_digital_cell_merges_equal_neighbours_and_saves(
    editor: TimeLanesEditor, storage: Any
) -> None:
    status = editor.handle({"id": 7, "action": "toggle", "lane": "mot light", "step": 1})
    assert status == {"id": 7, "action": "toggle", "ok": True, "message": "saved"}
    lane = stored(storage, "lanes").lanes["mot light"]
    assert lane.blocks == ((True, 2), (False, 1))
    assert editor.view["lanes"][0]["blocks"][0] == {
        "start": 0,
        "stop": 2,
        "value": True,
        "text": "on",
        "ramp": False,
        "problem": None,
    }
    editor.handle({"action": "toggle", "lane": "mot light", "step": 2})
    assert stored(storage, "lanes").lanes["mot light"].blocks == ((True, 3),)


def test_analog_cells_take_expressions_and_ramps(editor: TimeLanesEditor, storage: Any) -> None:
    editor.handle(
        {
            "action": "set_cells",
            "lane": "mot detuning",
            "start": 2,
            "stop": 3,
            "value": "mot.detuning + 2 MHz",
        }
    )
    editor.handle(
        {"action": "set_cells", "lane": "coil current", "start": 1, "stop": 2, "value": "Ramp"}
    )
    lanes = stored(storage, "lanes")
    assert lanes.lanes["mot detuning"].blocks[-1] == (Expression("mot.detuning + 2 MHz"), 1)
    assert lanes.lanes["coil current"].blocks == (
        (Expression("10 A"), 1),
        (Ramp(), 1),
        (Expression("0 A"), 1),
    )
    assert editor.problems == []


def test_an_invalid_expression_is_marked_in_its_cell_and_never_saved(
    editor: TimeLanesEditor, storage: Any
) -> None:
    before = stored(storage, "lanes")
    status = editor.handle(
        {"action": "set_cells", "lane": "mot detuning", "start": 2, "stop": 3, "value": "10 MHz +"}
    )
    assert status["ok"] is False
    assert "column 9" in status["message"]
    assert stored(storage, "lanes") == before
    assert editor.invalid["cell/mot detuning/2"]["text"] == "10 MHz +"
    assert editor.invalid["cell/mot detuning/2"]["column"] == 9
    # correcting the cell clears the mark
    editor.handle(
        {"action": "set_cells", "lane": "mot detuning", "start": 2, "stop": 3, "value": "10 MHz"}
    )
    assert editor.invalid == {}
    assert stored(storage, "lanes").lanes["mot detuning"].blocks[-1][0] == Expression("10 MHz")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("mot.detuningg", "undefined parameter 'mot.detuningg'"),
        ("10 A", "share one dimension"),
        ("100 MHz", "outside the calibration range"),
    ],
)
def test_valid_text_with_a_problem_is_saved_but_marked_in_its_cell(
    editor: TimeLanesEditor, storage: Any, value: str, expected: str
) -> None:
    status = editor.handle(
        {"action": "set_cells", "lane": "mot detuning", "start": 2, "stop": 3, "value": value}
    )
    assert status["ok"] is True
    assert stored(storage, "lanes").lanes["mot detuning"].blocks[-1][0] == Expression(value)
    assert any(expected in p["message"] for p in editor.problems), editor.problems
    cell = editor.view["lanes"][1]["blocks"][-1]
    assert cell["problem"] is not None
    assert expected in cell["problem"]


def test_a_duration_that_is_not_a_time_marks_its_step(editor: TimeLanesEditor) -> None:
    editor.handle({"action": "set_duration", "index": 2, "value": "3 MHz"})
    assert "not a time" in editor.view["steps"][2]["problem"]
    assert editor.problems


def test_lanes_are_added_renamed_reordered_and_removed(
    editor: TimeLanesEditor, storage: Any
) -> None:
    assert editor.handle({"action": "add_lane", "name": "repump", "kind": "digital"})["ok"]
    assert stored(storage, "lanes").lanes["repump"].blocks == ((False, 3),)
    refused = editor.handle({"action": "add_lane", "name": "repump", "kind": "digital"})
    assert refused["ok"] is False
    assert "already named" in refused["message"]
    unknown = editor.handle({"action": "add_lane", "name": "x", "kind": "laser"})
    assert "registered: digital, analog, camera" in unknown["message"]
    editor.handle({"action": "rename_lane", "name": "repump", "new": "push"})
    editor.handle({"action": "move_lane", "name": "push", "to": 0})
    assert list(stored(storage, "lanes").lanes) == [
        "push",
        "mot light",
        "mot detuning",
        "coil current",
        "camera",
    ]
    editor.handle({"action": "remove_lane", "name": "push"})
    assert list(stored(storage, "lanes").lanes) == list(demo_lanes().lanes)


def test_steps_are_added_renamed_moved_and_removed(editor: TimeLanesEditor, storage: Any) -> None:
    editor.handle({"action": "add_step", "index": 3, "name": "wait", "duration": "5 ms"})
    lanes = stored(storage, "lanes")
    assert lanes.step_names == ("load", "tof", "image", "wait")
    assert lanes.lanes["camera"].pictures() == ["atoms"]
    editor.handle({"action": "rename_step", "index": 3, "name": "rest"})
    editor.handle({"action": "move_step", "index": 3, "to": 0})
    lanes = stored(storage, "lanes")
    assert lanes.step_names == ("rest", "load", "tof", "image")
    assert lanes.step_durations[0] == Expression("5 ms")
    assert list(lanes.lanes["mot light"]) == [False, True, False, False]
    editor.handle({"action": "remove_step", "index": 0})
    assert stored(storage, "lanes") == demo_lanes()


def test_new_steps_get_the_first_free_default_name(editor: TimeLanesEditor, storage: Any) -> None:
    editor.handle({"action": "add_step", "index": 0})
    editor.handle({"action": "add_step", "index": 4})
    editor.handle({"action": "rename_step", "index": 0, "name": "step 3"})
    editor.handle({"action": "add_step", "index": 0})
    assert stored(storage, "lanes").step_names[:2] == ("step 1", "step 3")
    assert stored(storage, "lanes").step_names[-1] == "step 2"


def test_a_range_is_set_merged_and_split(editor: TimeLanesEditor, storage: Any) -> None:
    editor.handle(
        {"action": "set_cells", "lane": "coil current", "start": 0, "stop": 2, "value": "5 A"}
    )
    assert stored(storage, "lanes").lanes["coil current"].blocks == (
        (Expression("5 A"), 2),
        (Expression("0 A"), 1),
    )
    editor.handle({"action": "merge", "lane": "coil current", "start": 0, "stop": 3})
    assert stored(storage, "lanes").lanes["coil current"].blocks == ((Expression("5 A"), 3),)
    editor.handle({"action": "split", "lane": "coil current", "step": 1})
    assert stored(storage, "lanes").lanes["coil current"].block_spans() == [1, 2]
    editor.handle(
        {"action": "set_cells", "lane": "camera", "start": 0, "stop": 1, "value": "background"}
    )
    assert stored(storage, "lanes").lanes["camera"].blocks[0] == (TakePicture("background"), 1)


def test_a_refused_split_leaves_the_range_field_empty(
    editor: TimeLanesEditor, storage: Any
) -> None:
    """Split has no value: refused on a camera lane, the range field is marked but stays
    empty (it showed ``None``, and a picture typed after it was named ``Noneatoms``)."""
    status = editor.handle({"action": "split_range", "lanes": ["camera"], "start": 0, "stop": 2})
    assert not status["ok"]
    assert "split does not apply to 'camera'" in status["message"]
    assert editor.invalid["range"]["text"] == ""
    editor.handle(
        {"action": "set_range", "lanes": ["camera"], "start": 0, "stop": 1, "value": "probe"}
    )
    assert stored(storage, "lanes").lanes["camera"].blocks[0] == (TakePicture("probe"), 1)
    assert "range" not in editor.invalid


def test_undo_and_redo_write_the_previous_states(editor: TimeLanesEditor, storage: Any) -> None:
    original = stored(storage, "lanes")
    editor.handle({"action": "toggle", "lane": "mot light", "step": 2})
    editor.handle({"action": "remove_lane", "name": "camera"})
    edited = stored(storage, "lanes")
    assert editor.can_undo
    assert not editor.can_redo
    editor.handle({"action": "undo"})
    editor.handle({"action": "undo"})
    assert stored(storage, "lanes") == original
    assert editor.can_redo
    assert not editor.can_undo
    assert editor.handle({"action": "undo"})["message"] == "nothing to undo"
    editor.handle({"action": "redo"})
    editor.handle({"action": "redo"})
    assert stored(storage, "lanes") == edited


def test_two_editors_on_one_draft_never_overwrite_each_other(experiment: Any, storage: Any) -> None:
    first = TimeLanesEditor.from_experiment(experiment, PATH)
    second = TimeLanesEditor.from_experiment(experiment, PATH)
    assert first.handle({"action": "toggle", "lane": "mot light", "step": 1})["ok"]
    after_first = stored(storage, "lanes")
    status = second.handle({"action": "remove_lane", "name": "camera"})
    assert status["ok"] is False
    assert status.get("conflict") is True
    assert "changed in the store" in status["message"]
    assert stored(storage, "lanes") == after_first
    # the refused editor reloaded: it now shows the first editor's edit, and can edit again
    assert second.time_lanes == after_first
    assert second.version == first.version
    assert second.handle({"action": "remove_lane", "name": "camera"})["ok"]
    assert "camera" not in stored(storage, "lanes").lanes
    # and the first one is now the stale one (undo included)
    assert first.handle({"action": "undo"})["conflict"] is True
    assert "camera" not in stored(storage, "lanes").lanes


def test_a_sequence_that_left_draft_is_read_only(experiment: Any, storage: Any) -> None:
    editor = TimeLanesEditor.from_experiment(experiment, PATH)
    with storage.session() as session:
        session.sequences.prepare(PATH, ParameterNamespace.empty(), {}, RunOwner.current(), 4)
    before = stored(storage, "lanes")
    status = editor.handle({"action": "toggle", "lane": "mot light", "step": 1})
    assert status["ok"] is False
    assert "draft" in status["message"]
    assert stored(storage, "lanes") == before
    assert editor.read_only is True
    assert "preparing" in editor.read_only_reason
    status = editor.handle({"action": "toggle", "lane": "mot light", "step": 1})
    assert status["ok"] is False
    assert "only a draft can be edited" in status["message"]


class ShutterLane(TimeLane[str]):
    """A lane of the test's own kind: open / closed / half."""

    kind = "shutter"

    def check_value(self, value: Any) -> str:
        if value not in ("open", "closed", "half"):
            raise ValueError(f"a shutter is open, closed or half, got {value!r}")
        return str(value)


def test_extension_lanes_use_the_cell_editor_they_declare(
    experiment: Any, storage: Any, tmp_path: Path
) -> None:
    module = tmp_path / "shutter_cell.js"
    module.write_text("export function renderCell({ el, text }) { el.textContent = text; }\n")
    extensions = dict(experiment.time_lane_extensions)
    extensions["shutter"] = TimeLaneExtension(
        label="shutter",
        lane_type=ShutterLane,
        register_types=lambda registry: registry.register(
            "test_shutter_lane",
            ShutterLane,
            encode=lambda lane, _: [[v, s] for v, s in lane.blocks],
            decode=lambda data, _: ShutterLane.from_blocks((v, s) for v, s in data),
        ),
        lane_factory=lambda steps: ShutterLane.from_blocks([("closed", steps)]),
        cell_editor="choice",
        choices=("open", "closed", "half"),
    )
    extensions["fancy"] = TimeLaneExtension(
        label="fancy",
        lane_type=type("FancyLane", (ShutterLane,), {}),
        register_types=lambda registry: None,
        lane_factory=lambda steps: None,
        cell_editor=str(module),
    )
    experiment.register_time_lane_extension(extensions["shutter"])
    storage = experiment.get_storage_manager()  # the serializer now knows the shutter lane
    editor = TimeLanesEditor(
        storage, PATH, lane_extensions=extensions, device_extensions=experiment.device_extensions
    )
    assert editor.cell_modules == {"fancy": module.read_text()}
    assert editor.handle({"action": "add_lane", "name": "shutter", "kind": "shutter"})["ok"]
    row = editor.view["lanes"][-1]
    assert (row["editor"], row["choices"]) == ("choice", ["open", "closed", "half"])
    editor.handle(
        {"action": "set_cells", "lane": "shutter", "start": 1, "stop": 2, "value": "open"}
    )
    assert stored(storage, "lanes").lanes["shutter"].blocks == (
        ("closed", 1),
        ("open", 1),
        ("closed", 1),
    )
    bad = editor.handle(
        {"action": "set_cells", "lane": "shutter", "start": 0, "stop": 1, "value": "ajar"}
    )
    assert bad["ok"] is False
    assert "open, closed or half" in bad["message"]
    # no device reads the shutter lane: the check says so, on the lane
    assert any(
        p["lane"] == "shutter" and "no device uses this lane" in p["message"]
        for p in editor.problems
    )


class RecordingComm(comm.base_comm.BaseComm):  # type: ignore[misc]
    """A comm that keeps what the widget sends to the front end."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent: list[dict[str, Any]] = []
        super().__init__(*args, **kwargs)

    def publish_msg(
        self,
        msg_type: str,
        data: Any = None,
        metadata: Any = None,
        buffers: Any = None,
        **keys: Any,
    ) -> None:
        self.sent.append({"type": msg_type, "data": data})


def test_a_front_end_message_is_applied_and_answered_over_the_comm(
    experiment: Any, storage: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(comm, "create_comm", RecordingComm)
    editor = TimeLanesEditor.from_experiment(experiment, PATH)
    channel = editor.comm
    channel.sent.clear()
    channel.handle_msg(
        {
            "content": {
                "data": {
                    "method": "update",
                    "state": {
                        "command": {"id": 42, "action": "toggle", "lane": "mot light", "step": 1}
                    },
                    "buffer_paths": [],
                }
            },
            "buffers": [],
        }
    )
    assert stored(storage, "lanes").lanes["mot light"].blocks == ((True, 2), (False, 1))
    states = [m["data"]["state"] for m in channel.sent if m["data"].get("method") == "update"]
    statuses = [s["status"] for s in states if "status" in s]
    assert statuses[-1] == {"id": 42, "action": "toggle", "ok": True, "message": "saved"}
    assert any("view" in s for s in states)


def test_custom_messages_from_the_front_end_are_applied_in_order(
    experiment: Any, storage: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(comm, "create_comm", RecordingComm)
    editor = TimeLanesEditor.from_experiment(experiment, PATH)
    for number, step in enumerate((1, 2)):
        editor.comm.handle_msg(
            {
                "content": {
                    "data": {
                        "method": "custom",
                        "content": {
                            "kind": "shotbook-command",
                            "command": {
                                "id": number,
                                "action": "toggle",
                                "lane": "mot light",
                                "step": step,
                            },
                        },
                    }
                },
                "buffers": [],
            }
        )
    assert stored(storage, "lanes").lanes["mot light"].blocks == ((True, 3),)
    assert editor.status["id"] == 1


def test_digital_expressions_and_extension_values_are_checked_per_lane() -> None:
    from shotbook.ui.editors._lanes_editor import cell_value

    lane = DigitalTimeLane([True])
    assert cell_value(lane, "off") is False
    assert cell_value(lane, "square_wave(t * 1 kHz)") == Expression("square_wave(t * 1 kHz)")
    analog = AnalogTimeLane(["1 V"])
    with pytest.raises(ValueError, match="needs an expression"):
        cell_value(analog, "  ")
