"""Pulse Streamer 8/2: shots compiled to the client's Sequence, decoded back and compared
with shotbook's compiled instructions (exact up to int16 quantisation of analog levels)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pulsestreamer
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shotbook.compile import (
    AnalogChannelConfiguration,
    CalibratedMapping,
    ConfigurationError,
    Constant,
    DeviceTrigger,
    DigitalChannelConfiguration,
    ExternalClock,
    ExternalTriggerStart,
    LaneValues,
    SequenceCheckError,
    SequenceCompiler,
    SequencerConfiguration,
    ShotCompilationError,
    check_sequence,
)
from shotbook.device.basler import BaslerCameraCompiler, BaslerCameraConfiguration
from shotbook.device.pulsestreamer import (
    PulseStreamerCompiler,
    PulseStreamerConfiguration,
    build_sequence,
    quantize,
    register_pulse_streamer_types,
)
from shotbook.registry import Serializer, default_registry
from shotbook.types import (
    AnalogTimeLane,
    CameraTimeLane,
    DigitalTimeLane,
    Ramp,
    ShotParameters,
    StepsConfiguration,
    TimeLanes,
    parse_unit,
)

from .decode import channel_runs, dense, expected_analog, expected_digital

COMPILERS: dict[type, Any] = {
    PulseStreamerConfiguration: PulseStreamerCompiler,
    BaslerCameraConfiguration: BaslerCameraCompiler,
}


def _digital(name: str) -> DigitalChannelConfiguration:
    return DigitalChannelConfiguration(name, LaneValues(name, default=False))


def _analog(name: str) -> AnalogChannelConfiguration:
    return AnalogChannelConfiguration(name, LaneValues(name), "V", (-1.0, 1.0))


def _compile(
    lanes: TimeLanes,
    config: Any,
    values: dict[str, Any] | None = None,
    units: dict[str, str] | None = None,
    others: dict[str, Any] | None = None,
) -> Any:
    devices = {"pulser": config, **(others or {})}
    compiler = SequenceCompiler(lanes, devices, compilers=COMPILERS)
    parsed = {name: parse_unit(unit) for name, unit in (units or {}).items()}
    return compiler.compile_shot(ShotParameters(dict(values or {}), parsed))


def _instructions(
    lanes: TimeLanes, config: PulseStreamerConfiguration, shot: Any, **others: Any
) -> Any:
    """shotbook's own compiled instructions of the channels, on both grids."""
    digital = SequencerConfiguration(config.time_step, config.digital_channels)
    analog = SequencerConfiguration(config.analog_time_step, config.analog_channels)
    devices = {"d": digital, "a": analog, **others}
    compiled = SequenceCompiler(lanes, devices, compilers=COMPILERS).compile_shot(shot)
    return compiled["d"]["sequence"], compiled["a"]["sequence"]


def test_small_shot_is_exact_per_nanosecond() -> None:
    lanes = TimeLanes(
        ["a", "b", "c"],
        ["2 us", "4.5 us", "3 us"],
        {
            "d3": DigitalTimeLane([True, False, True]),
            "v": AnalogTimeLane(["0.2 V", Ramp(), "-0.5 V"]),
        },
    )
    config = PulseStreamerConfiguration(
        time_step=1000,
        analog_time_step=500_000,
        channels=(_digital("d0"), _digital("d1"), _digital("d2"), _digital("d3"), _analog("v")),
    )
    params = _compile(lanes, config)["pulser"]
    sequence = build_sequence(pulsestreamer, params)
    assert sequence.getDuration() == params["duration_ns"] == 9500
    assert len(sequence.getData()) == params["pulses"]
    digital, analog = dense(sequence)
    expected_d3 = np.repeat([1, 0, 1], [2000, 4500, 3000])
    np.testing.assert_array_equal(digital[3], expected_d3)
    assert not digital[[0, 1, 2, 4, 5, 6, 7]].any()
    # the ramp is sampled every 0.5 µs from 2 µs (start value) to its end, then -0.5 V
    ramp = 0.2 + (-0.5 - 0.2) * np.arange(9) / 9
    expected_v = np.concatenate([np.full(2000, 0.2), np.repeat(ramp, 500), np.full(3000, -0.5)])
    np.testing.assert_array_equal(analog[0], quantize(expected_v))
    assert not analog[1].any()


@st.composite
def random_shots(draw: st.DrawFn) -> tuple[TimeLanes, PulseStreamerConfiguration]:
    steps = draw(st.integers(2, 5))
    durations = [draw(st.integers(1, 3000)) for _ in range(steps)]
    lanes: dict[str, Any] = {}
    channels: list[Any] = []
    for port in range(draw(st.integers(0, 8))):
        name = f"d{port}"
        lanes[name] = DigitalTimeLane(draw(st.lists(st.booleans(), min_size=steps, max_size=steps)))
        channels.append(_digital(name))
    for port in range(draw(st.integers(0 if channels else 1, 2))):
        name = f"a{port}"
        values: list[Any] = []
        for index in range(steps):
            ramp = (
                0 < index < steps - 1 and not isinstance(values[-1], Ramp) and draw(st.booleans())
            )
            level = draw(st.floats(-1.0, 1.0, allow_nan=False))
            values.append(Ramp() if ramp else f"{level:.6f} V")
        lanes[name] = AnalogTimeLane(values)
        channels.append(_analog(name))
    time_step = draw(st.sampled_from([1000, 2000]))
    config = PulseStreamerConfiguration(
        time_step=time_step,
        analog_time_step=time_step * draw(st.sampled_from([1, 3, 50, 400])),
        channels=tuple(draw(st.permutations(channels))),
    )
    return TimeLanes([f"s{i}" for i in range(steps)], [f"{d} ns" for d in durations], lanes), config


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_shots())
def test_random_shots_decode_to_the_compiled_instructions(shot: Any) -> None:
    lanes, config = shot
    params = _compile(lanes, config)["pulser"]
    sequence = build_sequence(pulsestreamer, params)
    digital_instruction, analog_instruction = _instructions(lanes, config, ShotParameters({}, {}))
    duration = params["duration_ns"]
    assert sequence.getDuration() == duration
    assert len(sequence.getData()) == params["pulses"]
    digital, analog = dense(sequence)
    step_ns = config.time_step // 1000
    for name, port in config.digital_ports.items():
        values = np.repeat(digital_instruction.field(name).to_array().astype(np.uint8), step_ns)
        np.testing.assert_array_equal(digital[port], values, err_msg=name)
    for name, port in config.analog_ports.items():
        ticks = analog_instruction.field(name).to_array()
        values = np.repeat(quantize(ticks), config.analog_time_step // 1000)[:duration]
        np.testing.assert_array_equal(analog[port], values, err_msg=name)
    unused = set(range(8)) - set(config.digital_ports.values())
    assert not digital[sorted(unused)].any()


def workload() -> tuple[TimeLanes, PulseStreamerConfiguration, BaslerCameraConfiguration]:
    """The reference workload's shape within the box: 5 steps (~145 ms), 8 digital channels
    at 1 ns (one triggers the camera, one a 500 kHz clock), 2 analog channels with ramps and
    unit expressions through calibrations."""
    lanes = TimeLanes(
        ["load", "compress", "wait", "image", "rest"],
        ["100 ms", "20 ms", "wait_time", "100 us", "15 ms - wait_time"],
        {
            "mot light": DigitalTimeLane([True, True, False, False, False]),
            "repump": DigitalTimeLane([True, True, False, True, False]),
            "imaging light": DigitalTimeLane([False, False, False, True, False]),
            "push": DigitalTimeLane([False, False, False, "square_wave(t / (2 us))", False]),
            "camera": CameraTimeLane([None, None, None, "cloud", None]),
            "mot detuning": AnalogTimeLane(
                ["mot.detuning + 2 MHz", Ramp(), "-40 MHz", "0 MHz", "mot.detuning"]
            ),
            "coil current": AnalogTimeLane(["10 A", Ramp(), "0 A", "0 A", "0 A"]),
        },
    )
    digital_names = ["mot light", "repump", "imaging light", "push"]
    config = PulseStreamerConfiguration(
        time_step=1000,
        analog_time_step=1_000_000,
        channels=(
            *(_digital(n) for n in digital_names),
            DigitalChannelConfiguration("camera trigger", DeviceTrigger("camera")),
            DigitalChannelConfiguration("spare 5", Constant(False)),
            DigitalChannelConfiguration("spare 6", Constant(True)),
            DigitalChannelConfiguration("spare 7", Constant(False)),
            AnalogChannelConfiguration(
                "detuning",
                CalibratedMapping(
                    LaneValues("mot detuning"), ((-60.0, -1.0), (60.0, 1.0)), "MHz", "V"
                ),
                "V",
                (-1.0, 1.0),
            ),
            AnalogChannelConfiguration(
                "coil",
                CalibratedMapping(LaneValues("coil current"), ((0.0, 0.0), (20.0, 1.0)), "A", "V"),
                "V",
                (0.0, 1.0),
            ),
        ),
    )
    camera = BaslerCameraConfiguration(roi=(0, 0, 64, 48), sensor_size=(64, 48))
    return lanes, config, camera


@pytest.mark.parametrize("wait_time", [1e-3, 5.5e-3, 10e-3])
def test_reference_shaped_workload_decodes_to_the_compiled_instructions(wait_time: float) -> None:
    lanes, config, camera = workload()
    values = {"wait_time": wait_time, "mot.detuning": -15e6}
    units = {"wait_time": "ms", "mot.detuning": "MHz"}
    compiled = _compile(lanes, config, values, units, {"camera": camera})
    params = compiled["pulser"]
    sequence = build_sequence(pulsestreamer, params)
    assert sequence.getDuration() == params["duration_ns"] == 135_100_000
    assert len(sequence.getData()) == params["pulses"]
    digital_instruction, analog_instruction = _instructions(
        lanes,
        config,
        ShotParameters(values, {k: parse_unit(u) for k, u in units.items()}),
        camera=camera,
    )
    digital, analog = channel_runs(sequence)
    for name, port in config.digital_ports.items():
        assert digital[port] == expected_digital(digital_instruction.field(name), 1), name
    # the camera is exposed during the 100 µs 'image' step
    image_start = int((120e-3 + wait_time) * 1e9)
    assert digital[4] == [(image_start, 0), (100_000, 1), (15_000_000 - round(wait_time * 1e9), 0)]
    for name, port in config.analog_ports.items():
        expected = expected_analog(analog_instruction.field(name), 1000, params["duration_ns"])
        assert analog[port] == expected, name
    # the 20 ms ramps are sampled once per µs (int16 levels), never per ns
    assert 15_000 < params["pulses"] < 25_000


def test_a_shot_over_the_pulse_memory_fails_to_compile_naming_the_device() -> None:
    def lanes(**clocks: str) -> TimeLanes:
        return TimeLanes(
            ["clock", "other"],
            ["1 ms", "1 ms"],
            {name: DigitalTimeLane([f"square_wave(t / ({period}))", False])
             for name, period in clocks.items()},
        )  # fmt: skip

    alone = PulseStreamerConfiguration(1000, (_digital("fast"),), max_pulses=10_000)
    with pytest.raises(ShotCompilationError, match="fast has more than 10000") as caught:
        _compile(lanes(fast="100 ns"), alone)
    assert "pulser" in str(caught.value)
    # each channel fits (~6,500 changes), their merged sequence does not
    together = PulseStreamerConfiguration(1000, (_digital("a"), _digital("b")), max_pulses=10_000)
    with pytest.raises(ShotCompilationError, match=r"needs 1\d{4} pulses.*memory of 10000"):
        _compile(lanes(a="300 ns", b="310 ns"), together)
    one = PulseStreamerConfiguration(1000, (_digital("a"),), max_pulses=10_000)
    assert _compile(lanes(a="300 ns"), one)["pulser"]["pulses"] == 6668


def test_a_ramp_over_the_pulse_memory_is_refused_statically() -> None:
    lanes = TimeLanes(
        ["a", "ramp", "b"], ["1 ms", "10 ms", "1 ms"], {"v": AnalogTimeLane(["0 V", Ramp(), "1 V"])}
    )
    fine = PulseStreamerConfiguration(1000, (_analog("v"),), analog_time_step=1_000_000)
    check_sequence(lanes, StepsConfiguration([]), None, {"pulser": fine}, compilers=COMPILERS)
    too_fine = PulseStreamerConfiguration(1000, (_analog("v"),), analog_time_step=1000)
    with pytest.raises(SequenceCheckError, match=r"10000000 pulses.*'pulser'|pulser.*10000000"):
        check_sequence(
            lanes, StepsConfiguration([]), None, {"pulser": too_fine}, compilers=COMPILERS
        )


def test_levels_outside_the_channel_range_fail_to_compile() -> None:
    lanes = TimeLanes(["a"], ["1 us"], {"v": AnalogTimeLane(["level"])})
    config = PulseStreamerConfiguration(1000, (_analog("v"),))
    with pytest.raises(ShotCompilationError, match="v"):
        _compile(lanes, config, {"level": 1.5}, {"level": "V"})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"time_step": 500}, "multiple of 1 ns"),
        ({"analog_time_step": 1500}, "multiple of time_step"),
        ({"channels": tuple(_digital(f"d{i}") for i in range(9))}, "8 digital and 2 analog"),
        ({"channels": tuple(_analog(f"a{i}") for i in range(3))}, "8 digital and 2 analog"),
        (
            {"channels": (AnalogChannelConfiguration("v", LaneValues("v"), "V", (-2.0, 2.0)),)},
            "within ±1 V",
        ),
        (
            {"channels": (AnalogChannelConfiguration("v", LaneValues("v"), "mV", (0.0, 1.0)),)},
            "output_unit 'V'",
        ),
        ({"trigger": ExternalClock()}, "SoftwareTrigger or ExternalTriggerStart"),
        ({"max_pulses": 0}, "max_pulses"),
        ({"address": ""}, "address"),
    ],
)
def test_bad_configurations_are_refused(options: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"time_step": 1000, "channels": (_digital("d"),)}
    values.update(options)
    with pytest.raises(ConfigurationError, match=message):
        PulseStreamerConfiguration(**values)


def test_configuration_round_trips_through_the_serializer() -> None:
    registry = default_registry()
    register_pulse_streamer_types(registry)
    config = PulseStreamerConfiguration(
        2000, (_digital("d"), _analog("v")), trigger=ExternalTriggerStart(), address="10.0.0.7"
    )
    serializer = Serializer(registry)
    assert serializer.loads(serializer.dumps(config)) == config
    assert config.digital_ports == {"d": 0}
    assert config.analog_ports == {"v": 0}
