"""A whole sequence on real-driver devices: a Pulse Streamer (recording stand-in of the
client's PulseStreamer class) triggering an emulated Basler camera (PYLON_CAMEMU), run by
the experiment manager, stored; then a box failing at shot 2 crashes the sequence."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("PYLON_CAMEMU", "2")  # before pypylon is imported by the camera

from shotbook.compile import DeviceTrigger, DigitalChannelConfiguration, LaneValues
from shotbook.control import (
    LocalExperimentManager,
    LocalExperimentManagerConfiguration,
    SequenceFailedError,
)
from shotbook.device.basler import BaslerCameraConfiguration, register_basler_types
from shotbook.device.pulsestreamer import (
    PulseStreamerConfiguration,
    PulseStreamerSequencer,
    register_pulse_streamer_types,
)
from shotbook.registry import default_registry
from shotbook.types import (
    CameraTimeLane,
    DigitalTimeLane,
    ExecuteShot,
    LinspaceLoop,
    StepsConfiguration,
    TimeLanes,
)

from ..basler.conftest import file_features, write_frame
from ..control.lab import create_sequence, make_storage, setup_store, shots_of, state_of
from .test_device import RecordingPulseStreamer

FAST = LocalExperimentManagerConfiguration(
    heartbeat_interval=0.2, stale_after=5.0, shot_timeout=5.0, server_ping_timeout=1.0
)


class FailingPulseStreamer(RecordingPulseStreamer):
    """The recording stand-in, whose box drops the connection at its third stream."""

    def stream(self, seq: Any, n_runs: int, final: Any) -> None:
        if self.names().count("stream") == 2:
            raise ConnectionError("Failed to send data after 3 attempts")
        super().stream(seq, n_runs, final)


def lanes() -> TimeLanes:
    return TimeLanes(
        ["load", "image", "gap", "background"],
        ["1 ms", "exposure", "1 ms", "exposure"],
        {
            "shutter": DigitalTimeLane([True, False, False, False]),
            "camera": CameraTimeLane([None, "atoms", None, "background"]),
        },
    )


@pytest.fixture
def lab(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    registry = default_registry()
    compilers: dict[type, Any] = {}
    register_basler_types(registry, compilers)
    register_pulse_streamer_types(registry, compilers)
    storage = make_storage(tmp_path / "store", registry)
    rows, cols = np.indices((48, 64))
    expected = ((rows * 64 + cols) % 251).astype(np.uint8)
    path = write_frame(tmp_path / "frame.png", expected)
    configurations = {
        "pulser": PulseStreamerConfiguration(
            time_step=1000,
            channels=(
                DigitalChannelConfiguration("shutter", LaneValues("shutter")),
                DigitalChannelConfiguration("camera trigger", DeviceTrigger("camera")),
            ),
            address="192.168.1.50",
        ),
        "camera": BaslerCameraConfiguration(
            roi=(0, 0, 64, 48),
            sensor_size=(1024, 1040),
            serial="0815-0001",
            trigger_source=getattr(request, "param", "Software"),
            timeout=0.3,
            features=file_features(path),
        ),
    }
    setup_store(storage, configurations)
    managers: list[LocalExperimentManager] = []

    def manager() -> LocalExperimentManager:
        made = LocalExperimentManager(storage, registry, compilers=compilers, configuration=FAST)
        managers.append(made)
        return made

    yield storage, manager, expected
    for made in managers:
        made.close(timeout=30)
    storage.close()


def scan(num: int) -> StepsConfiguration:
    return StepsConfiguration([LinspaceLoop("exposure", "1 ms", "3 ms", num, [ExecuteShot()])])


def test_a_scan_runs_and_stores_the_pictures(lab: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    storage, manager, expected = lab
    monkeypatch.setattr(PulseStreamerSequencer, "client_class", RecordingPulseStreamer)
    monkeypatch.setattr(RecordingPulseStreamer, "instances", [])
    create_sequence(storage, "/real/scan", scan(3), lanes())
    summary = manager().run_sequence("/real/scan", progress=False)
    assert summary is not None
    assert (summary.state, summary.number_of_shots) == ("finished", 3)
    frame = shots_of(storage, "/real/scan")
    assert frame["exposure"].to_list() == pytest.approx([1, 2, 3])
    for column in ("camera.atoms", "camera.background"):
        for picture in frame[column]:
            np.testing.assert_array_equal(picture.to_numpy().reshape(48, 64), expected)
    (box,) = RecordingPulseStreamer.instances
    assert box.names().count("stream") == 3
    assert box.names()[-1] == "constant"  # closed: outputs low


def test_a_box_failing_at_shot_2_crashes_the_sequence_and_keeps_shots(
    lab: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage, manager, _ = lab
    monkeypatch.setattr(PulseStreamerSequencer, "client_class", FailingPulseStreamer)
    monkeypatch.setattr(RecordingPulseStreamer, "instances", [])
    create_sequence(storage, "/real/crash", scan(4), lanes())
    with pytest.raises(SequenceFailedError) as caught:
        manager().run_sequence("/real/crash", progress=False)
    message = str(caught.value)
    assert caught.value.shot_index == 2
    assert "'pulser' at 192.168.1.50 (start)" in message
    assert "Failed to send data" in message
    assert state_of(storage, "/real/crash") == "crashed"
    assert shots_of(storage, "/real/crash")["shot_index"].to_list() == [0, 1]
    (box,) = RecordingPulseStreamer.instances
    assert box.names()[-1] == "constant"  # the device was closed


@pytest.mark.parametrize("lab", ["Line1"], indirect=True)
def test_a_camera_never_triggered_crashes_the_sequence_naming_it(
    lab: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the stand-in box does not drive the emulated camera's Line1: no picture comes
    storage, manager, _ = lab
    monkeypatch.setattr(PulseStreamerSequencer, "client_class", RecordingPulseStreamer)
    monkeypatch.setattr(RecordingPulseStreamer, "instances", [])
    create_sequence(storage, "/real/no trigger", scan(2), lanes())
    with pytest.raises(SequenceFailedError) as caught:
        manager().run_sequence("/real/no trigger", progress=False)
    message = str(caught.value)
    assert caught.value.shot_index == 0
    assert "device 'camera'" in message
    assert "acquire" in message
    assert "camera 'camera' (serial 0815-0001) got no picture 'atoms'" in message
    assert state_of(storage, "/real/no trigger") == "crashed"
    (box,) = RecordingPulseStreamer.instances
    assert box.names()[-1] == "constant"  # the devices were closed
