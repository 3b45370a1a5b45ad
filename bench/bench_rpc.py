"""Benchmark of shotbook.rpc against raw pyzmq, server in another process over TCP.

Run from the repository root::

    PYTHONPATH=src .venv/bin/python bench/bench_rpc.py [--runs 7] [--output bench/results/rpc.md]

(a) round trip of a no-op call vs a raw DEALER/ROUTER echo of a small msgpack message;
(b) a 512x512 uint16 array and an 8 MiB array returned by the server (as a camera would)
    vs raw pyzmq sending the same bytes. Each figure is the median of ``--runs`` runs,
    the raw baseline measured in the same runs, interleaved.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import zmq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shotbook.rpc import RPCClient, RPCServer  # noqa: E402

NOOP_CALLS, IMAGE_CALLS, BIG_CALLS = 1000, 100, 10  # per run, each path
IMAGE = np.arange(512 * 512, dtype=np.uint16).reshape(512, 512)
BIG = np.arange(8 * 1024 * 1024 // 8, dtype=np.float64)  # 8 MiB


# ----------------------------------------------------------------------------- server side


def _raw_server(socket: zmq.Socket[Any]) -> None:
    payloads = {b"image": IMAGE.data, b"big": BIG.data}
    while True:
        frames = socket.recv_multipart()
        identity, body = frames[0], frames[1]
        request = msgpack.unpackb(body)
        kind = request.get("m", "noop")
        if kind == "stop":
            return
        if kind == "noop":
            socket.send_multipart([identity, msgpack.packb({"id": request["id"], "ok": None})])
        else:
            header = msgpack.packb({"id": request["id"]})
            socket.send_multipart([identity, header, payloads[kind.encode()]], copy=False)


def serve() -> None:
    """Server process: prints the RPC and raw addresses, then serves until stdin closes."""
    server = RPCServer(port=0)
    server.register("noop", lambda: None)
    server.register("noop_auto", lambda: None, inline=None)
    server.register("noop_inline", lambda: None, inline=True)
    server.register("image", lambda: IMAGE)
    server.register("big", lambda: BIG)
    server.start()
    raw = zmq.Context.instance().socket(zmq.ROUTER)
    raw.linger = 0
    port = raw.bind_to_random_port("tcp://127.0.0.1")
    threading.Thread(target=_raw_server, args=(raw,), daemon=True).start()
    print(server.address, f"tcp://127.0.0.1:{port}", flush=True)
    sys.stdin.read()
    server.close()


# ----------------------------------------------------------------------------- client side


class RawClient:
    def __init__(self, address: str) -> None:
        self.socket = zmq.Context.instance().socket(zmq.DEALER)
        self.socket.linger = 0
        self.socket.connect(address)
        self.next_id = 0

    def noop(self) -> Any:
        self.next_id += 1
        self.socket.send(msgpack.packb({"id": self.next_id, "m": "noop"}))
        return msgpack.unpackb(self.socket.recv())

    def fetch(self, kind: str, dtype: Any) -> np.ndarray[Any, Any]:
        self.next_id += 1
        self.socket.send(msgpack.packb({"id": self.next_id, "m": kind}))
        header, body = self.socket.recv_multipart(copy=False)
        msgpack.unpackb(header.bytes)
        return np.frombuffer(body.buffer, dtype=dtype)


def timed(function: Callable[[], Any], repeat: int) -> float:
    """Seconds per call, averaged over ``repeat`` calls."""
    start = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--output", type=Path, default=None)
    options = parser.parse_args()
    if options.serve:
        serve()
        return
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        rpc_address, raw_address = process.stdout.readline().split()
        results = measure(rpc_address, raw_address, options.runs)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(10)
    table = report(results, options.runs)
    print(table)
    print("per-run figures (s):", {k: [f"{v:.3g}" for v in vs] for k, vs in results.items()})
    if options.output is not None:
        options.output.parent.mkdir(parents=True, exist_ok=True)
        options.output.write_text(table)


def measure(rpc_address: str, raw_address: str, runs: int) -> dict[str, list[float]]:
    client = RPCClient(rpc_address, timeout=30)
    raw = RawClient(raw_address)
    checks = [
        np.array_equal(client.call("image"), IMAGE),
        np.array_equal(client.call("big"), BIG),
        np.array_equal(raw.fetch("image", np.uint16), IMAGE.ravel()),
    ]
    assert all(checks), checks
    for _ in range(300):  # warm up both paths (and promote noop_auto)
        client.call("noop")
        client.call("noop_auto")
        raw.noop()
    results: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        results.setdefault(name, []).append(value)

    for _ in range(runs):
        add("raw_noop", timed(raw.noop, NOOP_CALLS))
        add("rpc_noop", timed(lambda: client.call("noop"), NOOP_CALLS))
        add("rpc_noop_auto", timed(lambda: client.call("noop_auto"), NOOP_CALLS))
        add("rpc_noop_inline", timed(lambda: client.call("noop_inline"), NOOP_CALLS))
        add("raw_image", timed(lambda: raw.fetch("image", np.uint16), IMAGE_CALLS))
        add("rpc_image", timed(lambda: client.call("image"), IMAGE_CALLS))
        add("raw_big", timed(lambda: raw.fetch("big", np.float64), BIG_CALLS))
        add("rpc_big", timed(lambda: client.call("big"), BIG_CALLS))
    client.close()
    raw.socket.close()
    return results


def paired(results: dict[str, list[float]], name: str, baseline: str) -> float:
    """Median over runs of the ratio of two figures measured side by side in each run."""
    return statistics.median(a / b for a, b in zip(results[name], results[baseline], strict=True))


def report(results: dict[str, list[float]], runs: int) -> str:
    median = {name: statistics.median(values) for name, values in results.items()}
    mib = 1024 * 1024
    rows = []
    for label, name, budget in (
        ("no-op call round trip (default: runs in the pool)", "noop", 1.5),
        ("no-op call round trip, `inline=None` (auto, promoted)", "noop_auto", 1.5),
        ("no-op call round trip, `inline=True`", "noop_inline", 1.5),
    ):
        rpc, raw = median[f"rpc_{name}"], median["raw_noop"]
        ratio = paired(results, f"rpc_{name}", "raw_noop")
        verdict = "ok" if ratio <= budget else "MISSED"
        rows.append(
            f"| {label} | {rpc * 1e6:.0f} µs | {raw * 1e6:.0f} µs (raw DEALER/ROUTER echo) "
            f"| {ratio:.2f}× | ≤ {budget}× raw: {verdict} |"
        )
    for label, name, size in (
        ("512×512 uint16 returned (512 KiB)", "image", IMAGE.nbytes),
        ("8 MiB float64 returned", "big", BIG.nbytes),
    ):
        rpc_rate = size / median[f"rpc_{name}"] / mib
        raw_rate = size / median[f"raw_{name}"] / mib
        ratio = paired(results, f"raw_{name}", f"rpc_{name}")  # throughput: inverse of time
        verdict = "ok" if ratio >= 0.7 else "MISSED"
        rows.append(
            f"| {label} | {rpc_rate:.0f} MiB/s ({median[f'rpc_{name}'] * 1e3:.2f} ms) "
            f"| {raw_rate:.0f} MiB/s ({median[f'raw_{name}'] * 1e3:.2f} ms) (raw pyzmq) "
            f"| {ratio:.0%} | ≥ 70% of raw: {verdict} |"
        )
    return "\n".join(
        [
            "# shotbook.rpc benchmark",
            "",
            f"- date: {dt.date(2026, 11, 25).isoformat()}",
            "- command: `cd /work/main && PYTHONPATH=src .venv/bin/python bench/bench_rpc.py "
            "--output bench/results/rpc.md`",
            f"- server in another process, tcp://127.0.0.1; median of {runs} runs (each run: "
            f"mean of {NOOP_CALLS} no-op calls, {IMAGE_CALLS} 512 KiB and {BIG_CALLS} 8 MiB "
            "transfers per path); the raw pyzmq baseline runs in the same runs, interleaved; "
            "ratio = median over runs of the paired per-run ratio (the machine is shared "
            "with other jobs, so paired ratios are steadier than medians of each figure)",
            "",
            "| figure | shotbook.rpc | baseline | ratio | budget |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    )


if __name__ == "__main__":
    main()
