"""Server and client API details (in-process server, real TCP on 127.0.0.1)."""

from __future__ import annotations

import threading

import pytest

from shotbook.rpc import RPCClient, RPCError, RPCServer, call_context


def test_register_handler_serves_public_methods_and_invoke_passes_timeout_kwarg() -> None:
    class Camera:
        def configure(self, timeout: float, gain: int = 1) -> list[float]:
            return [timeout, gain]

        def _private(self) -> None:
            pass

    with RPCServer() as server:
        assert server.register_handler(Camera(), prefix="cam.") == ["cam.configure"]
        server.register("who", lambda: call_context().method, inline=True)
        assert server.methods == ["cam.configure", "who"]
        server.start()
        with RPCClient(server.address, timeout=5) as client:
            assert client.invoke("cam.configure", (), {"timeout": 2.5}) == [2.5, 1]
            assert client.call("cam.configure", 1.0, gain=3) == [1.0, 3]
            assert client.call("who") == "who"


def test_serve_forever_in_a_thread_stops_on_close() -> None:
    server = RPCServer(port=0, workers=1)
    server.register("add", lambda a, b: a + b)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    with RPCClient(server.address, timeout=5) as client:
        assert client.call("add", 1, 2) == 3
    server.close()
    thread.join(10)
    assert not thread.is_alive()
    server.close()  # twice is fine
    with pytest.raises(RuntimeError, match="already running or closed"):
        server.start()


def test_port_in_use_is_a_clear_error() -> None:
    first = RPCServer()
    with first, pytest.raises(OSError, match=rf"cannot bind to tcp://127\.0\.0\.1:{first.port}"):
        RPCServer(port=first.port)
    assert first.address == f"tcp://127.0.0.1:{first.port}"


def test_argument_checks() -> None:
    with pytest.raises(ValueError, match="workers must be >= 1"):
        RPCServer(workers=0)
    with pytest.raises(ValueError, match="needs curve_secret_key"):
        RPCServer(authorized_client_keys=["x" * 40])
    with pytest.raises(ValueError, match="cannot connect to 'nonsense'"):
        RPCClient("nonsense")
    with pytest.raises(ValueError, match="timeout must be > 0"):
        RPCClient("tcp://127.0.0.1:1", timeout=0)
    with RPCServer() as server:
        with pytest.raises(ValueError, match="non-empty str"):
            server.register("", print)
        with pytest.raises(TypeError, match="not callable"):
            server.register("x", 3)  # type: ignore[arg-type]


def test_call_context_outside_a_call_and_closed_client() -> None:
    with pytest.raises(LookupError, match="only available inside"):
        call_context()
    client = RPCClient("tcp://127.0.0.1:1")
    client.close()
    with pytest.raises(RPCError, match="is closed"):
        client.call("anything")


def test_quick_methods_move_to_the_listening_thread_and_back() -> None:
    from shotbook.rpc._server import _Method

    method = _Method(print, None)
    for _ in range(_Method.RUNS_TO_PROMOTE - 1):
        method.ran(0.0001, inline=False)
    assert not method.inline
    method.ran(0.0001, inline=False)
    assert method.inline  # proven quick
    method.ran(0.05, inline=True)
    assert not method.inline  # one slow run: back to the pool
    for _ in range(_Method.RUNS_TO_PROMOTE):
        method.ran(0.0001, inline=False)
    assert method.inline
    method.ran(0.05, inline=True)
    for _ in range(3 * _Method.RUNS_TO_PROMOTE):
        method.ran(0.0001, inline=False)
    assert not method.inline  # slow twice: in the pool for good
    pinned = _Method(print, False)
    for _ in range(3 * _Method.RUNS_TO_PROMOTE):
        pinned.ran(0.0001, inline=False)
    assert not pinned.inline


def test_a_promoted_method_still_answers_correctly_from_many_threads() -> None:
    with RPCServer(workers=2) as server:
        server.register("square", lambda x: x * x, inline=None)
        server.start()
        with RPCClient(server.address, timeout=10) as client:
            assert [client.call("square", n) for n in range(40)] == [n * n for n in range(40)]
            results: list[list[int]] = []

            def work(offset: int) -> None:
                results.append([client.call("square", offset + n) for n in range(30)])

            threads = [threading.Thread(target=work, args=(100 * t,)) for t in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            expected = [[(100 * t + n) ** 2 for n in range(30)] for t in range(4)]
            assert sorted(results) == expected
