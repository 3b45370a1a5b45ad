"""Cameras, triggers between devices, and compilers given by injection."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from shotbook.compile import (
    CameraConfiguration,
    DeviceCompiler,
    DeviceTrigger,
    ExternalClock,
    ExternalTriggerStart,
    SequenceCompiler,
    SequencerConfiguration,
    ShotCompilationError,
    ShotContext,
    SoftwareTrigger,
)
from shotbook.types import CameraTimeLane, DigitalTimeLane, Expression, TimeLanes

from .helpers import analog_channel, compile_one, digital_sequencer, shot

US = 1_000_000


def camera_lanes() -> TimeLanes:
    return TimeLanes(
        ["load", "image", "wait", "background"],
        ["2.5 us", "2 us", "3 us", "1.5 us"],
        {"cam": CameraTimeLane([None, "atoms", None, "background"])},
    )


def test_camera_shot_parameters_and_trigger() -> None:
    devices = {
        "cam": CameraConfiguration(roi=(10, 20, 100, 50), sensor_size=(512, 512), timeout=2.0),
        "seq": digital_sequencer(US, trigger=DeviceTrigger("cam")),
    }
    compiler = SequenceCompiler(camera_lanes(), devices)
    assert compiler.compile_initialization_parameters()["cam"] == {
        "roi": (10, 20, 100, 50),
        "sensor_size": (512, 512),
    }
    result = compiler.compile_shot(shot())
    camera = result["cam"]
    assert camera["picture_names"] == ["atoms", "background"]
    assert camera["exposures"] == pytest.approx([2e-6, 1.5e-6])
    assert camera["timeout"] == pytest.approx(9e-6 + 2.0)
    assert camera["roi"] == (10, 20, 100, 50)
    # pictures at 2.5..4.5 us and 7.5..9 us -> ticks 3..5 and 8..9 on a 1 us clock
    trigger = result["seq"]["sequence"].field("trigger")
    assert trigger.to_segments() == [(3, False), (2, True), (3, False), (1, True)]


def test_start_trigger_is_high_for_the_first_half_of_the_shot() -> None:
    lanes = TimeLanes(["a"], ["10 us"], {})
    devices = {
        "card": SequencerConfiguration(
            time_step=2 * US, trigger=ExternalTriggerStart(), channels=()
        ),
        "seq": digital_sequencer(US, start=DeviceTrigger("card")),
    }
    compiler = SequenceCompiler(lanes, devices)
    result = compiler.compile_shot(shot())
    assert result["seq"]["sequence"].field("start").to_segments() == [(5, True), (5, False)]
    assert compiler.compile_initialization_parameters()["card"]["trigger"] == ExternalTriggerStart()


def test_external_clock_ticks_once_per_time_step_of_the_clocked_device() -> None:
    lanes = TimeLanes(["a"], ["10 us"], {})
    devices = {
        "card": SequencerConfiguration(time_step=4 * US, trigger=ExternalClock(), channels=()),
        "seq": digital_sequencer(US, clock=DeviceTrigger("card")),
    }
    clock = compile_one(lanes, devices)["seq"]["sequence"].field("clock")
    assert len(clock) == 10
    assert clock.to_array().tolist() == [True, True, False, False] * 2 + [True, True]


def test_clock_needs_a_multiple_of_two_ticks() -> None:
    lanes = TimeLanes(["a"], ["10 us"], {})
    devices = {
        "card": SequencerConfiguration(time_step=3 * US, trigger=ExternalClock(), channels=()),
        "seq": digital_sequencer(2 * US, clock=DeviceTrigger("card")),
    }
    with pytest.raises(ShotCompilationError, match="multiple of twice") as info:
        compile_one(lanes, devices)
    assert info.value.device == "card"


def test_software_triggered_devices_have_no_trigger() -> None:
    lanes = TimeLanes(["a"], ["10 us"], {})
    devices = {
        "card": SequencerConfiguration(time_step=US, trigger=SoftwareTrigger(), channels=()),
        "seq": digital_sequencer(US, start=DeviceTrigger("card")),
    }
    with pytest.raises(ShotCompilationError, match="starts by software"):
        compile_one(lanes, devices)


def test_trigger_of_an_absent_device_uses_the_default() -> None:
    lanes = TimeLanes(["a"], ["3 us"], {})
    devices = {"seq": digital_sequencer(US, start=DeviceTrigger("elsewhere", default=False))}
    start = compile_one(lanes, devices)["seq"]["sequence"].field("start")
    assert start.to_segments() == [(3, False)]
    with pytest.raises(ShotCompilationError, match="does not use"):
        compile_one(lanes, {"seq": digital_sequencer(US, start=DeviceTrigger("elsewhere"))})


def test_reference_chain_digital_triggers_analog_and_camera() -> None:
    lanes = TimeLanes(
        ["load", "image"],
        ["6 us", "2 us"],
        {
            "light": DigitalTimeLane([False, True]),
            "cam": CameraTimeLane([None, "atoms"]),
        },
    )
    devices = {
        "seq": digital_sequencer(
            US, light="light", camera=DeviceTrigger("cam"), card=DeviceTrigger("card")
        ),
        "card": SequencerConfiguration(
            time_step=4 * US,
            trigger=ExternalTriggerStart(),
            channels=(analog_channel("const", analog_channel_node()),),
        ),
        "cam": CameraConfiguration(roi=(0, 0, 512, 512), sensor_size=(512, 512)),
    }
    result = compile_one(lanes, devices)
    sequence = result["seq"]["sequence"].to_array()
    assert sequence["light"].tolist() == [False] * 6 + [True] * 2
    assert sequence["camera"].tolist() == [False] * 6 + [True] * 2
    assert sequence["card"].tolist() == [True] * 4 + [False] * 4
    assert result["card"]["sequence"].field("const").to_array().tolist() == [0.25, 0.25]
    assert result["cam"]["exposures"] == pytest.approx([2e-6])


def analog_channel_node() -> Any:
    from shotbook.compile import Constant

    return Constant("250 mV")


# --- a user's own device, compiled by a compiler given by injection --------------------------


@dataclass(frozen=True)
class LaserConfiguration:
    lane: str


class LaserCompiler:
    def __init__(self, device_name: str, configuration: LaserConfiguration) -> None:
        self.configuration = configuration
        self.seen: list[int] = []

    def compile_initialization_parameters(self) -> Mapping[str, Any]:
        return {"lane": self.configuration.lane}

    def compile_shot_parameters(self, context: ShotContext) -> Mapping[str, Any]:
        first = context.digital_lane(self.configuration.lane, US)
        again = context.digital_lane(self.configuration.lane, US)
        assert first is again  # evaluated once per shot, then cached
        power = context.evaluate(Expression("2 * power"), lane=self.configuration.lane)
        return {"on_ticks": int(first.to_array().sum()), "power": power}


def test_extension_compilers_are_injected() -> None:
    lanes = TimeLanes(["a", "b"], ["2 us", "3 us"], {"laser": DigitalTimeLane([True, False])})
    devices = {"laser": LaserConfiguration("laser")}
    with pytest.raises(ShotCompilationError, match="no compiler for configurations of type"):
        SequenceCompiler(lanes, devices)
    compiler = SequenceCompiler(lanes, devices, compilers={LaserConfiguration: LaserCompiler})
    assert isinstance(compiler.compilers["laser"], DeviceCompiler)
    result = compiler.compile_shot(shot({"power": 1.5}))
    assert result["laser"] == {"on_ticks": 2, "power": 3.0}
    assert compiler.compile_initialization_parameters() == {"laser": {"lane": "laser"}}


def test_context_exposes_exact_times() -> None:
    lanes = TimeLanes(["a", "b"], ["2.5 us", "wait"], {})
    compiler = SequenceCompiler(lanes, {})
    context = compiler.context(shot({"wait": 1e-6}, {"wait": "us"}))
    assert context.step_starts == (0, 2_500_000, 3_500_000)
    assert context.duration == 3_500_000
    assert context.number_ticks(US) == 4
    assert context.step_ticks(US) == [(0, 3), (3, 4)]
    assert context.step_at_tick(3, US) == "b"
    assert np.isclose(context.evaluate(Expression("wait * 2")), 2e-6)
