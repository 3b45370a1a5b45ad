"""Request/reply against a server in another process on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import msgpack
import numpy as np
import pytest
import zmq

from shotbook.rpc import (
    ProtocolError,
    RemoteError,
    RPCClient,
    RPCConnectionError,
    RPCTimeoutError,
    UnknownMethodError,
)

from .conftest import CLIENT_SCRIPT, ServerProcess
from .server_process import DeviceError


@pytest.fixture
def client(server: ServerProcess) -> RPCClient:
    with RPCClient(server.rpc, timeout=10, name="tester") as rpc:
        yield rpc


def test_call_and_ping(client: RPCClient) -> None:
    assert client.call("add", 2, b=3) == 5
    assert client.ping() > 0
    assert client.call("h.increment", step=2) >= 2


ARRAYS = {
    "uint16 512x512": np.arange(512 * 512, dtype=np.uint16).reshape(512, 512),
    "float64": np.random.default_rng(1).normal(size=(3, 5, 7)),
    "bool": np.array([[True, False], [False, True]]),
    "int8": np.arange(-128, 128, dtype=np.int8),
    "0-d": np.array(7.5),
    "empty": np.zeros((0, 4), dtype=np.uint16),
    "non-contiguous": np.arange(100, dtype=np.float64).reshape(10, 10)[::3, ::-2],
}


def test_arrays_round_trip_exactly_through_the_server(client: RPCClient) -> None:
    args, kwargs = client.call("echo", *ARRAYS.values(), extra=ARRAYS["int8"])
    assert len(args) == len(ARRAYS)
    for (name, sent), received in zip(ARRAYS.items(), args, strict=True):
        assert received.dtype == sent.dtype, name
        assert received.shape == sent.shape, name
        assert np.array_equal(received, sent), name
    assert np.array_equal(kwargs["extra"], ARRAYS["int8"])


def test_unknown_method_lists_the_methods(client: RPCClient) -> None:
    with pytest.raises(UnknownMethodError) as info:
        client.call("fire_laser")
    assert isinstance(info.value, RemoteError)
    assert "no method 'fire_laser'" in str(info.value)
    assert "add" in str(info.value)
    assert "h.increment" in str(info.value)
    assert "_hidden" not in str(info.value)


def test_wrong_arguments_raise_the_remote_type_error(client: RPCClient) -> None:
    with pytest.raises(TypeError, match="missing 1 required positional argument") as info:
        client.call("add", 1)
    assert isinstance(info.value, RemoteError)
    with pytest.raises(TypeError, match="unsupported operand"):
        client.call("add", 1, "a")


@pytest.mark.parametrize(
    "name", ["ValueError", "TimeoutError", "KeyError", "FileNotFoundError", "RuntimeError"]
)
def test_remote_builtin_exceptions_keep_their_type(client: RPCClient, name: str) -> None:
    kind = getattr(__builtins__, name, None) or __import__("builtins").__dict__[name]
    with pytest.raises(kind) as info:
        client.call("raise_named", name, "bad value 42")
    assert isinstance(info.value, RemoteError)
    assert "bad value 42" in str(info.value)
    assert info.value.remote_type == name
    # the server's traceback (with its install paths) stays in the server's log
    assert info.value.remote_traceback == ""
    assert "server_process.py" not in str(info.value)


def test_custom_exceptions_map_by_name_or_keep_their_builtin_base(server: ServerProcess) -> None:
    types = {"__main__.DeviceError": DeviceError}
    with RPCClient(server.rpc, timeout=10, exception_types=types) as client:
        with pytest.raises(DeviceError, match="laser interlock open"):
            client.call("raise_custom", "device")
        with pytest.raises(ValueError, match="fit did not converge") as info:
            client.call("raise_custom", "calibration")
        assert info.value.remote_type == "__main__.CalibrationError"


def test_unsendable_argument_or_result_is_a_clear_type_error(client: RPCClient) -> None:
    with pytest.raises(TypeError, match=r"arguments of 'echo': args\[1\]\[0\] is a builtins.set"):
        client.call("echo", 1, [{1, 2}])
    with pytest.raises(TypeError, match=r"result of 'unsendable'.*result\['ok'\]\[1\]"):
        client.call("unsendable")
    assert client.call("add", 1, 1) == 2  # the server is still fine


def test_call_context_gives_client_identity_host_and_pid(client: RPCClient) -> None:
    context = client.call("context")
    assert context["client_id"] == client.client_id
    assert context["host"] == socket.gethostname()
    assert context["pid"] == os.getpid()
    assert context["name"] == "tester"
    assert context["method"] == "context"


def test_timeout_names_method_server_and_duration_and_late_reply_is_dropped(
    client: RPCClient,
) -> None:
    with pytest.raises(RPCTimeoutError) as info:
        client.call("sleep", 0.5, timeout=0.1)
    assert isinstance(info.value, TimeoutError)
    message = str(info.value)
    assert "'sleep'" in message
    assert client.address in message
    assert "0.1 s" in message
    # the late reply of sleep never answers a later call
    assert [client.call("add", n, 1) for n in range(5)] == [1, 2, 3, 4, 5]


def test_threads_share_one_client_and_calls_run_concurrently(client: RPCClient) -> None:
    # "barrier" returns only once three calls wait in it at the same time on the server
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: client.call("barrier"), range(3)))
    assert sorted(results) == [0, 1, 2]

    def work(index: int) -> None:
        image = np.full((32, 32), index, dtype=np.uint16)
        for step in range(20):
            args, kwargs = client.call("echo", index, image, step=step)
            assert args[0] == index
            assert kwargs == {"step": step}
            assert np.array_equal(args[1], image)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))


def test_a_slow_call_does_not_block_pings_or_other_calls(client: RPCClient) -> None:
    result: list[str] = []
    waiter = threading.Thread(target=lambda: result.append(client.call("wait_released")))
    waiter.start()
    assert client.ping() > 0
    assert client.call("add", 1, 2) == 3
    client.call("release")
    waiter.join(30)
    assert result == ["released"]


def test_clients_in_two_processes(server: ServerProcess) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, str(CLIENT_SCRIPT), "calls", server.rpc, "40"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0]
    assert outputs == ["ok 40\n", "ok 40\n"]


# ----------------------------------------------------------------------------- faults


def raw_request(address: str, frames: list[bytes], timeout_ms: int = 10000) -> dict:
    """Send raw frames with a bare DEALER; return the decoded reply header."""
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(address)
    try:
        sock.send_multipart(frames)
        assert sock.poll(timeout_ms), "no reply from the server"
        return msgpack.unpackb(sock.recv_multipart()[0])
    finally:
        sock.close()


def request(request_id: int = 1, **fields: object) -> bytes:
    return msgpack.packb({"v": 1, "op": "call", "id": request_id, "m": "add", **fields})


@pytest.mark.parametrize(
    ("frames", "match", "echoed_id"),
    [
        ([b"\xc1\xc1 not msgpack"], "not valid msgpack", None),
        ([msgpack.packb([1, 2, 3])], "expected a map", None),
        ([msgpack.packb({"v": 1, "op": "call", "id": 5})], "method None", 5),
        (
            [request(6, a=[msgpack.ExtType(1, msgpack.packb([1, "|O", [1]]))]), b"\0" * 8],
            "dtype",
            None,
        ),
        (
            [request(7, a=[msgpack.ExtType(1, msgpack.packb([1, "<u2", [4, 4]]))]), b"\0" * 8],
            "needs 32 bytes",
            None,
        ),
    ],
)
def test_malformed_requests_get_a_protocol_error_and_the_server_stays_up(
    server: ServerProcess, client: RPCClient, frames: list[bytes], match: str, echoed_id: object
) -> None:
    reply = raw_request(server.rpc, frames)
    assert match in reply["perr"]
    assert reply["id"] == echoed_id
    assert client.call("add", 1, 2) == 3


def test_limits_on_frames_and_size(start_server) -> None:
    server = start_server("limits")  # max 1 MiB, 4 frames
    frames = [request(1, a=[1, 2])] + [b"x"] * 4
    assert "more than 4 frames" in raw_request(server.rpc, frames)["perr"]
    frames = [request(2, a=[1, 2])] + [b"x" * 400_000] * 3  # 1.2 MB in all
    assert "larger than the limit" in raw_request(server.rpc, frames)["perr"]
    # one frame over the limit: ZeroMQ drops the connection (MAXMSGSIZE), no reply
    with RPCClient(server.rpc, timeout=2) as client:
        with pytest.raises((RPCConnectionError, RPCTimeoutError), match="max_message_size"):
            client.call("echo", np.zeros(2 * 1024 * 1024, dtype=np.uint8))
        assert client.call("add", 1, 2) == 3
    with RPCClient(server.rpc, timeout=10) as client:
        with pytest.raises(ProtocolError, match="larger than the limit"):
            client.call("echo", *[np.zeros(400_000, np.uint8)] * 3)
        assert client.call("add", 1, 2) == 3


def test_a_client_that_dies_mid_call_does_not_hurt_the_server(start_server) -> None:
    server = start_server("basic")
    hanging = subprocess.Popen(
        [sys.executable, str(CLIENT_SCRIPT), "hang", server.rpc],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert hanging.stdout is not None
    assert hanging.stdout.readline() == "calling\n"
    hanging.kill()
    hanging.wait(10)
    with RPCClient(server.rpc, timeout=10) as client:
        assert client.call("add", 40, 2) == 42
        assert client.ping() > 0


def test_a_server_killed_mid_call_gives_a_clear_error(start_server) -> None:
    server = start_server("basic")
    with RPCClient(server.rpc, timeout=20) as client:
        pid = client.call("pid")
        errors: list[BaseException] = []

        def call() -> None:
            try:
                client.call("sleep", 60)
            except BaseException as exc:
                errors.append(exc)

        caller = threading.Thread(target=call)
        caller.start()
        client.ping()  # the sleep call is in: another connection answers meanwhile
        server.kill()
        caller.join(30)
        assert not caller.is_alive()
        assert pid != os.getpid()
        (error,) = errors
        # the lost connection is noticed at once; a timeout is the fallback
        assert isinstance(error, RPCConnectionError | RPCTimeoutError)
        assert server.rpc in str(error)
        assert "'sleep'" in str(error)
        with pytest.raises(RPCTimeoutError, match=r"not connected within 0\.2 s"):
            client.call("add", 1, 2, timeout=0.2)
