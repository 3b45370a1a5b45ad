"""Fair servers (issue #19, item 1): answers while many clients wait, and a full queue.

An RPCServer (4 workers) in another process on 127.0.0.1 serves ``park`` (a deferred reply,
completed later: a client waiting for a run's end) and ``add``. Figures, each the median of
RUNS runs of 20 calls:

* ``add`` round trip with 200 clients parked (waiting) vs with none (the baseline);
* the ``ServerBusyError`` answer of a server whose one worker is held and whose queue
  (2 requests) is full, vs an ``add`` round trip on an idle server (the baseline).

Run: python bench/bench_fair_server.py   (from the repository root)
"""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shotbook.rpc import RPCClient, ServerBusyError

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "rpc" / "server_process.py"
RUNS = 5
CALLS = 20
WAITING = 200


def start(*options: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "basic", *options],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())["rpc"]


def stop(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.close()
    process.wait(10)


def wait_for(condition, limit: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.01)


def round_trips(client: RPCClient, method: str, *args: object) -> float:
    times = []
    for _ in range(CALLS):
        start_time = time.perf_counter()
        with contextlib.suppress(ServerBusyError):  # the figure of a full queue
            client.call(method, *args)
        times.append(time.perf_counter() - start_time)
    return statistics.median(times)


def main() -> None:
    process, address = start("WORKERS=4")
    rows = []
    try:
        with RPCClient(address) as client:
            idle = [round_trips(client, "add", 1, 2) for _ in range(RUNS)]
            waiters = [RPCClient(address, timeout=120) for _ in range(WAITING)]
            with ThreadPoolExecutor(WAITING) as pool:
                parked = [pool.submit(w.call, "park") for w in waiters]
                wait_for(lambda: client.call("parked") == WAITING)
                loaded = [round_trips(client, "add", 1, 2) for _ in range(RUNS)]
                client.call("unpark", 0)
                for future in parked:
                    future.result(60)
            for waiter in waiters:
                waiter.close()
        rows.append(("`add` with 200 clients waiting", loaded, "no client waiting", idle))
    finally:
        stop(process)
    process, address = start("WORKERS=1", "QUEUE=2")
    try:
        with RPCClient(address, timeout=60) as client, ThreadPoolExecutor(3) as pool:
            idle = [round_trips(client, "add", 1, 2) for _ in range(RUNS)]
            held = pool.submit(client.call, "wait_released")
            wait_for(lambda: client.call("holding") == 1)
            queued = [pool.submit(client.call, "add", n, 1) for n in range(2)]
            wait_for(lambda: client.call("queued") == 2)
            busy = [round_trips(client, "h.increment") for _ in range(RUNS)]
            client.call("release")
            held.result(60)
            for future in queued:
                future.result(60)
        rows.append(("ServerBusyError from a full queue", busy, "`add` on an idle server", idle))
    finally:
        stop(process)
    lines = [
        "# Fair servers: answers with 200 clients waiting, and a full queue",
        "",
        "Date: 2026-12-07. Command: `python bench/bench_fair_server.py` (repository root). "
        f"Median of {RUNS} runs of {CALLS} calls each.",
        "",
        "| figure | median | baseline (same run) | baseline | ratio | budget |",
        "|---|---|---|---|---|---|",
    ]
    for name, runs, base_name, base_runs in rows:
        value, base = statistics.median(runs), statistics.median(base_runs)
        lines.append(
            f"| {name} | {value * 1e3:.2f} ms | {base_name} | {base * 1e3:.2f} ms | "
            f"{value / base:.2f} | < 100 ms |"
        )
    lines += ["", "Runs (ms):"]
    for name, runs, base_name, base_runs in rows:
        lines.append(
            f"- {name}: {[round(r * 1e3, 3) for r in runs]}; {base_name}: "
            f"{[round(r * 1e3, 3) for r in base_runs]}"
        )
    text = "\n".join(lines) + "\n"
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "fair_server.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
