"""Benchmark of ``experiment.diff(a, b)`` on two reference-workload sequences (budget < 50 ms).

Two FINISHED-like sequences (prepared, then interrupted: a snapshot of globals and device
configurations, no shots needed) of the reference workload: 5 steps, 8 digital lanes, 2
analog lanes with ramps and unit expressions, a camera lane, 7 globals, a 200-point linspace
over ``wait_time``, the simulated lab's devices. ``b`` differs in one global, one duration,
one cell, one device field and the scan. Timed, interleaved over ``--runs`` rounds: the whole
``experiment.diff`` (store reads in one transaction + comparison), and as its baseline the
same store reads without comparison; the comparison alone is reported too.

Run: python bench/bench_diff.py [--runs 7]
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from shotbook.device.sim import simulated_lab
from shotbook.extension import Experiment
from shotbook.extension._diff import diff_sequences, sequence_side
from shotbook.session import DuckDBConfig, RunOwner
from shotbook.types import (
    AnalogTimeLane,
    CameraTimeLane,
    DigitalTimeLane,
    ExecuteShot,
    LinspaceLoop,
    ParameterNamespace,
    Ramp,
    StepsConfiguration,
    TimeLanes,
)


def _globals(loading: str) -> ParameterNamespace:
    return ParameterNamespace.from_mapping(
        {
            "mot": {"detuning": "-15 MHz", "loading_time": loading, "power": "5 mW"},
            "imaging": {"detuning": "0 MHz", "exposure": "100 us"},
            "coil_current": "2 A",
            "repump": "0.3",
        }
    )


def _lanes(duration: str, flip: bool) -> TimeLanes:
    digital = {
        f"digital {i}": DigitalTimeLane([True, False, flip and i == 3, True, False])
        for i in range(8)
    }
    analog = {
        "mot detuning": AnalogTimeLane(
            ["mot.detuning", Ramp(), "mot.detuning + 2 MHz", "0 MHz", "0 MHz"]
        ),
        "coils": AnalogTimeLane(["coil_current", Ramp(), "0 A", "0 A", "coil_current"]),
    }
    camera = {"camera": CameraTimeLane([None, None, None, "atoms", None])}
    return TimeLanes(
        ["load", "compress", "wait", "image", "off"],
        ["mot.loading_time", duration, "wait_time", "imaging.exposure", "4.9 ms"],
        {**digital, **analog, **camera},
    )


def _scan(points: int) -> StepsConfiguration:
    return StepsConfiguration([LinspaceLoop("wait_time", "1 ms", "20 ms", points, [ExecuteShot()])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-diff-"))
    try:
        experiment = Experiment(DuckDBConfig(root))
        experiment.setup_default_extensions()
        experiment.upgrade_database()
        lab = simulated_lab()
        devices_a = {"digital": lab["digital"], "camera": lab["camera"]}
        devices_b = {**devices_a, "camera": dataclasses.replace(lab["camera"], seed=7)}
        with experiment.storage_session() as session:
            for path, globals_, lanes, scan, devices in (
                ("/a", _globals("100 ms"), _lanes("20 ms", False), _scan(200), devices_a),
                ("/b", _globals("120 ms"), _lanes("25 ms", True), _scan(150), devices_b),
            ):
                session.sequences.create(path, scan, lanes)
                session.sequences.prepare(path, globals_, devices, RunOwner.current(), None)
                session.sequences.interrupt(path)
        whole, reads, compare = [], [], []
        for _ in range(args.runs):
            start = time.perf_counter()
            diff = experiment.diff("/a", "/b")
            whole.append(time.perf_counter() - start)
            start = time.perf_counter()
            with experiment.storage_session() as session, session.transaction():
                left, right = sequence_side(session, "/a"), sequence_side(session, "/b")
            reads.append(time.perf_counter() - start)
            start = time.perf_counter()
            diff_sequences(left, right)
            compare.append(time.perf_counter() - start)
        print(diff)
        w, r, c = (statistics.median(x) * 1e3 for x in (whole, reads, compare))
        print(
            f"experiment.diff, two reference-workload sequences: median {w:.1f} ms "
            f"(store reads alone {r:.1f} ms, ratio {w / r:.2f}; comparison alone {c:.2f} ms); "
            "budget < 50 ms"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
