"""Device servers in real subprocesses on 127.0.0.1: shots, leases, faults, security."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import zmq

from shotbook.compile import SequenceCompiler
from shotbook.device import DeviceError, DeviceTimeoutError, ShotRunner, data_units_of, open_devices
from shotbook.device.remote import (
    DeviceServer,
    DeviceServerBusyError,
    DeviceServerConnection,
    DeviceServerError,
    InsecureRPCConfiguration,
    RemoteDevice,
    SecureRPCClientConfiguration,
    keygen,
)
from shotbook.device.sim import sim_compilers, simulated_lab
from shotbook.registry import TypeRegistry
from shotbook.rpc import ProtocolError, RPCClient, UnknownMethodError

from .conftest import ServerProcess
from .test_sim import lab_lanes, lab_parameters


def connect(port: int, registry: TypeRegistry, **kwargs) -> DeviceServerConnection:
    options = {"timeout": 5.0, "heartbeat_interval": 0.2, "server_name": "shared", **kwargs}
    return DeviceServerConnection(InsecureRPCConfiguration(port=port), registry, **options)


def wait_until(condition, timeout: float = 10.0):  # polling, not a timed assertion
    deadline = time.monotonic() + timeout
    while True:
        try:
            return condition()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# --------------------------------------------------------------------------- shots


def test_full_simulated_shot_remote_equals_in_process(
    registry: TypeRegistry, shared_server: ServerProcess
) -> None:
    lanes = lab_lanes()

    def run(device_server: str | None) -> list[dict[str, np.ndarray]]:
        configurations = simulated_lab(device_server=device_server, seed=11)
        compiler = SequenceCompiler(lanes, configurations, sim_compilers())
        servers = {"pc": InsecureRPCConfiguration(port=shared_server.port)}
        with (
            open_devices(
                configurations,
                registry,
                servers,
                initialization=compiler.compile_initialization_parameters(),
            ) as devices,
            ShotRunner(devices) as runner,
        ):
            if device_server is not None:
                assert all(isinstance(d, RemoteDevice) for d in devices.values())
                assert runner.start_order == ["analog", "digital"]
            results = [
                runner.run_shot(compiler.compile_shot(lab_parameters(tof)), timeout=10)
                for tof in (3e-3, 6e-3)
            ]
            assert devices["digital"].shots_run == 2
            assert devices["camera"].roi == (0, 0, 512, 512)
            return results

    local, remote = run(None), run("pc")
    for a, b in zip(local, remote, strict=True):
        assert a.keys() == b.keys() == {"camera.cloud", "camera.background"}
        for key in a:
            assert b[key].dtype == np.uint16
            np.testing.assert_array_equal(a[key], b[key])  # same seed, same physics, same bytes


def _counting(connection: DeviceServerConnection) -> list[str]:
    """Record the methods the connection calls on its server."""
    methods: list[str] = []
    call = connection.call

    def counted(method: str, *args, **kwargs):
        methods.append(method)
        return call(method, *args, **kwargs)

    connection.call = counted  # type: ignore[method-assign]
    return methods


def test_a_shot_on_one_server_is_one_request_and_errors_name_device_and_step(
    registry: TypeRegistry, shared_server: ServerProcess
) -> None:
    lab = simulated_lab(device_server="pc", seed=5)
    slow_camera = type(lab["camera"])(
        roi=(0, 0, 512, 512), sensor_size=(512, 512), device_server="pc", speed=1.0
    )
    lab = {**lab, "camera": slow_camera}
    compiler = SequenceCompiler(lab_lanes(), lab, sim_compilers())
    servers = {"pc": InsecureRPCConfiguration(port=shared_server.port)}
    with (
        open_devices(
            lab, registry, servers, initialization=compiler.compile_initialization_parameters()
        ) as devices,
        ShotRunner(devices) as runner,
    ):
        methods = _counting(devices["camera"].connection)
        shot = compiler.compile_shot(lab_parameters())
        data = runner.run_shot(shot, timeout=10)
        assert methods == ["shot.run"]
        assert data.keys() == {"camera.cloud", "camera.background"}
        assert data["camera.cloud"].shape == (512, 512)
        assert devices["digital"].shots_run == 1
        # a device refusing its parameters on the server: named, with its step and cause
        bad = {**shot, "camera": {**shot["camera"], "exposures": [1e-3]}}
        with pytest.raises(DeviceError) as info:
            runner.run_shot(bad, timeout=10)
        error = info.value
        assert (error.device, error.step) == ("camera", "update_parameters")
        assert "device 'camera' failed to update_parameters" in str(error)
        assert "on device server 'pc'" in str(error)
        assert isinstance(error.__cause__, ValueError)
        assert "2 picture names for 1 exposures" in str(error.__cause__)
        assert "Traceback" in error.__cause__.remote_traceback  # type: ignore[attr-defined]
        assert devices["digital"].shots_run == 1  # nothing started
        # a picture that does not come in time: a timeout naming the camera
        late = {**shot, "camera": {**shot["camera"], "exposures": [0.5, 0.5], "timeout": 0.05}}
        with pytest.raises(DeviceTimeoutError) as timed_out:
            runner.run_shot(late, timeout=10)
        assert (timed_out.value.device, timed_out.value.step) == ("camera", "acquire")
        assert isinstance(timed_out.value, TimeoutError)
        assert "got no picture 'cloud'" in str(timed_out.value)
        # the devices still work
        again = runner.run_shot(shot, timeout=10)
        assert again.keys() == data.keys()
        assert methods.count("shot.run") == 4


@pytest.mark.parametrize(
    ("on_server", "requests"),
    [
        (("camera",), ["shot.prepare", "shot.collect"]),
        (("camera", "analog"), ["shot.prepare", "shot.start", "shot.collect"]),
        (("digital",), ["shot.prepare", "shot.start", "shot.collect"]),
    ],
)
def test_devices_split_between_this_process_and_a_server_run_the_same_shot(
    registry: TypeRegistry,
    shared_server: ServerProcess,
    on_server: tuple[str, ...],
    requests: list[str],
) -> None:
    lanes = lab_lanes()

    def run(server: str | None) -> dict[str, np.ndarray]:
        # a simulated world lives in one process: split, the sequencers get a world of
        # their own (the camera, alone in its world, takes dark pictures, seeded the same)
        lab = {
            name: dataclasses.replace(config, world="sequencers") if name != "camera" else config
            for name, config in simulated_lab(seed=9).items()
        }
        remote = {
            name: dataclasses.replace(config, device_server=server) for name, config in lab.items()
        }
        lab.update({name: remote[name] for name in on_server})
        compiler = SequenceCompiler(lanes, lab, sim_compilers())
        servers = {"pc": InsecureRPCConfiguration(port=shared_server.port)}
        with (
            open_devices(
                lab, registry, servers, initialization=compiler.compile_initialization_parameters()
            ) as devices,
            ShotRunner(devices) as runner,
        ):
            assert runner.start_order == ["analog", "digital"]
            shot = compiler.compile_shot(lab_parameters())
            if server is None:
                return runner.run_shot(shot, timeout=10)
            assert all(isinstance(devices[name], RemoteDevice) for name in on_server)
            methods = _counting(devices[on_server[0]].connection)
            data = runner.run_shot(shot, timeout=10)
            assert methods == requests  # one request per step of the server's devices
            assert devices["digital"].shots_run == 1
            # a failure on the server names the device and the step; the shot is dropped
            bad = {**shot, "camera": {**shot["camera"], "exposures": [1e-3]}}
            if "camera" in on_server:
                with pytest.raises(DeviceError) as info:
                    runner.run_shot(bad, timeout=10)
                assert (info.value.device, info.value.step) == ("camera", "update_parameters")
                assert "on device server 'pc'" in str(info.value)
                assert isinstance(info.value.__cause__, ValueError)
                assert devices["digital"].shots_run == 1  # nothing started
            again = runner.run_shot(shot, timeout=10)
            assert again.keys() == data.keys()
            return data

    local, split = run(None), run("pc")
    assert list(local) == list(split) == ["camera.cloud", "camera.background"]
    for key in local:
        np.testing.assert_array_equal(local[key], split[key])


def test_a_shot_request_out_of_turn_is_refused_clearly(
    registry: TypeRegistry, shared_server: ServerProcess
) -> None:
    with connect(shared_server.port, registry) as server:
        with pytest.raises(DeviceServerError, match="no prepared shot"):
            server.call("shot.collect", 1.0)
        with pytest.raises(DeviceServerError, match="no prepared shot"):
            server.call("shot.start", ["digital"], 1.0)
        with pytest.raises(DeviceServerError, match=r"\['ghost'\] are not open"):
            server.call("shot.prepare", {"ghost": {}}, [], 1.0)
        with pytest.raises(TypeError, match="timeout > 0 s"):
            server.call("shot.run", {}, [], -1)
        server.call("shot.abort")  # nothing to drop: fine


def test_remote_device_behaves_like_the_device(
    registry: TypeRegistry, shared_server: ServerProcess
) -> None:
    with connect(shared_server.port, registry) as server:
        with server.device("echo", "echo_device", {"greeting": "hi"}) as echo:
            assert echo.greeting == "hi from echo"
            image = np.arange(6, dtype=np.float32).reshape(2, 3)
            back = echo.echo({"image": image, "roi": (1, 2), "items": [1, "a", None]})
            np.testing.assert_array_equal(back["image"], image)
            assert back["roi"] == (1, 2)
            assert back["items"] == [1, "a", None]
            assert list(echo.count(4)) == [0, 1, 2, 3]
            assert echo.add(2, 3) == 5
            with pytest.raises(ValueError, match="bad value"):
                echo.fail("bad value")
            with pytest.raises(AttributeError, match="no remote method 'not_remote'"):
                echo.not_remote()
            assert server.status()["devices"] == ["echo"]
        assert server.status()["devices"] == []


# --------------------------------------------------------------------------- bad input


def test_bad_requests_get_clear_errors_and_the_server_stays_up(
    registry: TypeRegistry, shared_server: ServerProcess
) -> None:
    with connect(shared_server.port, registry) as server:
        with pytest.raises(DeviceServerError, match=r"cannot build 'x'.*unknown type tag 'nope'"):
            server.device("x", "nope").__enter__()
        with pytest.raises(DeviceServerError, match=r"'expression'.*is not a device"):
            server.device("x", "expression").__enter__()
        with pytest.raises(TypeError, match="greeting must be a str"):
            server.device("x", "echo_device", {"greeting": 5}).__enter__()
        with pytest.raises(OSError, match="unplugged"):
            server.device("x", "broken_device").__enter__()
        with server.device("echo", "echo_device") as echo:
            with pytest.raises(DeviceServerError, match="'not_remote' is not a remote method"):
                server.call("device.call", "echo", "not_remote", [], {})
            with pytest.raises(DeviceServerError, match="'__init__' is not a remote method"):
                server.call("device.call", "echo", "__init__", [], {})
            with pytest.raises(UnknownMethodError, match="no method 'eval'"):
                server.call("eval", "1 + 1")
            with pytest.raises(TypeError, match="add takes two ints, got str and int"):
                echo.add("2", 3)
            with pytest.raises(TypeError, match="unexpected keyword"):
                echo.add(1, 2, c=3)
            with pytest.raises(DeviceServerError, match="'ghost' is not open"):
                server.call("device.call", "ghost", "echo", [1], {})
            with pytest.raises(DeviceServerError, match="already open"):
                server.device("echo", "echo_device").__enter__()
            # oversized: the server accepts at most 4 MiB here
            with pytest.raises((ProtocolError, DeviceError)):
                echo.echo(np.zeros(8 * 1024 * 1024, dtype=np.uint8))
            assert echo.add(1, 1) == 2  # still serving


def test_garbage_frames_do_not_stop_the_server(
    registry: TypeRegistry, shared_server: ServerProcess
) -> None:
    context = zmq.Context.instance()
    raw = context.socket(zmq.DEALER)
    raw.linger = 0
    raw.connect(f"tcp://127.0.0.1:{shared_server.port}")
    try:
        for frames in (
            [b"\xff\xfe garbage"],
            [b""],
            [b"\x93\x01\x02", b"extra", b"frames"],
            [os.urandom(3000)],
        ):
            raw.send_multipart(frames)
        assert raw.poll(5000), "the server answers garbage with a protocol error"
        raw.recv_multipart()
    finally:
        raw.close()
    with connect(shared_server.port, registry) as server, server.device("e", "echo_device") as e:
        assert e.echo("still alive") == "still alive"


# --------------------------------------------------------------------------- lease


def test_one_experiment_manager_at_a_time(
    registry: TypeRegistry, shared_server: ServerProcess
) -> None:
    first = connect(shared_server.port, registry).open()
    try:
        second = connect(shared_server.port, registry, client_name="other manager")
        with pytest.raises(DeviceServerBusyError) as info:
            second.open()
        message = str(info.value)
        assert "device server 'shared' is in use by host" in message
        assert f"pid {os.getpid()} (experiment manager) since" in message
    finally:
        first.close()
    with connect(shared_server.port, registry) as again:
        assert again.status()["holder"] is not None


CLIENT_SCRIPT = """
import sys, time
from shotbook.device.remote import DeviceServerConnection, InsecureRPCConfiguration
from shotbook.registry import default_registry
connection = DeviceServerConnection(InsecureRPCConfiguration(port=int(sys.argv[1])),
                                    default_registry(), heartbeat_interval=0.2)
connection.open()
close_delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
device = connection.device("sleeper", "echo_device", {"close_delay": close_delay}).__enter__()
print("LEASED", flush=True)
device.sleep(float(sys.argv[2]))
"""


def test_a_client_that_dies_mid_call_frees_the_lease(
    registry: TypeRegistry, shared_server: ServerProcess
) -> None:
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT_SCRIPT, str(shared_server.port), "2"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stdout is not None
        assert client.stdout.readline().strip() == "LEASED"
        time.sleep(0.2)  # let the sleep call reach the server
        with pytest.raises(DeviceServerBusyError):
            connect(shared_server.port, registry).open()
        client.kill()  # dies in the middle of device.sleep(60)
        client.wait(10)
    finally:
        if client.poll() is None:
            client.kill()
        if client.stdout is not None:
            client.stdout.close()
    # the server is up; the dead client's call still runs (its lease is kept meanwhile)
    status = RPCClient(f"tcp://127.0.0.1:{shared_server.port}", timeout=5)
    try:
        assert "sleeper" in status.call("server.status")["devices"]
    finally:
        status.close()
    # once the call is over and the holder stays silent, the lease frees
    connection = wait_until(lambda: connect(shared_server.port, registry).open())
    try:
        assert connection.status()["devices"] == []
    finally:
        connection.close()


def test_a_silent_holder_loses_the_lease(registry: TypeRegistry, start_server) -> None:
    """The next client gets the lease only once the silent holder's devices are closed."""
    server = start_server("--name", "quick", "--lease-timeout", "0.5")
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT_SCRIPT, str(server.port), "0", "0.5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stdout is not None
        assert client.stdout.readline().strip() == "LEASED"
        client.kill()
        client.wait(10)
    finally:
        if client.stdout is not None:
            client.stdout.close()
    connection = wait_until(lambda: connect(server.port, registry, server_name="quick").open())
    log = (server.log_dir / "quick.log").read_text()  # read as soon as the lease is ours
    try:
        assert connection.status()["devices"] == []  # the dead holder's device was closed
    finally:
        connection.close()
    assert "stopped heartbeating" in log
    assert "closed device 'sleeper' (its holder is gone)" in log
    assert log.index("closed device 'sleeper'") < log.rindex("lease taken by")


# --------------------------------------------------------------------------- killed server


def test_a_server_killed_mid_shot_gives_a_clear_error(registry: TypeRegistry, start_server) -> None:
    server = start_server("--name", "doomed")
    servers = {"pc": InsecureRPCConfiguration(port=server.port)}
    lab = simulated_lab(device_server="pc")
    compiler = SequenceCompiler(lab_lanes(), lab, sim_compilers())
    shot = compiler.compile_shot(lab_parameters())
    shot["camera"] = {**shot["camera"], "exposures": [30.0, 30.0], "timeout": 60.0}
    lab_slow = {
        **lab,
        "camera": type(lab["camera"])(
            roi=(0, 0, 512, 512), sensor_size=(512, 512), device_server="pc", speed=1.0
        ),
    }
    init = SequenceCompiler(lab_lanes(), lab_slow, sim_compilers())
    errors: list[BaseException] = []
    with (
        open_devices(
            lab_slow,
            registry,
            servers,
            timeout=2.0,
            initialization=init.compile_initialization_parameters(),
        ) as devices,
        ShotRunner(devices) as runner,
    ):
        killer = threading.Timer(0.5, lambda: os.kill(server.process.pid, signal.SIGKILL))
        killer.start()
        try:
            runner.run_shot(shot, timeout=60)
        except DeviceError as exc:
            errors.append(exc)
        finally:
            killer.join()
    assert len(errors) == 1
    error = errors[0]
    assert error.device == "camera"
    text = str(error)
    assert "device 'camera' on device server 'pc'" in text
    assert "lost the connection" in text or "did not answer in time" in text


def test_calls_to_a_dead_server_fail_within_the_timeout(
    registry: TypeRegistry, start_server
) -> None:
    server = start_server("--name", "dead")
    with connect(server.port, registry, timeout=1.0, server_name="dead") as connection:
        echo = connection.device("echo", "echo_device").__enter__()
        assert echo.add(1, 2) == 3
        server.kill()
        with pytest.raises(DeviceError, match="device 'echo' on device server 'dead'") as info:
            echo.add(1, 2)
        assert isinstance(info.value, DeviceTimeoutError | DeviceError)


# --------------------------------------------------------------------------- security


def test_secure_server_accepts_only_authorized_clients(
    registry: TypeRegistry, start_server, tmp_path: Path
) -> None:
    server_secret, server_public = keygen(tmp_path / "keys" / "server.key")
    good_secret, good_public = keygen(tmp_path / "keys" / "manager.key")
    bad_secret, _ = keygen(tmp_path / "keys" / "intruder.key")
    with pytest.raises(FileExistsError):
        keygen(tmp_path / "keys" / "server.key")
    server = start_server(
        "--name", "secure", "--secret-key", str(server_secret), "--authorized", str(good_public)
    )

    def config(secret: Path) -> SecureRPCClientConfiguration:
        return SecureRPCClientConfiguration(
            "127.0.0.1", server.port, str(server_public), str(secret)
        )

    with pytest.raises(DeviceError) as info:
        DeviceServerConnection(
            config(bad_secret), registry, timeout=1.0, server_name="secure"
        ).open()
    assert "device server 'secure'" in str(info.value)
    assert "refused this client" in str(info.value)
    with pytest.raises(DeviceError):  # an insecure client cannot talk to it either
        connect(server.port, registry, timeout=1.0, server_name="secure").open()
    good = DeviceServerConnection(config(good_secret), registry, timeout=5.0, server_name="secure")
    with good, good.device("echo", "echo_device") as echo:
        assert echo.greeting == "hello from echo"


def test_device_server_in_a_thread_logs_to_a_rotating_file(
    registry: TypeRegistry, tmp_path: Path
) -> None:
    with DeviceServer(
        InsecureRPCConfiguration(), registry, "thread-server", log_dir=tmp_path / "logs"
    ) as server:
        server.start()
        with (
            connect(server.port, registry) as connection,
            connection.device("echo", "echo_device") as echo,
        ):
            assert echo.echo(1) == 1
    log = (tmp_path / "logs" / "thread-server.log").read_text()
    assert "lease taken by host" in log
    assert "opened device 'echo' of type 'echo_device'" in log
    assert "closed device 'echo'" in log


def test_run_device_server_stops_cleanly_on_ctrl_c(registry: TypeRegistry, start_server) -> None:
    server = start_server("--name", "interrupted")
    with connect(server.port, registry, server_name="interrupted", timeout=0.5) as connection:
        connection.device("echo", "echo_device").__enter__()
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(20) == 0
    log = (server.log_dir / "interrupted.log").read_text()
    assert "interrupted: stopping" in log
    assert "closed device 'echo' (the server stopped)" in log


def test_a_data_source_on_a_device_server_reports_its_values(
    registry: TypeRegistry, shared_server: ServerProcess
) -> None:
    """read_data() runs next to the device; its values come back as 'device.label' columns,
    under the caller's device name, and its failures name the device and the step."""
    with (
        connect(shared_server.port, registry) as server,
        server.device("m", "meter_device") as meter,
        server.device("bad", "meter_device", {"bad": "raises"}) as broken,
        ShotRunner({"meter": meter}) as runner,
    ):
        methods = _counting(server)
        data = runner.run_shot({"meter": {"gain": 3.0}}, timeout=10)
        assert methods == ["shot.run"]
        assert data["meter.power"] == 3.0
        np.testing.assert_array_equal(data["meter.trace"], [0.0, 3.0, 6.0, 9.0])
        assert data_units_of({"meter": meter}) == {"meter.power": "W"}  # asked on the server
        with ShotRunner({"broken": broken}) as failing, pytest.raises(DeviceError) as info:
            failing.run_shot({"broken": {}}, timeout=10)
        assert (info.value.device, info.value.step) == ("broken", "read_data")
        assert "USB cable is loose" in str(info.value.__cause__)
