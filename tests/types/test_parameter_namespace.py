"""Nested, ordered parameter namespaces."""

import math

import pytest

from shotbook.types import (
    DimensionError,
    InvalidVariableNameError,
    ParameterNamespace,
    UndefinedParameterError,
)


def make() -> ParameterNamespace:
    return ParameterNamespace.from_mapping(
        {
            "mot": {"detuning": "-10 MHz", "power": "5 mW", "enabled": "Enabled"},
            "probe": {"detuning": "2 * mot.detuning + 1 MHz"},
            "repetitions": "3",
        }
    )


def test_flatten_keeps_order_and_dotted_names() -> None:
    assert make().names() == [
        "mot.detuning",
        "mot.power",
        "mot.enabled",
        "probe.detuning",
        "repetitions",
    ]


def test_later_entries_see_earlier_ones() -> None:
    values = make().evaluate()
    assert values["probe.detuning"].to("MHz").magnitude == pytest.approx(-19.0)
    assert values["mot.enabled"] is True
    assert values["repetitions"] == 3.0
    assert isinstance(values["repetitions"], float)


def test_compiled_namespace_gives_si_values_and_display_units() -> None:
    shot = make().compile().evaluate()
    assert shot["mot.detuning"] == pytest.approx(-10e6)
    assert shot.unit("mot.detuning").symbol == "MHz"
    assert shot.display("mot.power") == pytest.approx(5.0)
    assert math.isclose(shot["mot.power"], 5e-3)


def test_undefined_name_is_located_and_suggests_closest() -> None:
    namespace = ParameterNamespace.from_mapping(
        {"mot": {"detuning": "1 MHz"}, "x": "mot.detunin * 2"}
    )
    with pytest.raises(UndefinedParameterError) as info:
        namespace.compile()
    message = str(info.value)
    assert "parameter 'x'" in message
    assert "mot.detuning" in message


def test_using_a_later_parameter_is_an_error() -> None:
    namespace = ParameterNamespace.from_mapping({"a": "b + 1", "b": "1"})
    with pytest.raises(UndefinedParameterError, match="parameter 'a'"):
        namespace.compile()


def test_dimension_error_names_the_parameter() -> None:
    namespace = ParameterNamespace.from_mapping({"a": "1 MHz", "b": "a + 1 s"})
    with pytest.raises(DimensionError, match="parameter 'b'"):
        namespace.compile()


def test_bad_names_and_duplicates() -> None:
    with pytest.raises(InvalidVariableNameError):
        ParameterNamespace.from_mapping({"t": "1"})
    with pytest.raises(ValueError, match="defined twice"):
        ParameterNamespace([("a", "1"), ("a", "2")])
    with pytest.raises(ValueError, match="defined twice"):
        ParameterNamespace([("a.b", "1"), ("a", {"b": "2"})]).compile()


def test_round_trip_to_mapping() -> None:
    namespace = make()
    assert ParameterNamespace.from_mapping(namespace.to_mapping()) == namespace


def test_numbers_and_bools_are_accepted() -> None:
    values = ParameterNamespace.from_mapping({"a": 2, "b": True, "c": 0.5}).evaluate()
    assert values == {"a": 2.0, "b": True, "c": 0.5}
