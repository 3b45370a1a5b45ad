"""One compiler for many shots: its caches give what fresh compilers give, and the fast
internal constructors build the same instructions as the public ones."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from shotbook.compile import (
    AnalogChannelConfiguration,
    And,
    Broaden,
    CalibratedMapping,
    CameraConfiguration,
    Constant,
    DeviceTrigger,
    DigitalChannelConfiguration,
    ExternalTriggerStart,
    InstructionError,
    LaneValues,
    Not,
    SequenceCompiler,
    SequencerConfiguration,
    ShotCompilationError,
    constant,
    repeat,
    stack_channels,
)
from shotbook.compile._instructions import Pattern
from shotbook.types import (
    AnalogTimeLane,
    CameraTimeLane,
    DigitalTimeLane,
    Ramp,
    TakePicture,
    TimeLanes,
)

from .helpers import shot


def lanes() -> TimeLanes:
    return TimeLanes(
        ["load", "ramp", "wait", "image"],
        ["load", "20 us", "wait", "3 us"],
        {
            "light": DigitalTimeLane([True, True, False, True]),
            "shutter": DigitalTimeLane([False, True, "wait > 8 us", False]),
            "power": AnalogTimeLane.from_blocks([("power", 1), (Ramp(), 1), ("0.2 * power", 2)]),
            "camera": CameraTimeLane([None, None, None, TakePicture("atoms")]),
        },
    )


def devices() -> dict[str, Any]:
    digital = SequencerConfiguration(
        time_step=500_000,
        channels=(
            DigitalChannelConfiguration("light", LaneValues("light")),
            DigitalChannelConfiguration("shutter", Broaden(LaneValues("shutter"), "2 us")),
            DigitalChannelConfiguration(
                "gate", And(LaneValues("light"), Not(LaneValues("shutter")))
            ),
            DigitalChannelConfiguration("camera", DeviceTrigger("camera")),
            DigitalChannelConfiguration("analog", DeviceTrigger("analog")),
        ),
    )
    analog = SequencerConfiguration(
        time_step=2_000_000,
        trigger=ExternalTriggerStart(),
        channels=(
            AnalogChannelConfiguration(
                "power",
                CalibratedMapping(LaneValues("power"), ((0, 0.0), (2, 3.0), (10, 8.0)), "mW", "V"),
                "V",
                (0.0, 10.0),
            ),
            AnalogChannelConfiguration("offset", Constant("0.5 V"), "V", (-1.0, 1.0)),
        ),
    )
    camera = CameraConfiguration(roi=(0, 0, 8, 8), sensor_size=(8, 8))
    return {"digital": digital, "analog": analog, "camera": camera}


def parameters(load: float, wait: float, power: float) -> Any:
    return shot(
        {"load": load, "wait": wait, "power": power}, {"load": "us", "wait": "us", "power": "mW"}
    )


SHOTS = [
    parameters(100e-6, 5e-6, 5e-3),
    parameters(100e-6, 12.3e-6, 5e-3),
    parameters(37.5e-6, 9e-6, 1e-3),  # another segment of the calibration
    parameters(100e-6, 0.0, 9e-3),
    parameters(100e-6, 5e-6, 5e-3),  # back to the first shot
]


def test_one_compiler_for_many_shots_gives_what_fresh_compilers_give() -> None:
    reused = SequenceCompiler(lanes(), devices())
    for parameters_ in SHOTS:
        got = reused.compile_shot(parameters_)
        expected = SequenceCompiler(lanes(), devices()).compile_shot(parameters_)
        for device in ("digital", "analog"):
            assert got[device]["sequence"] == expected[device]["sequence"]
            assert repr(got[device]["sequence"]) == repr(expected[device]["sequence"])
        assert got["camera"] == expected["camera"]


def test_an_error_after_good_shots_still_names_the_lane_and_step() -> None:
    compiler = SequenceCompiler(lanes(), devices())
    compiler.compile_shot(SHOTS[0])
    with pytest.raises(ShotCompilationError) as caught:
        compiler.compile_shot(parameters(100e-6, 5e-6, 20e-3))  # 20 mW: beyond the calibration
    assert caught.value.channel == "power"
    assert caught.value.step == "load"


def test_a_replaced_compiler_is_checked_again_as_a_trigger_source() -> None:
    compiler = SequenceCompiler(lanes(), devices())
    compiler.compile_shot(SHOTS[0])

    class NoTrigger:
        def compile_initialization_parameters(self) -> dict[str, Any]:
            return {}

        def compile_shot_parameters(self, context: Any) -> dict[str, Any]:
            context.camera_pictures("camera")
            return {}

    compiler.compilers["camera"] = NoTrigger()
    with pytest.raises(ShotCompilationError, match="has no trigger signal to compute"):
        compiler.compile_shot(SHOTS[0])


def test_lane_blocks_follow_the_lane_object() -> None:
    compiler = SequenceCompiler(lanes(), devices())
    sequence = compiler._sequence
    first = sequence.lane_blocks("light", sequence.time_lanes.lanes["light"])
    assert [(value, step) for value, step, _, _ in first] == [
        (True, "load"),
        (False, "wait"),
        (True, "image"),
    ]
    other = DigitalTimeLane([False, True, True, True])
    assert [(value, step) for value, step, _, _ in sequence.lane_blocks("light", other)] == [
        (False, "load"),
        (True, "ramp"),
    ]


def test_constant_shares_the_bool_leaves_and_keeps_its_checks() -> None:
    a, b = constant(True, 5, np.bool_), constant(True, 7, np.bool_)
    assert a.children()[0] is b.children()[0]
    assert a == repeat(Pattern(np.array([True])), 5)
    assert constant(False, 1, np.bool_) == Pattern(np.array([False]))
    with pytest.raises(InstructionError, match="repetitions is an integer >= 0"):
        constant(True, -1, np.bool_)
    with pytest.raises(InstructionError, match="repetitions is an integer >= 0"):
        constant(1.0, 2.5)  # type: ignore[arg-type]
    with pytest.raises(InstructionError, match="a pattern is 1-D"):
        constant(np.zeros(2), 3)


def test_stacked_constants_and_ramps_keep_exact_values() -> None:
    ramp = constant(-0.0, 2, np.float64) + constant(1.5, 3, np.float64)
    other = constant(0.25, 5, np.float64)
    stacked = stack_channels({"a": ramp, "b": other})
    assert np.signbit(stacked.field("a").to_array()[0])
    assert stacked.field("a") == ramp
    assert stacked.field("b") == other
