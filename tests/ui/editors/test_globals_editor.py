"""The globals editor: rows with evaluated values; invalid text is never saved."""

from __future__ import annotations

from typing import Any

import pytest

from shotbook.types import ParameterNamespace
from shotbook.ui.editors import GlobalsEditor

from .conftest import demo_globals, stored


@pytest.fixture
def editor(storage: Any) -> GlobalsEditor:
    return GlobalsEditor(storage)


def rows(editor: GlobalsEditor) -> dict[str, tuple[str, str | None]]:
    return {
        r["name"]: (r["value"], r["error"]) for r in editor.view["rows"] if r["kind"] == "parameter"
    }


def test_values_are_evaluated_beside_their_expressions(editor: GlobalsEditor) -> None:
    assert rows(editor) == {
        "mot.detuning": ("-15 MHz", None),
        "mot.loading_time": ("100 ms", None),
        "offset": ("-30 MHz", None),
    }
    assert [r["depth"] for r in editor.view["rows"]] == [0, 1, 1, 0]


def test_an_edit_is_saved_and_dependants_are_evaluated_again(
    editor: GlobalsEditor, storage: Any
) -> None:
    editor.handle({"action": "set_expression", "key": ["mot", "detuning"], "value": "-5 MHz"})
    assert stored(storage, "globals").to_mapping()["mot"]["detuning"] == "-5 MHz"
    assert rows(editor)["offset"] == ("-10 MHz", None)


def test_invalid_and_unknown_names(editor: GlobalsEditor, storage: Any) -> None:
    status = editor.handle({"action": "set_expression", "key": ["offset"], "value": "2 *"})
    assert status["ok"] is False
    assert editor.invalid["set_expression/offset"]["column"] == 4
    assert stored(storage, "globals") == demo_globals()
    editor.handle({"action": "set_expression", "key": ["offset"], "value": "2 * mot.detunin"})
    _, error = rows(editor)["offset"]
    assert "did you mean 'mot.detuning'" in error
    assert editor.problems[0]["name"] == "offset"


def test_entries_are_added_renamed_moved_and_removed(editor: GlobalsEditor, storage: Any) -> None:
    editor.handle({"action": "add", "parent": [], "name": "imaging", "kind": "namespace"})
    editor.handle({"action": "add", "parent": ["imaging"], "name": "exposure", "value": "50 us"})
    editor.handle({"action": "rename", "key": ["imaging", "exposure"], "new": "time"})
    editor.handle({"action": "move", "key": ["imaging"], "to": 0})
    assert stored(storage, "globals").to_mapping() == {
        "imaging": {"time": "50 us"},
        "mot": {"detuning": "-15 MHz", "loading_time": "100 ms"},
        "offset": "2 * mot.detuning",
    }
    refused = editor.handle({"action": "rename", "key": ["imaging"], "new": "mot"})
    assert refused["ok"] is False
    assert "twice" in refused["message"]
    editor.handle({"action": "remove", "key": ["imaging"]})
    editor.handle({"action": "undo"})
    assert "imaging" in stored(storage, "globals").to_mapping()
    editor.handle({"action": "redo"})
    assert stored(storage, "globals") == demo_globals()


def test_a_stale_globals_editor_is_refused(storage: Any) -> None:
    first, second = GlobalsEditor(storage), GlobalsEditor(storage)
    first.handle({"action": "remove", "key": ["offset"]})
    status = second.handle({"action": "set_expression", "key": ["offset"], "value": "1"})
    assert status["conflict"] is True
    assert stored(storage, "globals") == ParameterNamespace.from_mapping(
        {"mot": {"detuning": "-15 MHz", "loading_time": "100 ms"}}
    )
