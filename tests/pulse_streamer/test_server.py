"""The Pulse Streamer on a device server process: a short scan run by the experiment
manager streams the same sequences as the same scan in process (both through the recording
stand-in of the client's PulseStreamer class: there is no physical box here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shotbook.compile import AnalogChannelConfiguration, DigitalChannelConfiguration, LaneValues
from shotbook.control import LocalExperimentManager, LocalExperimentManagerConfiguration
from shotbook.device.pulsestreamer import (
    PulseStreamerConfiguration,
    PulseStreamerSequencer,
    register_pulse_streamer_types,
)
from shotbook.device.remote import InsecureRPCConfiguration
from shotbook.registry import default_registry
from shotbook.types import (
    AnalogTimeLane,
    DigitalTimeLane,
    ExecuteShot,
    LinspaceLoop,
    Ramp,
    StepsConfiguration,
    TimeLanes,
)

from ..control.lab import create_sequence, make_storage, setup_store, shots_of
from ..device.conftest import ServerProcess
from .recording import RecordingPulseStreamer, read_records

SCRIPT = Path(__file__).with_name("pulse_streamer_server_script.py")
FAST = LocalExperimentManagerConfiguration(
    heartbeat_interval=0.2, stale_after=5.0, shot_timeout=10.0, server_ping_timeout=5.0
)
LANES = TimeLanes(
    ["on", "ramp", "off"],
    ["1 us", "wait", "2 us"],
    {
        "shutter": DigitalTimeLane([True, False, True]),
        "aom": AnalogTimeLane(["0.5 V", Ramp(), "-0.25 V"]),
    },
)
SCAN = StepsConfiguration([LinspaceLoop("wait", "3 us", "7 us", 3, [ExecuteShot()])])


def pulser(device_server: str | None = None) -> PulseStreamerConfiguration:
    return PulseStreamerConfiguration(
        time_step=1000,
        analog_time_step=100_000,
        channels=(
            DigitalChannelConfiguration("shutter", LaneValues("shutter")),
            AnalogChannelConfiguration("aom", LaneValues("aom"), "V", (-1.0, 1.0)),
        ),
        address="192.168.1.50",
        device_server=device_server,
    )


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Any]:
    """``run(path, configuration, servers)``: the scan with the Pulse Streamer alone."""
    registry = default_registry()
    compilers: dict[type, Any] = {}
    register_pulse_streamer_types(registry, compilers)
    storage = make_storage(tmp_path / "store", registry)
    managers: list[LocalExperimentManager] = []

    def run_sequence(path: str, configuration: Any, servers: dict[str, Any]) -> Any:
        setup_store(storage, {"pulser": configuration})
        create_sequence(storage, path, SCAN, LANES)
        manager = LocalExperimentManager(
            storage, registry, compilers=compilers, configuration=FAST, device_servers=servers
        )
        managers.append(manager)
        summary = manager.run_sequence(path, progress=False)
        assert summary.ok, summary
        assert shots_of(storage, path)["shot_index"].to_list() == [0, 1, 2]
        return summary

    yield run_sequence
    for manager in managers:
        manager.close(timeout=30)
    storage.close()


def test_a_scan_through_a_device_server_streams_what_it_streams_in_process(
    run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = tmp_path / "in-process.jsonl"
    monkeypatch.setattr(PulseStreamerSequencer, "client_class", RecordingPulseStreamer)
    monkeypatch.setattr(RecordingPulseStreamer, "instances", [])
    monkeypatch.setattr(RecordingPulseStreamer, "record_file", local)
    run("/pulser/here", pulser(), {})
    served = tmp_path / "served.jsonl"
    server = ServerProcess(tmp_path / "logs", "--record", str(served), script=SCRIPT)
    try:
        servers = {"pulser-pc": InsecureRPCConfiguration("127.0.0.1", server.port)}
        run("/pulser/served", pulser("pulser-pc"), servers)
    finally:
        server.kill()
    assert len(RecordingPulseStreamer.instances) == 1  # the served run used the server's box
    here, there = read_records(local), read_records(served)
    calls = [record["call"] for record in there]
    assert calls == ["connect", "setTrigger", *["stream", "startNow"] * 3, "constant"]
    assert there[0]["args"] == ["192.168.1.50"]
    streams = [record["args"][0]["sequence"] for record in there if record["call"] == "stream"]
    assert [sum(run[0] for run in stream) for stream in streams] == [6000, 8000, 10000]  # ns
    assert len({len(stream) for stream in streams}) > 1  # the ramp's samples follow `wait`
    assert there == here
