"""Dotted parameter names."""

import pytest

from shotbook.types import DottedVariableName, InvalidVariableNameError


def test_parts_and_parent() -> None:
    name = DottedVariableName("mot.coils.current")
    assert name.parts == ("mot", "coils", "current")
    assert name.name == "current"
    assert name.parent == DottedVariableName("mot.coils")
    assert DottedVariableName("x").parent is None
    assert DottedVariableName("mot") / "detuning" == "mot.detuning"


def test_equal_to_its_text_and_hashes_alike() -> None:
    assert DottedVariableName("a.b") == "a.b"
    assert {DottedVariableName("a.b"): 1}["a.b"] == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("a..b", "part ''"),
        ("1abc", "must start with a letter"),
        ("a.b-c", "part 'b-c'"),
        ("t", "reserved"),
        ("sin", "reserved"),
        ("a.lambda", "reserved word"),
        ("_private", "must start with a letter"),
    ],
)
def test_invalid_names(text: str, message: str) -> None:
    with pytest.raises(InvalidVariableNameError, match=message):
        DottedVariableName(text)
