"""Benchmark of ``import_caqtus``: the caqtus 6.29 fixture scaled to 1,000 shots → DuckDB.

The fixture's finished scan is given 1,000 shots (its 6 shots repeated; 1,005 shots in all
with the other sequences), then each round imports it into a fresh DuckDB store (reading
SQLite, converting, writing through the shot writers, reading every shot back to verify).
The baseline, in the same round: the same 1,005 shots, already decoded, written through the
shot writer of one sequence (no caqtus reading, no verification). Budget: ≥ 200 shots/s.

Run: python bench/bench_import_caqtus.py [--runs 5] [--shots 1000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from shotbook.extension import Experiment, import_caqtus
from shotbook.session import DuckDBConfig, RunOwner, StorageManager
from shotbook.types import ParameterNamespace, StepsConfiguration, TimeLanes

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.extension.caqtus_fixture import FIXTURE, scaled_copy


def _manager(root: Path) -> StorageManager:
    experiment = Experiment(DuckDBConfig(root))
    experiment.setup_default_extensions()
    manager = experiment.get_storage_manager()
    manager.upgrade()
    return manager


def _baseline(root: Path, shots: int) -> float:
    """Seconds to write ``shots`` fixture-like shots through one sequence's shot writer."""
    from datetime import UTC, datetime

    manager = _manager(root)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 200, (32, 32), dtype=np.uint16)
    parameters = {f"p{i}": float(i) for i in range(10)} | {"n": 5000, "flag": True}
    now = datetime.now(UTC)
    start = time.perf_counter()
    with manager.session() as session:
        lanes = TimeLanes(["a"], ["1 ms"])
        session.sequences.create("/bench", StepsConfiguration(), lanes)
        session.sequences.prepare(
            "/bench", ParameterNamespace.empty(), {}, RunOwner.current(), shots
        )
        with session.sequences.start("/bench") as writer:
            for index in range(shots):
                writer.write_shot(
                    index,
                    parameters,
                    {"Camera.atoms": image, "Camera.background": image, "Camera.n": 1.0},
                    now,
                    now,
                )
        session.sequences.finish("/bench")
    seconds = time.perf_counter() - start
    manager.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--shots", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-caqtus-"))
    try:
        source = scaled_copy(FIXTURE / "caqtus.sqlite", work / "scaled.sqlite", args.shots)
        total = args.shots + 5
        rates, baselines = [], []
        for run in range(args.runs):
            manager = _manager(work / f"store-{run}")
            start = time.perf_counter()
            summary = import_caqtus(source, manager, {}, progress=False, warn=lambda m: None)
            seconds = time.perf_counter() - start
            manager.close()
            assert summary.shots_written == total, summary
            rates.append(total / seconds)
            baselines.append(total / _baseline(work / f"base-{run}", total))
            print(f"run {run}: import {rates[-1]:.0f} shots/s, bare writer {baselines[-1]:.0f}")
        rate, base = statistics.median(rates), statistics.median(baselines)
        print(
            f"import-caqtus, {total} shots into DuckDB: median {rate:.0f} shots/s "
            f"(bare shot writer {base:.0f} shots/s, ratio {rate / base:.2f}); budget >= 200"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
