"""Fair servers: deferred replies, a bounded request queue, one size limit, who did what.

Servers run in other processes on 127.0.0.1 (tests/rpc/server_process.py) unless the test
needs the server's own log records (then in this process).
"""

from __future__ import annotations

import logging
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from shotbook.rpc import (
    DEFAULT_MAX_MESSAGE_SIZE,
    ProtocolError,
    RemoteError,
    RPCClient,
    RPCConnectionError,
    RPCServer,
    RPCTimeoutError,
    ServerBusyError,
    generate_keypair,
)

from .test_heartbeats_events_security import wait_until

WAITING_CLIENTS = 200


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (Linux /proc; the tests run on Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def test_deferred_replies_hold_no_worker(start_server) -> None:
    """200 clients wait on one-worker server; other calls are answered meanwhile."""
    server = start_server("basic", "WORKERS=1")
    clients = [RPCClient(server.rpc, timeout=60) for _ in range(WAITING_CLIENTS)]
    try:
        with ThreadPoolExecutor(WAITING_CLIENTS) as pool, RPCClient(server.rpc) as other:
            waits = [pool.submit(client.call, "park") for client in clients]
            wait_until(lambda: other.call("parked") == WAITING_CLIENTS, "200 parked calls")
            latencies = []
            for index in range(7):
                start = time.perf_counter()
                assert other.call("add", index, 1) == index + 1  # runs on the one worker
                latencies.append(time.perf_counter() - start)
            assert statistics.median(latencies) < 0.1, latencies
            assert not any(wait.done() for wait in waits)
            assert other.call("unpark", "the end") == WAITING_CLIENTS
            assert [wait.result(timeout=30) for wait in waits] == ["the end"] * WAITING_CLIENTS
            # a deferred failure arrives as the exception, like a raised one
            failing = pool.submit(clients[0].call, "park")
            wait_until(lambda: other.call("parked") == 1, "one parked call")
            assert other.call("unpark_failing", "no such run") == 1
            with pytest.raises(KeyError, match="no such run"):
                failing.result(timeout=30)
    finally:
        for client in clients:
            client.close()


def test_a_full_queue_answers_busy_at_once_and_drops_the_payload(start_server) -> None:
    server = start_server("basic", "WORKERS=1", "QUEUE=2", f"QUEUE_BYTES={1024 * 1024}")
    with ThreadPoolExecutor(4) as pool, RPCClient(server.rpc, timeout=30) as client:
        held = pool.submit(client.call, "wait_released")  # occupies the only worker
        wait_until(lambda: client.call("holding") == 1, "the worker")
        queued = [pool.submit(client.call, "add", n, 1) for n in range(2)]
        wait_until(lambda: client.call("queued") == 2, "two queued calls")
        # a third: refused at once, naming the bound; nothing ran
        latencies = []
        for _ in range(5):
            start = time.perf_counter()
            with pytest.raises(ServerBusyError, match=r"busy: 2 request\(s\).*at most 2 requests"):
                client.call("h.increment")
            latencies.append(time.perf_counter() - start)
        assert statistics.median(latencies) < 0.1, latencies
        assert client.ping() > 0
        client.call("release")
        assert held.result(timeout=30) == "released"
        assert [q.result(timeout=30) for q in queued] == [1, 2]
        assert client.call("h.increment") == 1  # the refused calls never ran
    # the byte bound: one small request queued, then a big one is refused
    server = start_server("basic", "WORKERS=1", "QUEUE=10", f"QUEUE_BYTES={1024 * 1024}")
    with ThreadPoolExecutor(4) as pool, RPCClient(server.rpc, timeout=30) as client:
        held = pool.submit(client.call, "wait_released")
        wait_until(lambda: client.call("holding") == 1, "the worker")
        small = pool.submit(client.call, "add", 1, 1)
        wait_until(lambda: client.call("queued") == 1, "a queued call")
        with pytest.raises(ServerBusyError, match=f"{1024 * 1024} bytes may wait"):
            client.call("echo", np.zeros(1_500_000, np.uint8))
        client.call("release")
        assert small.result(timeout=30) == 2


def test_an_oversized_message_is_refused_clearly_without_memory_growth(start_server) -> None:
    server = start_server("limits")  # max_message_size 1 MiB
    with RPCClient(server.rpc, timeout=10) as client:
        pid = client.call("pid")
    # a client with the same limit refuses before sending, naming size and limit
    with RPCClient(server.rpc, timeout=10, max_message_size=1024 * 1024) as client:
        with pytest.raises(ProtocolError, match=r"over the message size limit of 1048576 bytes"):
            client.call("echo", np.zeros(2 * 1024 * 1024, np.uint8))
        assert client.call("add", 1, 2) == 3
    # a client allowing more: the server refuses, its memory does not grow
    before = rss_bytes(pid)
    with RPCClient(server.rpc, timeout=10, max_message_size=1 << 30) as client:
        big = np.ones(64 * 1024 * 1024, np.uint8)
        for _ in range(2):  # one frame over the limit: ZeroMQ drops it as it arrives
            with pytest.raises((RPCConnectionError, RPCTimeoutError), match="max_message_size"):
                client.call("echo", big, timeout=2)
        pieces = [np.ones(700_000, np.uint8)] * 3
        for _ in range(4):  # several frames, over the limit in all: a clear refusal
            with pytest.raises(ProtocolError, match="larger than the limit of 1048576 bytes"):
                client.call("echo", *pieces)
        assert client.call("add", 1, 2) == 3
    growth = rss_bytes(pid) - before
    assert growth < 16 * 1024 * 1024, f"the server grew by {growth / 2**20:.1f} MiB"


def test_one_message_size_limit_for_device_and_experiment_servers(tmp_path: Path) -> None:
    from shotbook.control import ExperimentServer
    from shotbook.device.remote import DeviceServer, InsecureRPCConfiguration
    from shotbook.registry import TypeRegistry

    assert DEFAULT_MAX_MESSAGE_SIZE == 256 * 1024 * 1024
    config = InsecureRPCConfiguration("127.0.0.1", 0)
    device_server = DeviceServer(config, TypeRegistry(), "limit", log_dir=None)
    try:
        assert device_server.max_message_size == DEFAULT_MAX_MESSAGE_SIZE
    finally:
        device_server.close()

    class IdleManager:
        def subscribe(self, callback: object) -> object:
            class Subscription:
                def close(self) -> None:
                    pass

            return Subscription()

        def is_running(self) -> bool:
            return False

        def wait(self, timeout: float | None = None) -> bool:
            return True

    with ExperimentServer(IdleManager(), config, log_dir=None) as experiment_server:
        assert experiment_server.max_message_size == DEFAULT_MAX_MESSAGE_SIZE
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "256 MiB" in readme


def test_error_replies_carry_type_and_message_tracebacks_only_when_asked(
    start_server,
) -> None:
    server = start_server("basic")
    with RPCClient(server.rpc, timeout=10) as client:
        with pytest.raises(ValueError, match="bad value") as caught:
            client.call("raise_named", "ValueError", "bad value")
        assert isinstance(caught.value, RemoteError)
        assert caught.value.remote_traceback == ""
        # a method running the lab's own code sends its traceback
        with pytest.raises(RuntimeError) as lab:
            client.call("raise_lab", "laser unlocked")
        assert "raise_lab" in lab.value.remote_traceback  # type: ignore[attr-defined]
    debug = start_server("basic", "TRACEBACKS=1")
    with RPCClient(debug.rpc, timeout=10) as client:
        with pytest.raises(ValueError, match="bad value") as caught:
            client.call("raise_named", "ValueError", "bad value")
        assert "server_process.py" in caught.value.remote_traceback  # type: ignore[attr-defined]


def test_the_traceback_stays_in_the_server_log(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise OSError("disk on fire")

    with RPCServer() as server, caplog.at_level(logging.WARNING, "shotbook.rpc"):
        server.register("broken", broken)
        server.start()
        with (
            RPCClient(server.address, timeout=10, name="probe") as client,
            pytest.raises(OSError, match="disk on fire") as caught,
        ):
            client.call("broken")
    assert caught.value.remote_traceback == ""  # type: ignore[attr-defined]
    (record,) = [r for r in caplog.records if "broken" in r.getMessage()]
    assert "raised OSError: disk on fire" in record.getMessage()
    assert "(probe)" in record.getMessage()
    assert record.exc_info is not None


def test_a_refused_curve_client_is_logged_with_its_address(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server_keys, good, bad = generate_keypair(), generate_keypair(), generate_keypair()
    with (
        caplog.at_level(logging.WARNING, "shotbook.rpc.auth"),
        RPCServer(
            curve_secret_key=server_keys.secret, authorized_client_keys=[good.public]
        ) as server,
    ):
        server.register("add", lambda a, b: a + b)
        server.start()
        with (
            RPCClient(
                server.address,
                timeout=3,
                curve_server_key=server_keys.public,
                curve_public_key=bad.public,
                curve_secret_key=bad.secret,
            ) as client,
            pytest.raises((RPCConnectionError, RPCTimeoutError)),
        ):
            client.call("add", 1, 2)
        wait_until(
            lambda: any("DENIED" in r.getMessage() for r in caplog.records), "the DENIED line"
        )
    denied = [r for r in caplog.records if "DENIED" in r.getMessage()]
    assert denied[0].levelno == logging.WARNING
    assert "from 127.0.0.1" in denied[0].getMessage()
    assert bad.public in denied[0].getMessage()


def test_an_insecure_server_beyond_this_computer_warns_at_start(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with RPCServer("127.0.0.1", 0):
        pass
    assert "insecure" not in capfd.readouterr().err
    with RPCServer("0.0.0.0", 0) as server:
        port = server.port
    err = capfd.readouterr().err
    assert f"0.0.0.0:{port} is insecure" in err
    assert "SecureRPCConfiguration" in err


def test_deferred_reply_is_completed_once() -> None:
    from shotbook.rpc import Deferred

    reply = Deferred()
    sent: list[tuple[bool, object]] = []
    assert reply.resolve(1)
    assert not reply.resolve(2)
    assert not reply.fail(ValueError("late"))
    reply.bind(sent.append)  # bound after completion: sent at once
    assert sent == [(True, 1)]
    with pytest.raises(RuntimeError, match="one call only"):
        reply.bind(sent.append)
    with pytest.raises(TypeError, match="takes an exception"):
        Deferred().fail("text")  # type: ignore[arg-type]
