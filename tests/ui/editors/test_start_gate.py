"""Start is refused while the open sequence's editors report problems (ExperimentView)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from shotbook.extension import Experiment
from shotbook.session import State
from shotbook.ui import ExperimentView

from .conftest import PATH

_ids = itertools.count(1)


@pytest.fixture
def view(experiment: Experiment) -> Iterator[ExperimentView]:
    shown = ExperimentView(experiment, poll_interval=0.2)
    shown.panel.select(PATH)
    assert shown.panel.flush()
    yield shown
    shown.close()


def press_start(view: ExperimentView) -> dict[str, Any]:
    """Press Start as the front end does (a custom message); wait for the answer."""
    control = view.panel.run_control
    control._custom_message(
        control, {"type": "command", "command": {"id": next(_ids), "action": "start"}}, []
    )
    assert view.panel.flush()
    return dict(control.status)


def test_a_clean_draft_can_be_started(view: ExperimentView, experiment: Experiment) -> None:
    control = view.panel.run_control
    assert view.editors is not None
    assert view.editors.path == PATH
    assert control.path == PATH
    assert control.can_start is True
    assert control.start_blocked == ""
    assert press_start(view)["ok"] is True
    manager = experiment.get_local_experiment_manager()
    assert manager.wait(60)
    with experiment.storage_session() as session:
        assert session.sequences.get_state(PATH) is State.FINISHED


def test_problems_block_start_with_where_and_why_until_fixed(
    view: ExperimentView, experiment: Experiment
) -> None:
    control = view.panel.run_control
    lanes = view.editors.lanes
    # a valid expression of the wrong dimension: saved, but a problem of lane and step
    assert lanes.handle(
        {"action": "set_cells", "lane": "mot detuning", "start": 2, "stop": 3, "value": "10 A"}
    )["ok"]
    blocked = control.start_blocked
    assert "time lanes:" in blocked
    assert "mot detuning" in blocked
    assert "'image'" in blocked  # the step's name
    assert "dimension" in blocked
    status = press_start(view)
    assert status["ok"] is False
    assert status["message"].startswith("not started: ")
    with experiment.storage_session() as session:
        assert session.sequences.get_state(PATH) is State.DRAFT

    # text that is not an expression is not saved, and blocks too: Start would run
    # something else than what the grid shows
    lanes.handle(
        {"action": "set_cells", "lane": "mot detuning", "start": 2, "stop": 3, "value": "0 MHz"}
    )
    assert control.start_blocked == ""
    lanes.handle(
        {"action": "set_cells", "lane": "coil current", "start": 0, "stop": 1, "value": "3 A +"}
    )
    assert control.start_blocked.startswith("not saved: lane 'coil current', step 1: '3 A +': ")
    lanes.handle(
        {"action": "set_cells", "lane": "coil current", "start": 0, "stop": 1, "value": "3 A"}
    )
    assert control.start_blocked == ""
    assert press_start(view)["ok"] is True
    assert experiment.get_local_experiment_manager().wait(60)


def test_an_edit_in_the_globals_tab_blocks_the_open_sequence(view: ExperimentView) -> None:
    control = view.panel.run_control
    assert view.editors.globals is view.globals_editor
    view.globals_editor.handle(
        {"action": "set_expression", "key": ["mot", "loading_time"], "value": "5 A"}
    )
    assert "load" in control.start_blocked, control.start_blocked
    assert "dimension" in control.start_blocked or "not a time" in control.start_blocked
    view.globals_editor.handle({"action": "undo"})
    assert control.start_blocked == ""


def test_only_the_sequence_shown_in_the_run_control_is_gated(
    view: ExperimentView, experiment: Experiment
) -> None:
    with experiment.storage_session() as session:
        session.sequences.create("/other", *_sequence_of(session))
    view.editors.lanes.handle({"action": "set_duration", "index": 0, "value": "3 MHz"})
    assert view.panel.run_control.start_blocked
    view.panel.refresh()
    view.panel.select("/other")
    assert view.panel.flush()
    assert view.editors.path == "/other"
    assert view.panel.run_control.start_blocked == ""
    # the editors of the first sequence no longer listen to the shared editors (left: the
    # second sequence's, and the devices editor's, which shares the globals' undo history)
    listeners = view.globals_editor._listeners
    assert len(listeners) == 2


def _sequence_of(session: Any) -> tuple[Any, Any]:
    return session.sequences.get_iteration(PATH), session.sequences.get_time_lanes(PATH)


def test_an_error_of_the_previewed_shot_blocks_start(view: ExperimentView) -> None:
    """A value-dependent error (a negative duration at shot 0) passes the static checks; the
    preview's compilation of that shot finds it, and Start is blocked."""
    control = view.panel.run_control
    scan = view.editors.scan
    answer = scan.handle({"action": "set_field", "path": [1], "field": "start", "value": "-2 ms"})
    assert answer["ok"], answer
    assert scan.problems == []
    assert "preview of shot 0: " in control.start_blocked
    assert "the duration 'time_of_flight' is negative" in control.start_blocked
    status = press_start(view)
    assert status["ok"] is False
    scan.handle({"action": "undo"})
    assert control.start_blocked == ""


def test_a_channel_the_camera_needs_is_checked_before_launch(view: ExperimentView) -> None:
    """The simulated camera sees the cloud while its imaging light is on: an imaging light
    that names no channel of the lab is refused by the static checks, naming the camera."""
    control = view.panel.run_control
    devices = view.editors.devices
    answer = devices.handle(
        {"action": "set_field", "device": "camera", "field": "imaging_light",
         "value": "digital, probe"}
    )  # fmt: skip
    assert answer["ok"], answer
    assert "the world's imaging light is channel 'probe' of device 'digital'" in (
        control.start_blocked
    )
    assert press_start(view)["ok"] is False
    devices.handle(
        {"action": "set_field", "device": "camera", "field": "imaging_light",
         "value": "digital, imaging light"}
    )  # fmt: skip
    assert control.start_blocked == ""
