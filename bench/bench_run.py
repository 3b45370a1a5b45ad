"""Benchmark of running a sequence: time per shot from start_sequence to FINISHED.

Run from the repository root::

    .venv/bin/python bench/bench_run.py [--runs 5] [--shots 200] [--output bench/results/run.md]

The DESIGN.md reference workload: 5 steps (up to 145 ms) on the simulated lab (a digital
sequencer of 8 channels at 50 ns, an analog sequencer of 4 channels at 2.5 µs started by a
digital channel, a 512×512 uint16 camera triggered by a digital channel) at full speed, the
camera REPLAYING pre-generated frames; 2 analog lanes with ramps and unit expressions
(``mot.detuning + 2 MHz``), a linspace over ``time_of_flight``, 7 parameters, 3 scalar
results per shot (a per-shot analysis), 200 shots, stored in the default DuckDB + Parquet
store (compaction due every 50 shots; it waits for a gap between shots, so at full speed it
runs after FINISHED, in the background: every shot is durable when it is stored).

Figure: (time from ``start_sequence`` until the sequence is FINISHED) / shots, for devices
in-process and on a device server on 127.0.0.1 (another process). Baseline, measured in the
same run: the same shots done by a bare loop in one thread, without the runner (compile,
``ShotRunner.run_shot``, analysis, ``write_shot`` one after the other, devices already
open, then the writer closed), i.e. the cost of the layers below. Median of ``--runs``.
The report also gives, outside the figure, when the shots were all compacted (the manager
closed, which waits for the final compaction).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shotbook.compile import SequenceCompiler  # noqa: E402
from shotbook.control import (  # noqa: E402
    LocalExperimentManager,
    LocalExperimentManagerConfiguration,
    SequenceStateChanged,
    ShotAnalyses,
    ShotStored,
)
from shotbook.device import ShotRunner, open_devices  # noqa: E402
from shotbook.device.remote import DeviceServer, InsecureRPCConfiguration  # noqa: E402
from shotbook.device.sim import register_sim_types, simulated_lab  # noqa: E402
from shotbook.registry import Serializer, default_registry  # noqa: E402
from shotbook.session import DuckDBConfig  # noqa: E402
from shotbook.types import (  # noqa: E402
    AnalogTimeLane,
    CameraTimeLane,
    DigitalTimeLane,
    ExecuteShot,
    LinspaceLoop,
    ParameterNamespace,
    Ramp,
    StepsConfiguration,
    TakePicture,
    TimeLanes,
)


def lanes() -> TimeLanes:
    return TimeLanes(
        ["load", "ramp", "tof", "image", "off"],
        ["mot.loading_time", "20 ms", "time_of_flight", "imaging.exposure", "1 ms"],
        {
            "mot light": DigitalTimeLane([True, True, False, True, True]),
            "imaging light": DigitalTimeLane([False, False, False, True, False]),
            "mot detuning": AnalogTimeLane.from_blocks(
                [("mot.detuning", 1), (Ramp(), 1), ("mot.detuning + 2 MHz", 3)]
            ),
            "coil current": AnalogTimeLane.from_blocks(
                [("mot.coil_current", 1), (Ramp(), 1), ("0 A", 3)]
            ),
            "camera": CameraTimeLane.from_blocks([(None, 3), (TakePicture("cloud"), 1), (None, 1)]),
        },
    )


def global_parameters() -> ParameterNamespace:
    return ParameterNamespace.from_mapping(
        {
            "mot": {"detuning": "-15 MHz", "loading_time": "100 ms", "coil_current": "10 A"},
            "imaging": {"exposure": "1.5 ms", "detuning": "0 MHz"},
            "repump": {"power": "2 mW"},
        }
    )


def scan(shots: int) -> StepsConfiguration:
    return StepsConfiguration(
        [LinspaceLoop("time_of_flight", "2 ms", "22 ms", shots, [ExecuteShot()])]
    )


def cloud(data: Any, parameters: Any) -> dict[str, float]:
    """3 scalar results: atom signal and centre, from the projections of the picture."""
    image = data["camera.cloud"]
    rows = image.sum(axis=1, dtype=np.float64)
    cols = image.sum(axis=0, dtype=np.float64)
    total = float(rows.sum())
    return {
        "signal": total,
        "x": float((cols * np.arange(cols.size)).sum() / total),
        "y": float((rows * np.arange(rows.size)).sum() / total),
    }


def lab(device_server: str | None) -> dict[str, Any]:
    return simulated_lab(device_server=device_server, replay=4)


def serve_devices() -> None:
    """Child process: a device server with the simulated lab."""
    registry = default_registry()
    register_sim_types(registry)
    with tempfile.TemporaryDirectory() as logs:
        config = InsecureRPCConfiguration("127.0.0.1", 0)
        server = DeviceServer(config, registry, "bench", log_dir=logs)
        print(f"READY {server.port}", flush=True)
        server.serve_forever()


def start_device_server() -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve-devices"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("READY"):
        process.kill()
        raise RuntimeError("the device server did not start")
    return process, int(line.split()[1])


def make_store(
    root: Path, registry: Any, configurations: dict[str, Any], compact_every: int
) -> Any:
    storage = DuckDBConfig(root, compact_every=compact_every).create_storage_manager(
        Serializer(registry)
    )
    storage.upgrade()
    with storage.session() as session:
        session.set_global_parameters(global_parameters())
        for name, configuration in configurations.items():
            session.default_device_configurations[name] = configuration
    return storage


def run_manager(
    root: Path,
    registry: Any,
    compilers: Any,
    servers: dict[str, Any],
    shots: int,
    index: int,
    compact_every: int,
) -> float:
    configurations = lab("pc-2" if servers else None)
    storage = make_store(root, registry, configurations, compact_every)
    path = f"/bench/run {index}"
    with storage.session() as session:
        session.sequences.create(path, scan(shots), lanes())
    manager = LocalExperimentManager(
        storage,
        registry,
        compilers=compilers,
        device_servers=servers,
        analyses={"cloud": cloud},
        configuration=LocalExperimentManagerConfiguration(),
    )
    marks: dict[str, float] = {}

    def mark(event: Any) -> None:
        if isinstance(event, SequenceStateChanged):
            marks.setdefault(event.state, time.perf_counter())
        elif isinstance(event, ShotStored):
            marks.setdefault("first shot stored", time.perf_counter())
            marks["last shot stored"] = time.perf_counter()

    manager.subscribe(mark)
    try:
        start = time.perf_counter()
        manager.start_sequence(path)
        manager.wait()
        elapsed = time.perf_counter() - start
        summary = manager.last_run()
        if summary is None or summary.state != "finished" or summary.number_of_shots != shots:
            raise RuntimeError(f"the benchmark run did not finish: {summary}")
        manager.flush_events()
    finally:
        manager.close()  # waits for the final compaction
    marks["compacted"] = time.perf_counter()
    order = [
        "preparing", "running", "first shot stored", "last shot stored", "finished", "compacted"
    ]  # fmt: skip
    previous = start
    for name in order:
        PHASES.setdefault(name, []).append((marks[name] - previous) * 1e3)
        previous = marks[name]
    return elapsed / shots


PHASES: dict[str, list[float]] = {}
PHASE_RUNS: dict[str, list[dict[str, float]]] = {}
"""Milliseconds from the previous mark to each mark, per in-process run (for the report)."""


def run_bare_loop(
    root: Path,
    registry: Any,
    compilers: Any,
    servers: dict[str, Any],
    shots: int,
    compact_every: int,
) -> float:
    """The layers' own cost: compile, run, analyse, store, one after the other."""
    from shotbook.session import ParquetShotStore

    configurations = lab("pc-2" if servers else None)
    compiler = SequenceCompiler(lanes(), configurations, compilers)
    analyses = ShotAnalyses({"cloud": cloud})
    plan = scan(shots).compile(global_parameters())
    store = ParquetShotStore(root / "bare", compact_every=compact_every)
    with open_devices(
        configurations,
        registry,
        servers,
        initialization=compiler.compile_initialization_parameters(),
        compilers=compilers,
    ) as devices, ShotRunner(devices) as runner:  # fmt: skip
        start = time.perf_counter()
        writer = store.writer()
        for index, parameters in enumerate(plan.walk()):
            compiled = compiler.compile_shot(parameters)
            begin = dt.datetime.now(dt.UTC)
            data = runner.run_shot(compiled, timeout=10.0)
            end = dt.datetime.now(dt.UTC)
            data.update(analyses.run(data, parameters).values)
            data["shot.attempts"] = 1
            writer.write_shot(index, parameters, data, begin, end)
        elapsed = time.perf_counter() - start  # the runner, too, compacts after FINISHED
        writer.close()
    return elapsed / shots


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--shots", type=int, default=200)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "run.md"))
    parser.add_argument("--serve-devices", action="store_true")
    args = parser.parse_args()
    if args.serve_devices:
        serve_devices()
        return
    registry = default_registry()
    compilers = register_sim_types(registry)
    process, port = start_device_server()
    remote = {"pc-2": InsecureRPCConfiguration("127.0.0.1", port)}
    cases: dict[str, tuple[dict[str, Any], int]] = {
        "in-process": ({}, 50),
        "device server": (remote, 50),
        "in-process, compaction only at the end (diagnostic)": ({}, 10**6),
    }
    results: dict[str, dict[str, list[float]]] = {
        label: {"runner": [], "bare": []} for label in cases
    }
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for run in range(args.runs):
                for label, (servers, every) in cases.items():
                    folder = Path(tmp) / f"{len(results[label]['bare'])}-{run}-{every}"
                    folder = folder.with_name(folder.name + ("-remote" if servers else ""))
                    bare = run_bare_loop(
                        folder / "bare", registry, compilers, servers, args.shots, every
                    )
                    before = {k: len(v) for k, v in PHASES.items()}
                    runner = run_manager(
                        folder / "store", registry, compilers, servers, args.shots, run, every
                    )
                    PHASE_RUNS.setdefault(label, []).append(
                        {k: v[-1] for k, v in PHASES.items() if len(v) > before.get(k, 0)}
                    )
                    results[label]["runner"].append(runner * 1e3)
                    results[label]["bare"].append(bare * 1e3)
                    print(
                        f"run {run} {label}: runner {runner * 1e3:.2f} ms/shot, "
                        f"bare loop {bare * 1e3:.2f} ms/shot",
                        flush=True,
                    )
    finally:
        process.kill()
        process.wait()
    write_report(args, results)


def write_report(args: argparse.Namespace, results: dict[str, dict[str, list[float]]]) -> None:
    budgets = {
        "in-process": 3.0,
        "device server": 6.0,
        "in-process, compaction only at the end (diagnostic)": 3.0,
    }
    lines = [
        "# Running a sequence (shotbook.control) — benchmark",
        "",
        f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. Machine: the 2-core build VM. "
        "Command: "
        f"`cd /work/main && .venv/bin/python bench/bench_run.py --runs {args.runs} "
        f"--shots {args.shots}`",
        "",
        f"Workload: the DESIGN.md reference shot on the simulated lab at full speed, camera "
        f"replaying 4 pre-generated 512×512 uint16 frames, {args.shots} shots, 7 parameters, "
        "3 scalar results per shot (a per-shot analysis), default DuckDB + Parquet store "
        "(compaction due every 50 shots, waiting for a gap between shots; at full speed it "
        "runs after FINISHED, in the background).",
        "",
        "Figure: (start_sequence → FINISHED) / shots; every shot is stored (durable) at "
        "FINISHED; the last column below shows when they were all compacted too. "
        "Baseline (same run): a bare loop doing the same shots in one thread without the "
        "runner (compile → run_shot → analysis → write_shot, devices already open, writer "
        "closed at the end) — the cost of the layers below control. "
        f"Median of {args.runs} runs, ms per shot.",
        "",
        "| devices | runner (ms/shot) | bare loop (ms/shot) | ratio | budget |",
        "|---|---:|---:|---:|---|",
    ]
    for label, data in results.items():
        runner = statistics.median(data["runner"])
        bare = statistics.median(data["bare"])
        budget = budgets[label]
        verdict = "ok" if runner < budget else "OVER"
        lines.append(
            f"| {label} | {runner:.2f} | {bare:.2f} | {runner / bare:.2f} | "
            f"< {budget:g} ms/shot: {verdict} |"
        )
    lines += [
        "",
        "Where the runner's time goes (median ms from the previous mark, per run of "
        f"{args.shots} shots):",
        "",
        "| devices | → PREPARING (checks, snapshot) | → RUNNING (open devices) | "
        "→ first shot stored | → last shot stored | → FINISHED | "
        "→ all compacted (not in the figure) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, runs in PHASE_RUNS.items():
        cells = [
            f"{statistics.median(r[name] for r in runs):.0f}"
            for name in ("preparing", "running", "first shot stored", "last shot stored",
                         "finished", "compacted")
        ]  # fmt: skip
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Runs (ms/shot):"]
    for label, data in results.items():
        lines.append(
            f"- {label}: runner {[round(v, 2) for v in data['runner']]}, "
            f"bare {[round(v, 2) for v in data['bare']]}"
        )
    text = "\n".join(lines) + "\n"
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
