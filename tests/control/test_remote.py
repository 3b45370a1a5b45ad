"""The experiment server in another process, its remote client, and faults with real processes."""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from shotbook.control import (
    LocalExperimentManager,
    ManagerBusyError,
    RemoteExperimentManager,
    RemoteExperimentManagerConfiguration,
    SequenceFailedError,
    SequenceStateChanged,
    ShotStored,
)
from shotbook.device.remote import InsecureRPCConfiguration
from shotbook.session import RunOwner

from .conftest import FAST
from .lab import create_sequence, lab_lanes, setup_store, shots_of, state_of, tof_scan


def _configurations(storage: Any) -> dict[str, Any]:
    with storage.session() as session:
        return dict(session.default_device_configurations.items())


def _slow(storage: Any, speed: float) -> None:
    configurations = _configurations(storage)
    for name in ("digital", "analog"):
        configurations[name] = dataclasses.replace(configurations[name], speed=speed)
    setup_store(storage, configurations)


def _server(spawn: Any, tmp_path: Path, *extra: str) -> Any:
    return spawn(
        "experiment_server.py", "--store", str(tmp_path / "store"), "--log-dir",
        str(tmp_path / "logs"), *extra,
    )  # fmt: skip


def _remote(port: int) -> RemoteExperimentManager:
    return RemoteExperimentManager(RemoteExperimentManagerConfiguration("127.0.0.1", port))


def test_a_remote_manager_runs_sequences_on_the_server(
    storage: Any, spawn: Any, tmp_path: Path
) -> None:
    create_sequence(storage, "/remote/ok", tof_scan(5))
    create_sequence(
        storage, "/remote/neg", tof_scan(4, "8 ms", "2 ms"), lab_lanes("time_of_flight - 5 ms")
    )
    server = _server(spawn, tmp_path)
    with _remote(server.port) as manager:
        with manager.events() as events:
            summary = manager.run_sequence("/remote/ok", progress=False)
            assert summary is not None
            assert summary.state == "finished"
            assert summary.number_of_shots == 5
            assert summary.expected_number_of_shots == 5
            received = []
            while True:
                event = events.get(timeout=5)
                assert event is not None
                received.append(event)
                if isinstance(event, SequenceStateChanged) and event.state == "finished":
                    break
        assert [e.index for e in received if isinstance(e, ShotStored)] == list(range(5))
        assert [e.state for e in received if isinstance(e, SequenceStateChanged)] == [
            "preparing", "running", "finished",
        ]  # fmt: skip
        stored = [e for e in received if isinstance(e, ShotStored)]
        assert stored[0].analysis["analysis.atoms"] > 0
        # a crash on the server is raised here, with its shot, parameters and location
        with pytest.raises(SequenceFailedError) as caught:
            manager.run_sequence("/remote/neg", progress=False)
        error = caught.value
        assert error.shot_index == 2
        assert error.number_of_shots == 2
        assert error.parameters is not None
        assert error.parameters["time_of_flight"] == "4 ms"
        assert "step 'tof'" in str(error)
        assert "Traceback" in error.remote_traceback
        # a static error too, and the sequence stays DRAFT
        create_sequence(storage, "/remote/unused", tof_scan(2), lab_lanes().with_lane(
            "unused", lab_lanes().lanes["mot light"]))  # fmt: skip
        with pytest.raises(SequenceFailedError, match="no device uses this lane") as caught:
            manager.start_sequence("/remote/unused")
        assert caught.value.shot_index is None
        assert state_of(storage, "/remote/unused") == "draft"
    assert len(shots_of(storage, "/remote/ok")) == 5
    logs = list((tmp_path / "logs").glob("*.log"))
    assert [p.name for p in logs] == ["test-experiment-server.log"]
    assert "started /remote/ok" in logs[0].read_text()


def test_busy_server_interrupt_and_a_client_that_goes_away(
    storage: Any, spawn: Any, tmp_path: Path
) -> None:
    _slow(storage, 0.5)
    create_sequence(storage, "/long", tof_scan(60))
    create_sequence(storage, "/other", tof_scan(2))
    server = _server(spawn, tmp_path)
    first = _remote(server.port)
    first.start_sequence("/long")
    with pytest.raises(ManagerBusyError, match="running /long"):
        first.start_sequence("/other")
    first.close()  # the client leaves; the run goes on
    with _remote(server.port) as second:
        assert second.is_running()
        progress = second.current()
        assert progress is not None
        assert progress.path == "/long"
        assert progress.expected_number_of_shots == 60
        deadline = time.monotonic() + 30
        while second.current() is not None and second.current().number_of_shots < 2:  # type: ignore[union-attr]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert second.interrupt()
        assert second.wait(30)
        summary = second.last_run()
        assert summary is not None
        assert summary.state == "interrupted"
        assert 2 <= summary.number_of_shots < 60
    assert state_of(storage, "/long") == "interrupted"
    assert len(shots_of(storage, "/long")) == summary.number_of_shots
    with storage.session() as session:  # the store records who interrupted: the client
        (entry,) = session.audit_log("/long")
    assert (entry.action, entry.path, entry.user) == ("interrupt", "/long", None)
    assert (entry.host, entry.pid) == (socket.gethostname(), os.getpid())
    assert "through the experiment server" in entry.detail


def test_a_killed_experiment_server_leaves_its_sequence_crashed_at_restart(
    storage: Any, spawn: Any, tmp_path: Path, make_manager: Any
) -> None:
    _slow(storage, 0.3)
    create_sequence(storage, "/killed", tof_scan(60))
    server = _server(spawn, tmp_path)
    with _remote(server.port) as manager, manager.events() as events:
        manager.start_sequence("/killed")
        seen = []
        while len(seen) < 3:
            event = events.get(timeout=10)
            assert event is not None
            if isinstance(event, ShotStored):
                seen.append(event.index)
        # a second manager starting while the first runs leaves the run alone
        other = make_manager()
        assert other.recovered == []
        assert state_of(storage, "/killed") == "running"
        server.kill()
    assert state_of(storage, "/killed") == "running"  # nobody marked it yet
    restarted = _server(spawn, tmp_path)
    assert restarted.ready[2] == "/killed"  # marked CRASHED by the new server at start-up
    assert state_of(storage, "/killed") == "crashed"
    with storage.session() as session:
        traceback = session.sequences.get_traceback("/killed")
    assert traceback is not None
    assert "is no longer running" in traceback
    indices = shots_of(storage, "/killed")["shot_index"].to_list()
    assert indices == list(range(len(indices)))
    assert len(indices) >= len(seen)


def test_sequences_on_device_servers_and_a_device_server_killed_mid_sequence(
    storage: Any, spawn: Any, tmp_path: Path, make_manager: Any
) -> None:
    device_server = spawn("device_server.py", "--log-dir", str(tmp_path / "logs"))
    configurations = {
        name: dataclasses.replace(configuration, device_server="pc-2")
        for name, configuration in _configurations(storage).items()
    }
    setup_store(storage, configurations)
    create_sequence(storage, "/through servers", tof_scan(5))
    servers = {"pc-2": InsecureRPCConfiguration("127.0.0.1", device_server.port)}
    manager = make_manager(device_servers=servers)
    summary = manager.run_sequence("/through servers", progress=False)
    assert summary is not None
    assert summary.state == "finished"
    assert summary.number_of_shots == 5
    frame = shots_of(storage, "/through servers")
    assert frame["camera.cloud"][0].to_numpy().shape == (512, 512)

    # the same lab, slower, and the device server killed after a few shots
    for name in ("digital", "analog"):
        configurations[name] = dataclasses.replace(configurations[name], speed=0.3)
    setup_store(storage, configurations)
    create_sequence(storage, "/server killed", tof_scan(60))
    killed = []

    def kill_after_three(event: Any) -> None:
        if isinstance(event, ShotStored) and event.index == 2 and not killed:
            killed.append(True)
            device_server.kill()

    manager.subscribe(kill_after_three)
    started = time.monotonic()
    with pytest.raises(SequenceFailedError) as caught:
        manager.run_sequence("/server killed", progress=False)
    assert time.monotonic() - started < FAST.shot_timeout * 3  # a clear error, not a hang
    error = caught.value
    assert error.shot_index is not None
    assert error.shot_index >= 3
    assert "pc-2" in str(error)
    assert state_of(storage, "/server killed") == "crashed"
    indices = shots_of(storage, "/server killed")["shot_index"].to_list()
    assert indices == list(range(error.shot_index))


def test_a_second_local_manager_refuses_nothing_it_does_not_own(
    storage: Any, make_manager: Any
) -> None:
    _slow(storage, 0.5)
    create_sequence(storage, "/mine", tof_scan(60))
    first: LocalExperimentManager = make_manager()
    first.start_sequence("/mine")
    second: LocalExperimentManager = make_manager()
    assert second.recovered == []
    assert not second.is_running()
    first.interrupt()
    assert first.wait(30)
    assert state_of(storage, "/mine") == "interrupted"
    with storage.session() as session:
        (entry,) = session.audit_log("/mine")
    assert (entry.action, entry.host, entry.pid) == ("interrupt", socket.gethostname(), os.getpid())
    assert entry.user == RunOwner.current().user


def test_sigterm_stops_the_server_and_interrupts_its_run(
    storage: Any, spawn: Any, tmp_path: Path
) -> None:
    import signal

    _slow(storage, 0.3)
    create_sequence(storage, "/terminated", tof_scan(60))
    server = _server(spawn, tmp_path)
    with _remote(server.port) as manager:
        manager.start_sequence("/terminated")
        deadline = time.monotonic() + 30
        while (manager.current() or _NONE).number_of_shots < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(30) == 0
    assert server.process.stdout is not None
    assert "STOPPED" in server.process.stdout.read()
    assert state_of(storage, "/terminated") == "interrupted"
    assert len(shots_of(storage, "/terminated")) >= 1


class _NONE:
    number_of_shots = 0


def test_a_secure_experiment_server_serves_only_authorized_clients(
    storage: Any, make_manager: Any, tmp_path: Path
) -> None:
    from shotbook.control import ExperimentServer
    from shotbook.device.remote import SecureRPCConfiguration
    from shotbook.rpc import RPCError, generate_keypair

    server_key, server_pub = generate_keypair().save(tmp_path / "keys" / "server.key")
    client_key, client_pub = generate_keypair().save(tmp_path / "keys" / "client.key")
    stranger_key, _ = generate_keypair().save(tmp_path / "keys" / "stranger.key")
    create_sequence(storage, "/secure", tof_scan(3))
    manager = make_manager()
    config = SecureRPCConfiguration("127.0.0.1", 0, str(server_key), (str(client_pub),))
    with ExperimentServer(manager, config, log_dir=tmp_path / "logs").start() as server:
        good = RemoteExperimentManagerConfiguration(
            "127.0.0.1", server.port, str(server_pub), str(client_key), timeout=5.0
        )
        with RemoteExperimentManager(good) as remote, remote.events() as events:
            summary = remote.run_sequence("/secure", progress=False)
            assert summary is not None
            assert summary.state == "finished"
            assert events.get(timeout=5) is not None  # events are encrypted alike
        bad = dataclasses.replace(good, client_secret_key_file=str(stranger_key), timeout=0.5)
        with RemoteExperimentManager(bad) as stranger, pytest.raises(RPCError, match="authorized"):
            stranger.is_running()
