"""A server process for the RPC tests: ``python server_process.py MODE [KEY=VALUE ...]``.

Prints one line (the JSON of its addresses) when ready, then serves until stdin closes
or it is killed. Modes: ``basic``, ``secure`` (needs SECRET= and AUTHORIZED=),
``limits`` (small max_message_size / max_frames). Options: WORKERS=, HEARTBEAT=, QUEUE=
and QUEUE_BYTES= (the bound of the request queue), TRACEBACKS=1 (send every traceback).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from shotbook.rpc import (
    ClientInfo,
    EventPublisher,
    RPCServer,
    call_context,
)

try:
    from shotbook.rpc import Deferred
except ImportError:  # an older shotbook: the deferred-reply methods are missing
    Deferred = None  # type: ignore[assignment,misc]


class DeviceError(Exception):
    """A custom error type the client maps with exception_types."""


class CalibrationError(ValueError):
    """A custom subclass of a builtin: arrives as a ValueError."""


class Handler:
    """Methods served under the prefix ``h.``."""

    def __init__(self) -> None:
        self.value = 0

    def increment(self, step: int = 1) -> int:
        self.value += step
        return self.value

    def _hidden(self) -> None:  # never served
        pass


def main() -> None:
    mode = sys.argv[1]
    options = dict(arg.split("=", 1) for arg in sys.argv[2:])
    kwargs: dict[str, Any] = {"workers": int(options.get("WORKERS", "4"))}
    if mode == "secure":
        kwargs["curve_secret_key"] = options["SECRET"]
        kwargs["authorized_client_keys"] = options["AUTHORIZED"].split(",")
    if mode == "limits":
        kwargs["max_message_size"] = 1024 * 1024
        kwargs["max_frames"] = 4
    if "QUEUE" in options:
        kwargs["max_queued"] = int(options["QUEUE"])
    if "QUEUE_BYTES" in options:
        kwargs["max_queued_bytes"] = int(options["QUEUE_BYTES"])
    if options.get("TRACEBACKS") == "1":
        kwargs["send_tracebacks"] = True
    if "HEARTBEAT" in options:
        kwargs["heartbeat_timeout"] = float(options["HEARTBEAT"])
    gone: list[bytes] = []
    owner: list[ClientInfo] = []
    kwargs["on_client_gone"] = lambda info: (
        gone.append(info.client_id),
        owner.clear() if owner and owner[0].client_id == info.client_id else None,
    )
    server = RPCServer("127.0.0.1", 0, **kwargs)
    publisher = EventPublisher("127.0.0.1", 0)
    barrier = threading.Barrier(3, timeout=30)
    released = threading.Event()

    def raise_named(name: str, message: str) -> None:
        import builtins

        raise getattr(builtins, name)(message)

    def raise_custom(kind: str) -> None:
        if kind == "device":
            raise DeviceError("laser interlock open")
        raise CalibrationError("fit did not converge")

    def context() -> dict[str, Any]:
        ctx = call_context()
        return {
            "client_id": ctx.client.client_id,
            "host": ctx.client.host,
            "pid": ctx.client.pid,
            "name": ctx.client.name,
            "method": ctx.method,
        }

    def acquire() -> str:
        """Serve one owner at a time, as a device server does."""
        caller = call_context().client
        if owner and owner[0].client_id != caller.client_id:
            raise RuntimeError(f"in use by {owner[0].describe()}")
        owner[:] = [caller]
        return "acquired"

    def publish(topic: str, payload: dict[str, Any]) -> None:
        publisher.publish(topic, payload)

    holding: list[int] = [0]

    def wait_released() -> str:
        holding[0] += 1
        released.wait(30)
        holding[0] -= 1
        return "released"

    server.register("add", lambda a, b: a + b)
    server.register("echo", lambda *args, **kwargs: [list(args), kwargs])
    server.register("sleep", lambda seconds: time.sleep(seconds) or seconds)
    server.register("pid", os.getpid, inline=True)
    server.register("raise_named", raise_named)
    server.register("raise_custom", raise_custom)
    server.register("context", context)
    server.register("acquire", acquire)
    server.register("gone", lambda: list(gone))
    server.register("publish", publish)
    server.register("barrier", lambda: barrier.wait())
    server.register("wait_released", wait_released)
    server.register("release", released.set, inline=True)
    server.register("unsendable", lambda: {"ok": [1, object()]})
    parked: list[Any] = []
    parked_lock = threading.Lock()

    def park() -> Any:
        """A call answered later, by ``unpark``: it holds no worker meanwhile."""
        reply = Deferred()
        with parked_lock:
            parked.append(reply)
        return reply

    def unpark(value: Any) -> int:
        with parked_lock:
            replies = list(parked)
            parked.clear()
        for reply in replies:
            reply.resolve(value)
        return len(replies)

    def unpark_failing(message: str) -> int:
        with parked_lock:
            replies = list(parked)
            parked.clear()
        for reply in replies:
            reply.fail(KeyError(message))
        return len(replies)

    def parked_count() -> int:
        with parked_lock:
            return len(parked)

    def raise_lab(message: str) -> None:
        raise RuntimeError(message)

    if Deferred is not None:
        server.register("park", park)
        server.register("unpark", unpark)
        server.register("unpark_failing", unpark_failing)
        server.register("parked", parked_count, inline=True)
        server.register("queued", lambda: server.queued, inline=True)
        server.register("raise_lab", raise_lab, tracebacks=True)
        server.register("holding", lambda: holding[0], inline=True)
    server.register_handler(Handler(), prefix="h.")
    server.start()
    print(json.dumps({"rpc": server.address, "events": publisher.address}), flush=True)
    sys.stdin.read()
    server.close()
    publisher.close()


if __name__ == "__main__":
    main()
