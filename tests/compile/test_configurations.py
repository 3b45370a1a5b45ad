"""Device configurations: validation and JSON round trip through the registry."""

from __future__ import annotations

import json

import pytest

from shotbook.compile import (
    Advance,
    AnalogChannelConfiguration,
    And,
    Broaden,
    CalibratedMapping,
    CameraConfiguration,
    ConfigurationError,
    Constant,
    Delay,
    DeviceTrigger,
    DigitalChannelConfiguration,
    ExternalClock,
    ExternalTriggerStart,
    LaneValues,
    Not,
    Or,
    SequencerConfiguration,
    SoftwareTrigger,
    Xor,
    register_compile_types,
)
from shotbook.registry import Serializer, default_registry
from shotbook.types import Expression


def every_configuration() -> list[object]:
    digital = SequencerConfiguration(
        time_step=50_000,
        trigger=SoftwareTrigger(),
        device_server="rack",
        channels=(
            DigitalChannelConfiguration("a", LaneValues("mot.light", default=False)),
            DigitalChannelConfiguration(
                "b",
                Or(
                    And(Not(LaneValues("x")), Constant(True)),
                    Xor(DeviceTrigger("camera", default=False), Constant("enabled")),
                ),
                description="logic",
            ),
            DigitalChannelConfiguration(
                "c", Broaden(Advance(LaneValues("y"), "1 ms"), "2 ms", "left")
            ),
        ),
    )
    analog = SequencerConfiguration(
        time_step=2_500_000,
        trigger=ExternalTriggerStart(),
        channels=(
            AnalogChannelConfiguration(
                "aom",
                Delay(CalibratedMapping(LaneValues("f"), ((70, 0), (90, 1.5)), "MHz", "V"), "1 us"),
                "V",
                (0, 10),
            ),
            AnalogChannelConfiguration("offset", Constant(0.5), None, (-1, 1)),
        ),
    )
    clocked = SequencerConfiguration(time_step=1_000_000, trigger=ExternalClock(), channels=())
    camera = CameraConfiguration(roi=(0, 0, 512, 512), sensor_size=(512, 512), device_server="pc2")
    return [digital, analog, clocked, camera]


def test_json_round_trip() -> None:
    registry = default_registry()
    register_compile_types(registry)
    register_compile_types(registry)  # registering again is harmless
    serializer = Serializer(registry)
    for configuration in every_configuration():
        text = serializer.dumps(configuration)
        json.loads(text)  # plain JSON
        assert serializer.loads(text) == configuration


def test_values_are_normalised() -> None:
    mapping = CalibratedMapping(LaneValues("f"), [[70, 0], [90, 1]], "MHz", "V")
    assert mapping.points == ((70.0, 0.0), (90.0, 1.0))
    assert Constant("1 V").value == Expression("1 V")
    assert Advance(LaneValues("x"), "1 ms").duration == Expression("1 ms")
    assert AnalogChannelConfiguration("a", Constant(0.0), "V", [0, 1]).output_range == (0.0, 1.0)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SequencerConfiguration(time_step=0, channels=()), "time_step"),
        (lambda: SequencerConfiguration(time_step=1.5, channels=()), "integer"),
        (
            lambda: SequencerConfiguration(
                time_step=1,
                channels=(
                    DigitalChannelConfiguration("a", Constant(True)),
                    DigitalChannelConfiguration("a", Constant(False)),
                ),
            ),
            "used twice",
        ),
        (lambda: CalibratedMapping(LaneValues("f"), ((1, 0),)), "two points"),
        (lambda: CalibratedMapping(LaneValues("f"), ((1, 0), (1, 2))), "strictly increase"),
        (lambda: AnalogChannelConfiguration("a", Constant(0.0), "V", (1, 0)), "low <= high"),
        (lambda: Broaden(LaneValues("x"), "1 ms", side="up"), "side"),
        (lambda: CameraConfiguration(roi=(500, 0, 100, 10), sensor_size=(512, 512)), "fit"),
        (lambda: DigitalChannelConfiguration("", Constant(True)), "channel name"),
        (lambda: Constant([1, 2]), "Constant.value"),
    ],
)
def test_invalid_configurations_say_what_is_wrong(build: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build()  # type: ignore[operator]
