"""Every core type round-trips through the tagged JSON serializer."""

import json
from dataclasses import dataclass

import pytest

from shotbook.registry import (
    RegistryError,
    SerializationError,
    Serializer,
    TypeRegistry,
    default_registry,
)
from shotbook.types import (
    AnalogTimeLane,
    ArangeLoop,
    CameraTimeLane,
    DigitalTimeLane,
    ExecuteShot,
    Expression,
    LinspaceLoop,
    ParameterNamespace,
    PureSequencePath,
    Ramp,
    StepsConfiguration,
    TimeLanes,
    VariableDeclaration,
)


@pytest.fixture
def serializer() -> Serializer:
    return Serializer(default_registry())


def sample_lanes() -> TimeLanes:
    return TimeLanes(
        ["load", "ramp", "image"],
        ["100 ms", "wait_time", "10 us"],
        {
            "mot.coils": DigitalTimeLane.from_blocks([(True, 2), ("square_wave(t*1 kHz)", 1)]),
            "mot.aom": AnalogTimeLane(["mot.detuning + 2 MHz", Ramp(), "0 MHz"]),
            "camera": CameraTimeLane([None, None, "atoms"]),
        },
    )


SAMPLES = [
    Expression("10 MHz"),
    PureSequencePath("/a/b c"),
    ParameterNamespace.from_mapping({"mot": {"detuning": "-10 MHz"}, "x": "2 * mot.detuning"}),
    StepsConfiguration(
        [
            VariableDeclaration("a", "1 ms"),
            LinspaceLoop("w", "1 ms", "2 ms", 3, [ArangeLoop("i", "0", "3", "1", [ExecuteShot()])]),
        ]
    ),
    sample_lanes(),
    {"nested": [1, 2.5, None, True, "x", float("inf")]},
]


@pytest.mark.parametrize("value", SAMPLES, ids=lambda v: type(v).__name__)
def test_round_trip(serializer: Serializer, value: object) -> None:
    text = serializer.dumps(value)
    assert json.loads(text)["format"] == 1
    assert serializer.loads(text) == value


def test_tags_not_import_paths(serializer: Serializer) -> None:
    text = serializer.dumps(sample_lanes())
    assert "shotbook." not in text
    assert '"$type":"time_lanes"' in text


def test_unknown_tag_is_a_clear_error(serializer: Serializer) -> None:
    text = json.dumps({"format": 1, "value": {"$type": "os.system", "$data": "rm -rf /"}})
    with pytest.raises(RegistryError, match=r"unknown type tag 'os\.system'"):
        serializer.loads(text)


def test_unregistered_object_is_refused(serializer: Serializer) -> None:
    class Thing:
        pass

    with pytest.raises(SerializationError, match="not registered"):
        serializer.dumps(Thing())


def test_other_format_version_says_to_upgrade(serializer: Serializer) -> None:
    with pytest.raises(SerializationError, match="upgrade"):
        serializer.loads('{"format": 99, "value": 1}')
    with pytest.raises(SerializationError, match="not valid JSON"):
        serializer.loads("{nope")


def test_extension_dataclass_and_tag_clash() -> None:
    @dataclass(frozen=True)
    class Pixel:
        x: int
        y: int

    registry = default_registry()
    registry.register("pixel", Pixel)
    serializer = Serializer(registry)
    assert serializer.loads(serializer.dumps([Pixel(1, 2)])) == [Pixel(1, 2)]
    with pytest.raises(RegistryError, match="already used"):
        registry.register("pixel", dict)
    with pytest.raises(RegistryError, match="not a dataclass"):
        TypeRegistry().register("thing", object)


def test_corrupt_stored_fields_name_the_type(serializer: Serializer) -> None:
    text = json.dumps({"format": 1, "value": {"$type": "linspace_loop", "$data": {"bogus": 1}}})
    with pytest.raises(SerializationError, match="linspace_loop"):
        serializer.loads(text)
