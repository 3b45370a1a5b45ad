"""Benchmark: what storing the units of read-out columns costs per shot (issue #17).

Workload: a reference-workload shot (7 parameters, a 512x512 uint16 picture and 3 scalar
results) plus 3 instrument read-outs (``dmm.voltage``, ``rf.frequency_readback``,
``synth.temperature``), written by the Parquet shot store's writer.

* baseline: ``write_shot(...)`` without ``data_units`` (what the store did before);
* units: the same shots with ``data_units`` naming the unit of the 3 read-outs.

Both write into their own store in the same process, interleaved in blocks of BLOCK shots
(the VM's speed drifts); the figure is the median over RUNS runs of each run's median
per-shot time. Results go to bench/results/data_units.md.

Run: python bench/bench_data_units.py   (from the repository root, PYTHONPATH=src)
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from shotbook.session import ParquetShotStore

sys.path.insert(0, str(Path(__file__).parent))

from bench_storage import UNITS

SHOTS = 200
RUNS = 7
BLOCK = 10
RESULTS = Path(__file__).parent / "results" / "data_units.md"
DATA_UNITS = {"dmm.voltage": "V", "rf.frequency_readback": "Hz", "synth.temperature": "K"}


def make_shots() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    rng = np.random.default_rng(0)
    shots = []
    for index in range(SHOTS):
        parameters = {
            "mot.detuning": -2e6 + 1e4 * index,
            "wait_time": 1e-3 * (1 + index % 20),
            "repeat": index // 20,
            "imaging.enabled": True,
            "mot.power": 0.005,
            "probe.detuning": -1e6,
            "tof": 0.01,
        }
        data = {
            "camera.picture": rng.integers(0, 4096, (512, 512), dtype=np.uint16),
            "analysis.atom_number": 1e5 + index,
            "analysis.x": 256.0 + index * 0.01,
            "analysis.width": 30.0,
            "dmm.voltage": 10.0 + 1e-3 * index,
            "rf.frequency_readback": 80e6 + index,
            "synth.temperature": 294.65,
        }
        shots.append((parameters, data))
    return shots


def one_run(root: Path, shots: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, float]:
    """Median ms per shot written, without and with data units, interleaved."""
    times: dict[str, list[float]] = {"baseline": [], "units": []}
    start = datetime(2026, 12, 8, tzinfo=UTC)
    stores = {
        kind: ParquetShotStore(root / kind, compact_every=10**9) for kind in ("baseline", "units")
    }
    with stores["baseline"].writer() as plain, stores["units"].writer() as with_units:
        for first in range(0, SHOTS, BLOCK):
            for kind, writer in (("baseline", plain), ("units", with_units)):
                extra = {"data_units": DATA_UNITS} if kind == "units" else {}
                for index in range(first, min(first + BLOCK, SHOTS)):
                    parameters, data = shots[index]
                    began = time.perf_counter()
                    writer.write_shot(index, parameters, data, start, start, units=UNITS, **extra)
                    times[kind].append(time.perf_counter() - began)
    return {kind: statistics.median(values) * 1e3 for kind, values in times.items()}


def main() -> None:
    shots = make_shots()
    runs: list[dict[str, float]] = []
    for _ in range(RUNS):
        root = Path(tempfile.mkdtemp(prefix="bench-data-units-"))
        try:
            runs.append(one_run(root, shots))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    baseline = statistics.median(run["baseline"] for run in runs)
    units = statistics.median(run["units"] for run in runs)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        f"# Storing read-out units ({dt.date.today()}, load average {load:.2f})",
        "",
        f"{SHOTS} shots x {RUNS} runs; medians of per-run medians, ms per shot written.",
        "",
        "| write_shot | ms/shot |",
        "|---|---|",
        f"| baseline (no data_units) | {baseline:.3f} |",
        f"| with data_units (3 read-outs) | {units:.3f} |",
        f"| difference | {units - baseline:+.3f} (ratio {units / baseline:.3f}) |",
    ]
    text = "\n".join(lines) + "\n"
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
