"""DuckDB store: finding a sequence's shot folder by path, with and without the catalog.

Run: python bench/bench_locate.py [--runs 7] [--sequences 2000]   (from the repository root)

Store: ``--sequences`` DRAFT sequences in 40 folders (all in the index) plus 20 FINISHED
sequences with one shot each (they have shot folders and markers). Measured, median of
``--runs`` runs of 200 lookups each (per lookup):

- ``manager.locate_shots(path)`` warm (the index cached; a ``stat`` + one marker read);
- the same with a new manager each time (the parsed index is shared in the process);
- the same with the index read and parsed each time (the first lookup of a process);
- baseline: what a read by path costs without the sidecar: a session call that opens the
  catalog (``sequences._id_of(path)``), in the same process;
- floor: reading one small file (the marker) with ``Path.read_text``.

Prints a markdown table and writes bench/results/locate.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shotbook.registry import Serializer, default_registry  # noqa: E402
from shotbook.session import DuckDBConfig, DuckDBStorageManager, RunOwner  # noqa: E402
from shotbook.session._parquet import _locator as _shot_locator  # noqa: E402
from shotbook.session._parquet._locator import MARKER_NAME  # noqa: E402
from shotbook.types import ExecuteShot, ParameterNamespace, StepsConfiguration, TimeLanes  # noqa: E402
from shotbook.types._paths import PureSequencePath  # noqa: E402

BUDGET_MS = 0.5
LOOKUPS = 200


def per_call_ms(call: Callable[[], object], runs: int, calls: int = LOOKUPS) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        samples.append((time.perf_counter() - start) * 1e3 / calls)
    return statistics.median(samples)


def build_store(root: Path, sequences: int) -> DuckDBStorageManager:
    serializer = Serializer(default_registry())
    manager = DuckDBStorageManager(serializer, DuckDBConfig(root))
    manager.upgrade()
    steps = StepsConfiguration([ExecuteShot()])
    lanes = TimeLanes(["only"], ["1 ms"])
    now = datetime.now(UTC)
    with manager.session() as session:
        with session.transaction():
            for i in range(sequences):
                session.sequences.create(f"/folder {i % 40:02d}/scan {i:05d}", steps, lanes)
            for i in range(20):
                session.sequences.create(f"/done/scan {i}", steps, lanes)
        for i in range(20):
            path = f"/done/scan {i}"
            session.sequences.prepare(path, ParameterNamespace.empty(), {}, RunOwner.current(), 1)
            with session.sequences.start(path) as writer:
                writer.write_shot(0, {"n": i}, {"a.b": float(i)}, now, now)
            session.sequences.finish(path)
    return manager


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sequences", type=int, default=2000)
    arguments = parser.parse_args()
    runs = max(5, arguments.runs)
    with tempfile.TemporaryDirectory() as folder:
        manager = build_store(Path(folder) / "store", arguments.sequences)
        paths = [f"/done/scan {i}" for i in range(20)]
        assert all(manager.locate_shots(p) is not None for p in paths)
        cycle = iter(range(10**9))

        def warm() -> object:
            return manager.locate_shots(paths[next(cycle) % 20])

        def fresh_manager() -> object:
            fresh = DuckDBStorageManager(manager.serializer, manager.config)
            return fresh.locate_shots(paths[next(cycle) % 20])

        def cold() -> object:
            _shot_locator._parsed_indexes.clear()
            return manager.locate_shots(paths[next(cycle) % 20])

        def catalog() -> object:
            with manager.session() as session:
                return session.sequences._id_of(PureSequencePath(paths[next(cycle) % 20]))

        marker = manager.locate_shots(paths[0])
        assert marker is not None

        def floor() -> object:
            return (marker / MARKER_NAME).read_text(encoding="utf-8")

        rows = [
            ("locate_shots(path), index cached", per_call_ms(warm, runs)),
            ("locate_shots(path), new manager each time", per_call_ms(fresh_manager, runs)),
            ("locate_shots(path), index parsed each time", per_call_ms(cold, runs, 50)),
            ("baseline: session + _id_of (opens the catalog)", per_call_ms(catalog, runs, 20)),
            ("floor: read one small file", per_call_ms(floor, runs)),
        ]
        index_kb = (manager.root / "shot-index.json").stat().st_size / 1024
    loadavg = Path("/proc/loadavg")
    load = loadavg.read_text().split()[:3] if loadavg.exists() else ["?"]
    command = f"python bench/bench_locate.py --runs {runs} --sequences {arguments.sequences}"
    lines = [
        "# DuckDB store: shot folder by path (locate_shots)",
        "",
        f"Command: `{command}`. Median of {runs} runs (per lookup). "
        f"{arguments.sequences + 20} sequences; index {index_kb:.0f} KiB. "
        f"Load average at the end: {' '.join(load)}.",
        "",
        "| call | ms per lookup | budget |",
        "|---|---|---|",
    ]
    for name, value in rows:
        budget = f"<= {BUDGET_MS} ms" if name.endswith("index cached") else "-"
        lines.append(f"| {name} | {value:.3f} | {budget} |")
    table = "\n".join(lines) + "\n"
    print(table)
    out = ROOT / "bench" / "results" / "locate.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
