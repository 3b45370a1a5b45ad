"""Static checks before running: every problem reported at once, located."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shotbook.compile import (
    CalibratedMapping,
    CameraConfiguration,
    Constant,
    DeviceTrigger,
    LaneValues,
    SequenceCheckError,
    SequencerConfiguration,
    ShotCompilationError,
    check_sequence,
    find_sequence_problems,
)
from shotbook.types import (
    AnalogTimeLane,
    DigitalTimeLane,
    ExecuteShot,
    Expression,
    LinspaceLoop,
    ParameterNamespace,
    StepsConfiguration,
    TimeLanes,
    VariableDeclaration,
)

from .helpers import analog_channel, digital_sequencer

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
from bench_compile import reference_workload

US = 1_000_000
SCAN = StepsConfiguration([LinspaceLoop("wait", "1 us", "3 us", 3, [ExecuteShot()])])
GLOBALS = ParameterNamespace.from_mapping({"detuning": "-2 MHz", "enabled": "Enabled"})


def test_the_reference_workload_passes() -> None:
    lanes, scan, globals_, devices = reference_workload()
    check_sequence(lanes, scan, globals_, devices)


def test_every_problem_is_reported_with_its_location() -> None:
    lanes = TimeLanes(
        ["load", "wait"],
        ["10 us", "detuning"],  # a frequency is not a duration
        {
            "shutter": DigitalTimeLane([Expression("enabled"), Expression("2 * detuning")]),
            "aom": AnalogTimeLane(["80 MHz + detuning", "95 MHz"]),
            "coil": AnalogTimeLane(["1 V", "1 s"]),
            "forgotten": DigitalTimeLane([True, False]),
            "typo": AnalogTimeLane(["detunin", "1 V"]),
        },
    )
    devices = {
        "seq": digital_sequencer(
            US, shutter="shutter", cam=DeviceTrigger("camera"), missing="nowhere"
        ),
        "card": SequencerConfiguration(
            time_step=US,
            channels=(
                analog_channel(
                    "aom", CalibratedMapping(LaneValues("aom"), ((70, 0), (90, 1)), "MHz", "V")
                ),
                analog_channel("coil", "coil"),
                analog_channel("typo", "typo"),
                analog_channel("offset", Constant("20 V")),
                analog_channel(
                    "wrong", CalibratedMapping(LaneValues("aom"), ((0, 0), (1, 1)), "s", "V")
                ),
            ),
        ),
    }
    problems = find_sequence_problems(lanes, SCAN, GLOBALS, devices)
    assert all(isinstance(p, ShotCompilationError) for p in problems)

    def find(text: str) -> ShotCompilationError:
        matches = [p for p in problems if text in str(p)]
        assert matches, f"no problem mentions {text!r}: {[str(p) for p in problems]}"
        return matches[0]  # type: ignore[return-value]

    assert find("not a time").step == "wait"
    bool_problem = find("digital lane needs a bool")
    assert (bool_problem.lane, bool_problem.step) == ("shutter", "wait")
    assert find("share one dimension").lane == "coil"
    typo = find("did you mean 'detuning'")
    assert (typo.lane, typo.step) == ("typo", "load")
    calibration = find("outside the calibration range")
    assert (calibration.device, calibration.channel, calibration.step) == ("card", "aom", "wait")
    output = find("outside the output range")
    assert (output.channel, output.step) == ("offset", None)
    assert "20 V" in str(output)
    assert find("unknown device 'camera'").channel == "cam"
    assert find("no such lane").lane == "nowhere"
    assert find("no device uses this lane").lane == "forgotten"
    assert find("calibration's input is in s").channel == "wrong"

    with pytest.raises(SequenceCheckError) as info:
        check_sequence(lanes, SCAN, GLOBALS, devices)
    assert len(info.value.errors) == len(problems)
    text = str(info.value)
    assert f"{len(problems)} problems found" in text
    assert "1. " in text
    assert "lane 'forgotten'" in text


def test_triggers_and_cameras() -> None:
    lanes = TimeLanes(["a"], ["10 us"], {"cam": DigitalTimeLane([True])})
    devices = {
        "card": SequencerConfiguration(time_step=US, channels=()),
        "seq": digital_sequencer(US, start=DeviceTrigger("card"), me=DeviceTrigger("seq")),
        "cam": CameraConfiguration(roi=(0, 0, 10, 10), sensor_size=(10, 10)),
    }
    problems = [str(p) for p in find_sequence_problems(lanes, SCAN, GLOBALS, devices)]
    assert any("starts by software" in p for p in problems)
    assert any("cannot trigger itself" in p for p in problems)
    assert any("is a digital lane; a camera takes the pictures" in p for p in problems)


def test_an_unknown_configuration_type_is_reported() -> None:
    lanes = TimeLanes(["a"], ["1 us"], {})
    problems = find_sequence_problems(lanes, SCAN, GLOBALS, {"thing": object()})
    assert len(problems) == 1
    assert "no compiler" in str(problems[0])
    assert getattr(problems[0], "device", None) == "thing"


def test_scan_errors_are_reported() -> None:
    lanes = TimeLanes(["a"], ["1 us"], {})
    scan = StepsConfiguration([LinspaceLoop("wait", "1 us", "3 MHz", 3, [ExecuteShot()])])
    problems = find_sequence_problems(lanes, scan, GLOBALS, {})
    assert len(problems) == 1
    assert "same dimension" in str(problems[0])


def test_a_scan_variable_set_to_enabled_drives_a_digital_lane() -> None:
    # caqtus sequences declare such placeholders (repump = True) and use them in lanes
    scan = StepsConfiguration(
        [
            VariableDeclaration("repump", "Enabled"),
            LinspaceLoop("wait", "1 us", "3 us", 3, [ExecuteShot()]),
        ]
    )
    lanes = TimeLanes(
        ["load", "wait"], ["10 us", "wait"], {"shutter": DigitalTimeLane(["repump", False])}
    )
    devices = {"seq": digital_sequencer(50_000, shutter="shutter")}
    assert find_sequence_problems(lanes, scan, GLOBALS, devices) == []
