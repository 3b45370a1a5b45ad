"""One undo history per sequence (scan and lanes), one for the globals and the devices
(issue 18, item 8): Undo in any editor undoes the newest edit of the group."""

from __future__ import annotations

from typing import Any

from shotbook.session import RunOwner
from shotbook.types import ParameterNamespace
from shotbook.ui.editors import (
    DeviceConfigurationsEditor,
    GlobalsEditor,
    SequenceEditors,
    link_histories,
)

from .conftest import PATH, stored


def test_undo_in_either_editor_undoes_the_sequences_newest_edit(
    experiment: Any, storage: Any
) -> None:
    editors = SequenceEditors.from_experiment(experiment, PATH)
    scan0, lanes0 = stored(storage, "scan"), stored(storage, "lanes")
    editors.scan.handle({"action": "set_field", "path": [1], "field": "num", "value": "10"})
    scan1 = stored(storage, "scan")
    editors.lanes.handle({"action": "toggle", "lane": "mot light", "step": 1})
    assert stored(storage, "lanes") != lanes0
    assert editors.scan.can_undo
    assert editors.lanes.can_undo

    # the scan's Undo undoes the newest edit of the sequence: the lanes' toggle
    status = editors.scan.handle({"action": "undo"})
    assert status["message"] == f"undone: an edit of the time lanes of {PATH}"
    assert (stored(storage, "scan"), stored(storage, "lanes")) == (scan1, lanes0)
    # then the lanes' Undo undoes the scan's edit, and Redo makes it again
    assert editors.lanes.handle({"action": "undo"})["ok"]
    assert (stored(storage, "scan"), stored(storage, "lanes")) == (scan0, lanes0)
    assert not editors.scan.can_undo
    assert not editors.lanes.can_undo
    assert editors.lanes.handle({"action": "redo"})["ok"]
    assert stored(storage, "scan") == scan1
    assert editors.scan.value == scan1  # the scan editor shows what the lanes' Redo did

    # once the sequence ran, undoing its edits is refused, with why
    with storage.session() as session:
        session.sequences.prepare(PATH, ParameterNamespace.empty(), {}, RunOwner.current(), 4)
    status = editors.lanes.handle({"action": "undo"})
    assert status["ok"] is False
    assert "only a draft can be edited" in status["message"].lower()
    assert stored(storage, "scan") == scan1
    editors.unlink()


def test_the_globals_and_the_devices_share_one_history(experiment: Any, storage: Any) -> None:
    globals_editor = GlobalsEditor.from_experiment(experiment)
    devices = DeviceConfigurationsEditor.from_experiment(experiment)
    link_histories(globals_editor, devices)
    devices0 = stored(storage, "devices")
    globals_editor.handle(
        {"action": "set_expression", "key": ["mot", "detuning"], "value": "-5 MHz"}
    )
    devices.handle(
        {"action": "set_field", "device": "digital", "field": "device_server", "value": "rack"}
    )
    assert stored(storage, "devices") != devices0
    status = globals_editor.handle({"action": "undo"})  # undoes the devices' edit
    assert status["message"].startswith("undone: an edit of")
    assert stored(storage, "devices") == devices0
    assert devices.value == devices0
    assert stored(storage, "globals").to_mapping()["mot"]["detuning"] == "-5 MHz"
    assert devices.can_undo  # the globals' edit is next
