"""Benchmark: one shot of the reference workload on the simulated lab, in-process vs behind a
device server in another process (TCP on 127.0.0.1).

Workload (DESIGN.md): 5 steps of 145 ms in total; a digital sequencer of 8 channels at 50 ns
(the master), an analog sequencer of 4 channels at 2.5 us started by a digital channel, a
512x512 uint16 camera triggered by a digital channel; 2 analog lanes with a ramp and unit
expressions; a linspace over wait_time; 7 parameters. Shots are compiled beforehand; the
figure is ``ShotRunner.run_shot`` alone (program the three devices, arm, start, collect the
picture, wait for the ends), devices at speed 0 (no real-time waits).

Two camera modes: ``physics`` draws each picture from the atom-cloud model; ``replay`` cycles
8 pre-drawn frames, so the figure is everything but the physics. The baseline of each remote
figure is the in-process figure of the same mode measured in the same run: both sets of
devices are open together and their shots alternate one by one.

Run: python bench/bench_device_server.py   (from the repository root)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from shotbook.compile import SequenceCompiler
from shotbook.device import ShotRunner, open_devices
from shotbook.device.remote import InsecureRPCConfiguration
from shotbook.device.sim import (
    SimulatedCameraConfiguration,
    register_sim_types,
    simulated_lab,
)
from shotbook.registry import default_registry
from shotbook.types import (
    AnalogTimeLane,
    CameraTimeLane,
    DigitalTimeLane,
    Ramp,
    ShotParameters,
    TakePicture,
    TimeLanes,
    parse_unit,
)

SHOTS = 40
RUNS = 5
ROOT = Path(__file__).resolve().parent
SERVER = """
import sys
from shotbook.device.remote import DeviceServer, InsecureRPCConfiguration
from shotbook.device.sim import register_sim_types
from shotbook.registry import default_registry
registry = default_registry()
register_sim_types(registry)
server = DeviceServer(InsecureRPCConfiguration(port=0), registry, "bench", log_dir=sys.argv[1])
print(server.port, flush=True)
server.serve_forever()
"""


def workload() -> tuple[TimeLanes, list[ShotParameters]]:
    lanes = TimeLanes(
        ["load", "compress", "hold", "tof", "image"],
        ["mot.loading_time", "20 ms", "wait_time", "time_of_flight", "imaging.exposure"],
        {
            "mot light": DigitalTimeLane([True, True, False, False, True]),
            "repump": DigitalTimeLane([True, True, True, False, True]),
            "imaging light": DigitalTimeLane([False, False, False, False, True]),
            "mot detuning": AnalogTimeLane.from_blocks(
                [("mot.detuning", 1), (Ramp(), 1), ("mot.detuning + 2 MHz", 2), ("0 MHz", 1)]
            ),
            "coil current": AnalogTimeLane.from_blocks(
                [("mot.power / 1 mW * 1 A", 2), (Ramp(), 1), ("0 A", 2)]
            ),
            "camera": CameraTimeLane.from_blocks([(None, 4), (TakePicture("cloud"), 1)]),
        },
    )
    ms, mhz, mw = parse_unit("ms"), parse_unit("MHz"), parse_unit("mW")
    shots = []
    for index in range(SHOTS):
        wait = 5e-3 + 10e-3 * index / (SHOTS - 1)
        values = {
            "mot.loading_time": 0.1,
            "mot.detuning": -15e6,
            "mot.power": 5e-3,
            "imaging.detuning": 0.0,
            "imaging.exposure": 5e-3,
            "time_of_flight": 10e-3,
            "wait_time": wait,
        }
        units = {
            "mot.loading_time": ms,
            "mot.detuning": mhz,
            "mot.power": mw,
            "imaging.detuning": mhz,
            "imaging.exposure": ms,
            "time_of_flight": ms,
            "wait_time": ms,
        }
        shots.append(ShotParameters(values, units))
    return lanes, shots


def open_runner(
    stack: contextlib.ExitStack, registry: Any, compilers: Any, port: int | None, replay: int
) -> tuple[ShotRunner, list[Any]]:
    """A shot runner on the lab's devices (in process, or all on the server at ``port``) and
    the compiled shots; the devices stay open until ``stack`` closes."""
    server = None if port is None else "pc"
    lab = simulated_lab(device_server=server, replay=replay)
    lab["camera"] = SimulatedCameraConfiguration(
        roi=(0, 0, 512, 512), sensor_size=(512, 512), device_server=server, replay=replay
    )
    lanes, parameters = workload()
    compiler = SequenceCompiler(lanes, lab, compilers)
    shots = [compiler.compile_shot(p) for p in parameters]
    servers = {} if port is None else {"pc": InsecureRPCConfiguration(port=port)}
    devices = stack.enter_context(
        open_devices(
            lab, registry, servers, initialization=compiler.compile_initialization_parameters()
        )
    )
    runner = stack.enter_context(ShotRunner(devices))
    runner.run_shot(shots[0], timeout=10)  # warm-up
    return runner, shots


def server_cpu(pid: int) -> float | None:
    """CPU seconds the server process used so far (None without psutil)."""
    try:
        import psutil
    except ImportError:
        return None
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def measure(
    registry: Any, compilers: Any, port: int, replay: int, pid: int
) -> tuple[float, float, list[float], list[float], tuple[float, float | None]]:
    """Median per-shot run time (s) in process and through the server, each run's medians,
    and the CPU seconds per shot (in process; through the server: this process's and the
    server's, summed). The two alternate shot by shot (the first of each pair alternates
    too), so that the machine's load drifts the same for both."""
    cpu = {0: 0.0, 1: 0.0}
    with contextlib.ExitStack() as stack:
        local, shots = open_runner(stack, registry, compilers, None, replay)
        remote, remote_shots = open_runner(stack, registry, compilers, port, replay)
        local_medians, remote_medians = [], []
        server = 0.0
        for run in range(RUNS):
            times: dict[int, list[float]] = {0: [], 1: []}
            for index, pair in enumerate(zip(shots, remote_shots, strict=True)):
                order = (0, 1) if (index + run) % 2 == 0 else (1, 0)
                for which in order:
                    runner = (local, remote)[which]
                    before = server_cpu(pid) if which else None
                    start, cpu_start = time.perf_counter(), time.process_time()
                    data = runner.run_shot(pair[which], timeout=10)
                    times[which].append(time.perf_counter() - start)
                    cpu[which] += time.process_time() - cpu_start
                    after = server_cpu(pid) if which else None
                    if before is not None and after is not None:
                        # summed over the shots, the deltas of the server's tick-counted
                        # CPU time estimate its CPU during the remote shots only
                        server += after - before
                    assert data["camera.cloud"].shape == (512, 512)
            local_medians.append(statistics.median(times[0]))
            remote_medians.append(statistics.median(times[1]))
    count = RUNS * len(shots)
    remote_cpu = None if server_cpu(pid) is None else (cpu[1] + server) / count
    return (
        statistics.median(local_medians),
        statistics.median(remote_medians),
        local_medians,
        remote_medians,
        (cpu[0] / count, remote_cpu),
    )


def main() -> None:
    registry = default_registry()
    compilers = register_sim_types(registry)
    log_dir = tempfile.mkdtemp(prefix="shotbook-bench-logs-")
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, log_dir], stdout=subprocess.PIPE, text=True
    )
    try:
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(process.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(30)
        port = int(line[0])
        rows = []
        for mode, replay in (("physics", 0), ("replay", 8)):
            local, remote, local_runs, remote_runs, cpu = measure(
                registry, compilers, port, replay, process.pid
            )
            rows.append((mode, local, remote, local_runs, remote_runs, cpu))
    finally:
        process.kill()
        process.wait()
    command = "python bench/bench_device_server.py"
    now = dt.datetime.now(dt.UTC)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    lines = [
        "# Devices: a shot through a device server vs in-process",
        "",
        f"Date: {now:%Y-%m-%d %H:%M} UTC, load average {load}. Command: `{command}` "
        "(repository root).",
        f"Reference workload, {SHOTS} shots x {RUNS} runs; figure: median per-shot time of "
        "`ShotRunner.run_shot` (median of the runs' medians). Baseline: the same shots on "
        "in-process devices, same run, alternating with the server's shot by shot. Budgets: a "
        "device server adds at most 5 ms per shot (#6), 1.5 ms with the physics camera (#16).",
        "",
        "| camera | in-process (baseline) | device server | ratio | added | budget |",
        "|---|---|---|---|---|---|",
    ]
    for mode, local, remote, *_ in rows:
        added = (remote - local) * 1e3
        budget = 1.5 if mode == "physics" else 5.0
        verdict = "ok" if added <= budget else "OVER"
        lines.append(
            f"| {mode} | {local * 1e3:.2f} ms | {remote * 1e3:.2f} ms | {remote / local:.2f} | "
            f"{added:+.2f} ms | <= {budget:g} ms added: {verdict} |"
        )
    lines.append("")
    lines.append("Run medians (ms):")
    for mode, _, _, local_runs, remote_runs, _ in rows:
        lines.append(
            f"- {mode}: in-process {[round(t * 1e3, 2) for t in local_runs]}, "
            f"server {[round(t * 1e3, 2) for t in remote_runs]}"
        )
    lines.append("")
    lines.append(
        "CPU per shot (less sensitive to the machine's load than the times): in process; "
        "through the server, this process's and the server process's together:"
    )
    for mode, *_, (local_cpu, remote_cpu) in rows:
        remote_text = "?" if remote_cpu is None else f"{remote_cpu * 1e3:.2f} ms"
        added = "" if remote_cpu is None else f" ({(remote_cpu - local_cpu) * 1e3:+.2f} ms)"
        lines.append(f"- {mode}: {local_cpu * 1e3:.2f} ms in process, {remote_text}{added}")
    text = "\n".join(lines) + "\n"
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "devices.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
