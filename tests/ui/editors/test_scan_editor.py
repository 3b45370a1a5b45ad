"""The scan editor: the steps tree, edited and saved, with its shot count."""

from __future__ import annotations

from typing import Any

import pytest

from shotbook.types import ArangeLoop, ExecuteShot, LinspaceLoop, VariableDeclaration
from shotbook.ui.editors import ScanEditor

from .conftest import PATH, demo_scan, stored


@pytest.fixture
def editor(storage: Any) -> ScanEditor:
    return ScanEditor(storage, PATH)


def test_the_tree_and_the_shot_count_are_shown(editor: ScanEditor) -> None:
    steps = editor.view["steps"]
    assert [s["kind"] for s in steps] == ["variable", "linspace"]
    assert steps[1]["children"] == [{"kind": "shot", "text": "do shot"}]
    assert editor.expected_shots == 4
    assert editor.problems == []


def test_fields_are_saved_and_the_count_follows(editor: ScanEditor, storage: Any) -> None:
    editor.handle({"action": "set_field", "path": [1], "field": "num", "value": "10"})
    assert editor.expected_shots == 10
    editor.handle({"action": "set_field", "path": [1], "field": "stop", "value": "20 ms"})
    loop = stored(storage, "scan").steps[1]
    assert (loop.num, loop.stop.text) == (10, "20 ms")


def test_invalid_text_is_refused_and_marked(editor: ScanEditor, storage: Any) -> None:
    status = editor.handle(
        {"action": "set_field", "path": [0], "field": "value", "value": "1 mW *"}
    )
    assert status["ok"] is False
    assert editor.invalid["1/value"]["text"] == "1 mW *"
    assert stored(storage, "scan") == demo_scan()
    status = editor.handle({"action": "set_field", "path": [1], "field": "num", "value": "many"})
    assert "integer" in status["message"]


def test_a_dimension_mismatch_is_a_problem_located_at_its_step(editor: ScanEditor) -> None:
    editor.handle({"action": "set_field", "path": [1], "field": "stop", "value": "8 MHz"})
    assert editor.problems[0]["step"] == [1]
    assert "same dimension" in editor.problems[0]["message"]
    assert editor.expected_shots == -1


def test_steps_are_inserted_nested_copied_pasted_and_removed(
    editor: ScanEditor, storage: Any
) -> None:
    editor.handle({"action": "insert", "path": [2], "kind": "arange"})
    assert isinstance(stored(storage, "scan").steps[2], ArangeLoop)
    assert editor.expected_shots == 4 + 5
    # nest the arange loop inside the linspace loop, after its shot
    editor.handle({"action": "move", "path": [2], "to": [1, 1]})
    loop = stored(storage, "scan").steps[1]
    assert isinstance(loop.sub_steps[1], ArangeLoop)
    assert editor.expected_shots == 4 * (1 + 5)
    refused = editor.handle({"action": "move", "path": [1], "to": [1, 0]})
    assert "into itself" in refused["message"]
    editor.handle({"action": "copy", "path": [0]})
    editor.handle({"action": "paste", "path": [1, 0]})
    assert stored(storage, "scan").steps[1].sub_steps[0] == VariableDeclaration(
        "probe.power", "1 mW"
    )
    editor.handle({"action": "remove", "path": [1, 2]})
    editor.handle({"action": "remove", "path": [1, 0]})
    assert stored(storage, "scan") == demo_scan()
    editor.handle({"action": "insert", "path": [0], "kind": "shot"})
    assert stored(storage, "scan").steps[0] == ExecuteShot()
    assert editor.expected_shots == 5


def test_paste_goes_to_another_sequence(experiment: Any, storage: Any) -> None:
    with storage.session() as session:
        session.sequences.create(
            "/scans/other", demo_scan().__class__([]), stored(storage, "lanes")
        )
    first = ScanEditor(storage, PATH)
    other = ScanEditor(storage, "/scans/other")
    first.handle({"action": "copy", "path": [1]})
    assert other.handle({"action": "paste", "path": [0]})["ok"]
    assert isinstance(stored(storage, "scan", "/scans/other").steps[0], LinspaceLoop)
    assert other.expected_shots == 4


def test_two_scan_editors_conflict_instead_of_overwriting(storage: Any) -> None:
    first, second = ScanEditor(storage, PATH), ScanEditor(storage, PATH)
    first.handle({"action": "remove", "path": [0]})
    status = second.handle({"action": "insert", "path": [0], "kind": "shot"})
    assert status["conflict"] is True
    assert len(stored(storage, "scan").steps) == 1
    assert second.scan == first.scan
