"""Analog lanes: constants, ramps, time-dependent blocks, calibrations, ranges."""

from __future__ import annotations

import numpy as np
import pytest

from shotbook.compile import (
    CalibratedMapping,
    Constant,
    Delay,
    LaneValues,
    LinearRamp,
    SequencerConfiguration,
    ShotCompilationError,
)
from shotbook.types import AnalogTimeLane, Ramp, TimeLanes

from .helpers import analog_channel, compile_one, shot

US = 1_000_000


def analog(*channels: object, time_step: int = US) -> dict:
    return {"card": SequencerConfiguration(time_step=time_step, channels=tuple(channels))}


def values(result: dict, channel: str) -> list[float]:
    return result["card"]["sequence"].field(channel).to_array().tolist()


def test_constant_blocks_and_a_ramp_joining_them() -> None:
    lanes = TimeLanes(
        ["a", "b", "c"], ["2 us", "4 us", "2 us"], {"v": AnalogTimeLane(["1 V", Ramp(), "5 V"])}
    )
    result = compile_one(lanes, analog(analog_channel("out", "v")))
    assert values(result, "out") == [1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 5.0]
    line = result["card"]["sequence"]
    assert any(isinstance(node, LinearRamp) for node in line.children())


def test_ramp_off_the_tick_grid_is_linear_in_time() -> None:
    # starts 0, 1.5, 5.5, 7 us -> ramp ticks 2..5 at t = 0.5, 1.5, 2.5, 3.5 us into the ramp
    lanes = TimeLanes(
        ["a", "b", "c"], ["1.5 us", "4 us", "1.5 us"], {"v": AnalogTimeLane(["0 V", Ramp(), "4 V"])}
    )
    result = compile_one(lanes, analog(analog_channel("out", "v")))
    assert values(result, "out") == [0.0, 0.0, 0.5, 1.5, 2.5, 3.5, 4.0]


def test_ramp_joins_the_end_and_start_of_time_dependent_neighbours() -> None:
    lanes = TimeLanes(
        ["up", "ramp", "down"],
        ["2 us", "2 us", "2 us"],
        {"v": AnalogTimeLane(["t / (1 us) * 1 V", Ramp(), "6 V - t / (1 us) * 1 V"])},
    )
    result = compile_one(lanes, analog(analog_channel("out", "v")))
    # up: 0, 1 V at its ticks, ends at 2 V; down starts at 6 V: the ramp goes 2 -> 6 over 2 us
    assert np.allclose(values(result, "out"), [0.0, 1.0, 2.0, 4.0, 6.0, 5.0])


def test_time_dependent_block_uses_t_since_its_start() -> None:
    lanes = TimeLanes(
        ["a", "b"], ["1.5 us", "3 us"], {"v": AnalogTimeLane(["0 V", "t / (1 us) * 1 V"])}
    )
    result = compile_one(lanes, analog(analog_channel("out", "v")))
    assert np.allclose(values(result, "out"), [0.0, 0.0, 0.5, 1.5, 2.5])


def test_calibration_maps_lane_units_to_the_output() -> None:
    lanes = TimeLanes(
        ["a", "b", "c"],
        ["1 us", "2 us", "1 us"],
        {"aom": AnalogTimeLane(["80 MHz + detuning", Ramp(), "90 MHz"])},
    )
    channel = analog_channel(
        "aom", CalibratedMapping(LaneValues("aom"), ((70, 0.0), (80, 0.4), (90, 1.0)), "MHz", "V"),
        low=0.0, high=1.0,
    )  # fmt: skip
    result = compile_one(lanes, analog(channel), shot({"detuning": -5e6}, {"detuning": "MHz"}))
    # 75 MHz -> 0.2 V; ramp 75 -> 90 MHz over 2 ticks: 75, 82.5 MHz -> 0.2, 0.55 V; 90 MHz -> 1 V
    assert np.allclose(values(result, "aom"), [0.2, 0.2, 0.55, 1.0])
    # the ramp crosses the calibration point at 80 MHz: it is split, not expanded
    assert result["card"]["sequence"].leaf_values() <= 8


def test_output_unit_conversion() -> None:
    lanes = TimeLanes(["a"], ["2 us"], {"v": AnalogTimeLane(["250 mV"])})
    result = compile_one(lanes, analog(analog_channel("out", "v", unit="mV", low=0, high=500)))
    assert values(result, "out") == pytest.approx([250.0, 250.0])


def test_value_outside_the_output_range_names_channel_step_and_value() -> None:
    lanes = TimeLanes(
        ["load", "blast"], ["1 us", "1 us"], {"v": AnalogTimeLane(["1 V", "amplitude"])}
    )
    parameters = shot({"amplitude": 12.0}, {"amplitude": "V"})
    with pytest.raises(ShotCompilationError, match="outside the output range") as info:
        compile_one(lanes, analog(analog_channel("coil", "v", low=-10, high=10)), parameters)
    error = info.value
    assert (error.device, error.channel, error.step) == ("card", "coil", "blast")
    assert "value 12 V" in str(error)
    assert "[-10, 10] V" in str(error)
    assert "amplitude = 12 V" in str(error)


def test_value_outside_the_calibration_names_the_step() -> None:
    lanes = TimeLanes(["a", "b"], ["1 us", "1 us"], {"f": AnalogTimeLane(["75 MHz", "95 MHz"])})
    channel = analog_channel(
        "aom", CalibratedMapping(LaneValues("f"), ((70, 0.0), (90, 1.0)), "MHz", "V")
    )
    with pytest.raises(ShotCompilationError, match="outside the calibration range") as info:
        compile_one(lanes, analog(channel))
    assert (info.value.channel, info.value.step) == ("aom", "b")
    assert "95 MHz" in str(info.value)


def test_dimension_mismatch_with_the_output_unit() -> None:
    lanes = TimeLanes(["a"], ["1 us"], {"f": AnalogTimeLane(["75 MHz"])})
    with pytest.raises(ShotCompilationError, match="CalibratedMapping") as info:
        compile_one(lanes, analog(analog_channel("aom", "f")))
    assert info.value.channel == "aom"


def test_a_lane_has_one_dimension() -> None:
    lanes = TimeLanes(["a", "b"], ["1 us", "1 us"], {"v": AnalogTimeLane(["1 V", "1 s"])})
    with pytest.raises(ShotCompilationError, match="share one dimension") as info:
        compile_one(lanes, analog(analog_channel("out", "v")))
    assert (info.value.lane, info.value.step) == ("v", "b")


def test_constants_defaults_and_delays() -> None:
    lanes = TimeLanes(["a", "b"], ["2 us", "2 us"], {"v": AnalogTimeLane(["1 V", "3 V"])})
    result = compile_one(
        lanes,
        analog(
            analog_channel("offset", Constant("0.5 V")),
            analog_channel("spare", LaneValues("missing", default="-1 V")),
            analog_channel("late", Delay(LaneValues("v"), "1 us")),
        ),
    )
    assert values(result, "offset") == [0.5] * 4
    assert values(result, "spare") == [-1.0] * 4
    assert values(result, "late") == [1.0, 1.0, 1.0, 3.0]
