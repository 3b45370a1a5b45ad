"""PulseStreamerSequencer driven through a recording stand-in of the client's PulseStreamer
class (no physical box here): connection, trigger set-up, stream, start, wait, close."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import numpy as np
import pulsestreamer
import pytest

from shotbook.compile import (
    AnalogChannelConfiguration,
    DigitalChannelConfiguration,
    ExternalTriggerStart,
    LaneValues,
    SequenceCompiler,
)
from shotbook.device import (
    DeviceError,
    DeviceTimeoutError,
    Sequencer,
    SequencerTimeoutError,
    ShotRunner,
    open_devices,
)
from shotbook.device.pulsestreamer import (
    PulseStreamerCompiler,
    PulseStreamerConfiguration,
    PulseStreamerSequencer,
    pulse_streamer_device_extension,
    register_pulse_streamer_types,
)
from shotbook.registry import default_registry
from shotbook.types import AnalogTimeLane, DigitalTimeLane, Ramp, ShotParameters, TimeLanes

from .decode import dense
from .recording import RecordingPulseStreamer

COMPILERS: dict[type, Any] = {PulseStreamerConfiguration: PulseStreamerCompiler}


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> type[RecordingPulseStreamer]:
    monkeypatch.setattr(PulseStreamerSequencer, "client_class", RecordingPulseStreamer)
    monkeypatch.setattr(RecordingPulseStreamer, "instances", [])
    monkeypatch.setattr(RecordingPulseStreamer, "refuse", False)
    monkeypatch.setattr(RecordingPulseStreamer, "play_time", 0.0)
    return RecordingPulseStreamer


def _config(**options: Any) -> PulseStreamerConfiguration:
    values: dict[str, Any] = {
        "time_step": 1000,
        "analog_time_step": 100_000,
        "channels": (
            DigitalChannelConfiguration("shutter", LaneValues("shutter")),
            AnalogChannelConfiguration("aom", LaneValues("aom"), "V", (-1.0, 1.0)),
        ),
        "address": "192.168.1.50",
    }
    values.update(options)
    return PulseStreamerConfiguration(**values)


LANES = TimeLanes(
    ["a", "b", "c"],
    ["1 us", "wait", "2 us"],
    {
        "shutter": DigitalTimeLane([True, False, True]),
        "aom": AnalogTimeLane(["0.5 V", Ramp(), "-0.25 V"]),
    },
)


def _registry() -> Any:
    registry = default_registry()
    register_pulse_streamer_types(registry)
    return registry


def test_a_scan_streams_each_shot_once_and_starts_it(stand_in: Any) -> None:
    config = _config()
    shots = _shots_in_seconds(config, [3e-6, 5e-6, 8e-6])
    with open_devices(
        {"pulser": config}, _registry(), compilers=COMPILERS
    ) as devices, ShotRunner(devices) as runner:  # fmt: skip
        pulser = devices["pulser"]
        assert isinstance(pulser, Sequencer)
        for shot in shots:
            assert runner.run_shot(shot, timeout=5.0) == {}
        (box,) = stand_in.instances
        assert box.address == "192.168.1.50"
        assert box.calls[0] == (
            "setTrigger",
            (pulsestreamer.TriggerStart.SOFTWARE, pulsestreamer.TriggerRearm.AUTO),
        )
        assert box.names()[1:] == ["stream", "startNow"] * 3
        streamed = [args for name, args in box.calls if name == "stream"]
        for (sequence, runs, final), shot, wait in zip(streamed, shots, [3, 5, 8], strict=True):
            assert runs == 1
            assert final.getData() == (0, 0, 0)
            assert sequence.getDuration() == (3 + wait) * 1000
            digital, analog = dense(sequence)
            expected = np.repeat([1, 0, 1], [1000, wait * 1000, 2000])
            np.testing.assert_array_equal(digital[0], expected)
            assert analog[0][0] == 16384  # 0.5 V as int16
            assert analog[0][-1] == -8192
            assert len(sequence.getData()) == shot["pulser"]["pulses"]
        assert pulser.shots_run == 3
    assert box.calls[-1][0] == "constant"  # closing leaves the outputs low
    assert box.calls[-1][1][0].getData() == (0, 0, 0)


def _shots_in_seconds(config: PulseStreamerConfiguration, waits: list[float]) -> Any:
    from shotbook.types import parse_unit

    compiler = SequenceCompiler(LANES, {"pulser": config}, compilers=COMPILERS)
    return [
        dict(compiler.compile_shot(ShotParameters({"wait": w}, {"wait": parse_unit("s")})))
        for w in waits
    ]


def test_external_trigger_arms_and_waits_for_the_edge(stand_in: Any) -> None:
    config = _config(trigger=ExternalTriggerStart())
    (shot,) = _shots_in_seconds(config, [3e-6])
    init = PulseStreamerCompiler("pulser", config).compile_initialization_parameters()
    with PulseStreamerSequencer("pulser", **init) as pulser:
        assert not pulser.is_software_triggered()
        pulser.update_parameters(**shot["pulser"])
        pulser.start()
        (box,) = stand_in.instances
        assert box.trigger == pulsestreamer.TriggerStart.HARDWARE_RISING
        assert "startNow" not in box.names()
        assert not pulser.is_finished()
        with pytest.raises(
            SequencerTimeoutError,
            match=r"'pulser' at 192\.168\.1\.50 \(wait_finished\).*"
            "did its external trigger come",
        ):
            pulser.wait_finished(0.05)
        threading.Timer(0.05, box.fire_trigger).start()
        pulser.wait_finished(5.0)
        assert pulser.is_finished()


def test_a_shot_that_does_not_finish_times_out_naming_the_box(stand_in: Any) -> None:
    stand_in.play_time = 30.0
    config = _config()
    (shot,) = _shots_in_seconds(config, [3e-6])
    with (
        open_devices({"pulser": config}, _registry(), compilers=COMPILERS) as devices,
        ShotRunner(devices) as runner,
        pytest.raises(DeviceTimeoutError) as caught,
    ):
        runner.run_shot(shot, timeout=0.3)
    assert caught.value.device == "pulser"
    assert caught.value.step == "wait_finished"


def test_an_absent_box_is_an_error_naming_its_address(stand_in: Any) -> None:
    stand_in.refuse = True
    opening = open_devices({"pulser": _config()}, _registry(), compilers=COMPILERS)
    with pytest.raises(DeviceError, match=r"'pulser' at 192\.168\.1\.50 \(open\): cannot connect"):
        opening.__enter__()


def test_start_before_programming_is_refused(stand_in: Any) -> None:
    with PulseStreamerSequencer("pulser", address="box") as pulser:
        with pytest.raises(RuntimeError, match="not programmed"):
            pulser.start()
        with pytest.raises(RuntimeError, match="not started"):
            pulser.wait_finished(0.1)


def test_device_extension_names_the_configuration_and_device() -> None:
    extension = pulse_streamer_device_extension()
    assert extension.device_type is PulseStreamerSequencer
    assert extension.configuration_factory().address == "pulsestreamer"
    assert "pulse_streamer" in _registry()


def test_missing_client_asks_to_install_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['pulsestreamer'] = None\n"
        "from shotbook.device.pulsestreamer import PulseStreamerSequencer\n"
        "try:\n"
        "    PulseStreamerSequencer('pulser', address='box').__enter__()\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("install shotbook[pulsestreamer] to use PulseStreamerSequencer")
