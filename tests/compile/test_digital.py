"""Digital lanes on a device clock: blocks, tick rounding, expressions, errors."""

from __future__ import annotations

import numpy as np
import pytest

from shotbook.compile import (
    Advance,
    And,
    Broaden,
    Constant,
    Delay,
    LaneValues,
    Not,
    Or,
    Repeated,
    ShotCompilationError,
    Xor,
)
from shotbook.types import DigitalTimeLane, Expression, TimeLanes, UndefinedParameterError

from .helpers import compile_one, digital_sequencer, shot

US = 1_000_000  # ps


def segments(result: dict, device: str, channel: str) -> list:
    return result[device]["sequence"].field(channel).to_segments()


def test_blocks_span_ceil_of_their_start_to_ceil_of_their_stop() -> None:
    # starts 0, 2.5, 3.5, 3.7, 6.7 us -> ticks 0, 3, 4, 4, 7 on a 1 us clock
    lanes = TimeLanes(
        ["a", "b", "c", "d"],
        ["2.5 us", "1 us", "0.2 us", "3 us"],
        {"x": DigitalTimeLane([True, False, True, False])},
    )
    result = compile_one(lanes, {"seq": digital_sequencer(US, x="x")})
    sequence = result["seq"]["sequence"]
    assert result["seq"]["time_step"] == US
    assert len(sequence) == 7
    # the 0.2 us block covers no tick: it vanishes
    assert segments(result, "seq", "x") == [(3, True), (4, False)]


def test_expressions_and_parameters() -> None:
    lanes = TimeLanes(
        ["load", "wait", "image"],
        ["2 us", "wait_time", "1 us"],
        {"x": DigitalTimeLane([Expression("enabled"), Expression("wait_time > 2 us"), True])},
    )
    devices = {"seq": digital_sequencer(US, x="x")}
    first = compile_one(
        lanes, devices, shot({"enabled": True, "wait_time": 3e-6}, {"wait_time": "us"})
    )
    assert segments(first, "seq", "x") == [(6, True)]
    assert first["seq"]["sequence"].field("x").to_array().tolist() == [True] * 6
    second = compile_one(
        lanes, devices, shot({"enabled": False, "wait_time": 1e-6}, {"wait_time": "us"})
    )
    assert segments(second, "seq", "x") == [(3, False), (1, True)]


def test_time_dependent_block_samples_t_since_the_block_start() -> None:
    # the block starts at 1.5 us; its ticks are at 2, 3, 4, 5 us, i.e. t = 0.5, 1.5, 2.5, 3.5 us
    lanes = TimeLanes(
        ["before", "pulse"],
        ["1.5 us", "4 us"],
        {"x": DigitalTimeLane([False, Expression("t > 1 us and t < 3 us")])},
    )
    result = compile_one(lanes, {"seq": digital_sequencer(US, x="x")})
    assert result["seq"]["sequence"].field("x").to_array().tolist() == [
        False, False, False, True, True, False,
    ]  # fmt: skip


def test_square_wave_over_one_second_is_a_repetition_of_one_period() -> None:
    lanes = TimeLanes(
        ["wave"], ["1 s"], {"x": DigitalTimeLane([Expression("square_wave(t * 1 kHz)")])}
    )
    result = compile_one(lanes, {"seq": digital_sequencer(50_000, x="x")})
    wave = result["seq"]["sequence"].field("x")
    assert len(wave) == 20_000_000
    assert wave.node_count() <= 12  # not 2000 runs
    repeated = [node for node in [wave, *wave.children()] if isinstance(node, Repeated)]
    assert any(node.repetitions >= 900 for node in repeated)
    ticks = np.array([0, 9_999, 10_000, 19_999, 20_000, 10_000_000, 19_999_999])
    assert wave.values_at(ticks).tolist() == [True, True, False, False, True, True, False]


def test_a_billion_ticks_of_constant_output_cost_nothing() -> None:
    lanes = TimeLanes(["long"], ["1000 s"], {"x": DigitalTimeLane([True])})
    result = compile_one(lanes, {"seq": digital_sequencer(1_000_000, x="x")})
    sequence = result["seq"]["sequence"]
    assert len(sequence) == 10**9
    assert sequence.node_count() == 2


def test_logic_and_time_shifts() -> None:
    lanes = TimeLanes(
        ["a", "b", "c"],
        ["3 us", "2 us", "3 us"],
        {"x": DigitalTimeLane([False, True, False]), "y": DigitalTimeLane([True, True, False])},
    )
    x, y = LaneValues("x"), LaneValues("y")
    devices = {
        "seq": digital_sequencer(
            US,
            delayed=Delay(x, "1 us"),
            advanced=Advance(x, "2 us"),
            left=Broaden(x, "1 us", side="left"),
            both=Broaden(x, "1 us"),
            right=Broaden(x, "0.5 us", side="right"),  # rounds up to one tick
            inverted=Not(x),
            both_on=And(x, y),
            either=Or(x, Constant(False)),
            differ=Xor(x, y),
        )
    }
    result = compile_one(lanes, devices)
    expected = {
        "delayed": [(4, False), (2, True), (2, False)],
        "advanced": [(1, False), (2, True), (5, False)],
        "left": [(2, False), (3, True), (3, False)],
        "both": [(2, False), (4, True), (2, False)],
        "right": [(3, False), (3, True), (2, False)],
        "inverted": [(3, True), (2, False), (3, True)],
        "both_on": [(3, False), (2, True), (3, False)],
        "either": [(3, False), (2, True), (3, False)],
        "differ": [(3, True), (5, False)],
    }
    for channel, runs in expected.items():
        assert segments(result, "seq", channel) == runs, channel


def test_missing_lane_uses_the_default() -> None:
    lanes = TimeLanes(["a"], ["2 us"], {})
    devices = {"seq": digital_sequencer(US, x=LaneValues("nothing", default=True))}
    assert segments(compile_one(lanes, devices), "seq", "x") == [(2, True)]
    with pytest.raises(ShotCompilationError, match="no lane for this channel") as info:
        compile_one(lanes, {"seq": digital_sequencer(US, x="nothing")})
    assert (info.value.device, info.value.channel, info.value.lane) == ("seq", "x", "nothing")


def test_a_non_bool_expression_names_lane_and_step() -> None:
    lanes = TimeLanes(
        ["a", "b"], ["1 us", "1 us"], {"x": DigitalTimeLane([True, Expression("power")])}
    )
    with pytest.raises(ShotCompilationError) as info:
        compile_one(lanes, {"seq": digital_sequencer(US, x="x")}, shot({"power": 2.0}))
    error = info.value
    assert (error.lane, error.step, error.device) == ("x", "b", "seq")
    assert "needs a bool" in str(error)
    assert "lane 'x', step 'b'" in str(error)
    assert "power = 2" in str(error)  # the shot's parameters


def test_negative_duration_names_the_step_and_the_parameters() -> None:
    lanes = TimeLanes(
        ["load", "wait"], ["1 us", "wait_time"], {"x": DigitalTimeLane([True, False])}
    )
    parameters = shot({"wait_time": -2e-3}, {"wait_time": "ms"})
    with pytest.raises(ShotCompilationError, match="negative") as info:
        compile_one(lanes, {"seq": digital_sequencer(US, x="x")}, parameters)
    assert info.value.step == "wait"
    assert info.value.parameters is parameters
    assert "wait_time = -2 ms" in str(info.value)


def test_a_duration_that_is_not_a_time_names_the_step() -> None:
    lanes = TimeLanes(["load"], ["10 MHz"], {"x": DigitalTimeLane([True])})
    with pytest.raises(ShotCompilationError, match="not a time") as info:
        compile_one(lanes, {"seq": digital_sequencer(US, x="x")})
    assert info.value.step == "load"


def test_an_undefined_parameter_is_located_and_chained() -> None:
    lanes = TimeLanes(["a"], ["1 us"], {"x": DigitalTimeLane([Expression("enabeld")])})
    with pytest.raises(ShotCompilationError, match="did you mean 'enabled'") as info:
        compile_one(lanes, {"seq": digital_sequencer(US, x="x")}, shot({"enabled": True}))
    assert (info.value.lane, info.value.step) == ("x", "a")
    assert isinstance(info.value.__cause__, UndefinedParameterError)
    assert str(info.value.__cause__).startswith("device 'seq', lane 'x', step 'a': ")


def test_a_lane_used_by_no_device_is_an_error() -> None:
    lanes = TimeLanes(
        ["a"], ["1 us"], {"x": DigitalTimeLane([True]), "forgotten": DigitalTimeLane([False])}
    )
    with pytest.raises(ShotCompilationError, match="no device uses this lane") as info:
        compile_one(lanes, {"seq": digital_sequencer(US, x="x")})
    assert info.value.lane == "forgotten"
    # the preview path allows it
    compile_one(lanes, {"seq": digital_sequencer(US, x="x")}, check_lane_use=False)
