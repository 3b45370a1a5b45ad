"""DuckDB catalog: the cost of a session call when the catalog is opened per call.

Run: python bench/bench_catalog.py [--runs 7] [--sequences 2000]   (from the repository root)

Store: ``--sequences`` DRAFT sequences in 40 folders, plus 10 RUNNING sequences holding 20
small shots each (their shots are counted from their folders; the others have a stored count).
Measured, median of ``--runs`` runs, each call from a fresh open of the catalog:

- ``sequences.all_sequences()``: the panel's list (one catalog query + folder counts of the
  running ones + building the stats); baseline: ``duckdb.connect`` + the same ``SELECT`` of
  the same columns, ``fetchall`` and close, in the same process.
- ``sequences.get_state(path)``: one read; baseline: connect + ``SELECT state`` + close.
- ``sequences.set_notes(path, text)``: one write transaction; baseline: connect + ``BEGIN``
  + ``UPDATE`` + ``COMMIT`` + close.

Prints a markdown table and writes bench/results/catalog.md.
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

import duckdb  # noqa: E402

from shotbook.registry import Serializer, default_registry  # noqa: E402
from shotbook.session import DuckDBConfig, DuckDBStorageManager, RunOwner  # noqa: E402
from shotbook.types import (  # noqa: E402
    ExecuteShot,
    LinspaceLoop,
    ParameterNamespace,
    StepsConfiguration,
    TimeLanes,
)

BUDGET_LIST_MS = 50.0


def median_ms(call: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def build_store(root: Path, sequences: int) -> DuckDBStorageManager:
    manager = DuckDBStorageManager(Serializer(default_registry()), DuckDBConfig(root))
    manager.upgrade()
    steps = StepsConfiguration([LinspaceLoop("n", "0", "1", 20, [ExecuteShot()])])
    lanes = TimeLanes(["load", "image"], ["100 ms", "10 us"])
    with manager.session() as session:
        with session.transaction():
            for i in range(sequences):
                session.sequences.create(f"/folder {i % 40:02d}/scan {i:05d}", steps, lanes)
            for i in range(10):
                session.sequences.create(f"/running/scan {i}", steps, lanes)
        now = datetime.now(UTC)
        for i in range(10):
            path = f"/running/scan {i}"
            session.sequences.prepare(path, ParameterNamespace.empty(), {}, RunOwner.current(), 20)
            with session.sequences.start(path) as writer:
                for index in range(20):
                    writer.write_shot(index, {"n": index}, {"a.b": float(index)}, now, now)
    return manager


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sequences", type=int, default=2000)
    arguments = parser.parse_args()
    runs = max(5, arguments.runs)

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        manager = build_store(Path(folder) / "store", arguments.sequences)
        setup_s = time.perf_counter() - started
        catalog = str(manager.config.catalog_path)
        total = arguments.sequences + 10
        path = "/folder 07/scan 00007"

        def raw(sql: str, params: list[object], write: bool = False) -> Callable[[], object]:
            def call() -> object:
                connection = duckdb.connect(catalog)
                try:
                    if write:
                        connection.begin()
                        connection.execute(sql, params)
                        connection.commit()
                        return None
                    return connection.execute(sql, params).fetchall()
                finally:
                    connection.close()

            return call

        with manager.session() as session:
            cold_start = time.perf_counter()
            listed = session.sequences.all_sequences()
            cold_list_ms = (time.perf_counter() - cold_start) * 1e3
            assert len(listed) == total
            assert sum(s.number_of_shots for s in listed) == 200
            rows = [
                (
                    f"sequences.all_sequences() ({total} sequences, 10 running)",
                    median_ms(session.sequences.all_sequences, runs),
                    median_ms(
                        raw(
                            "SELECT path, uuid, state, expected_shots, number_of_shots, created, "
                            "started, stopped, owner_host, owner_pid, owner_user, heartbeat, "
                            "ran_by, host, shotbook_version FROM sequences",
                            [],
                        ),
                        runs,
                    ),
                    f"< {BUDGET_LIST_MS:.0f} ms",
                ),
                (
                    "sequences.get_state(path)",
                    median_ms(lambda: session.sequences.get_state(path), runs),
                    median_ms(raw("SELECT state FROM sequences WHERE path = ?", [path]), runs),
                    "-",
                ),
                (
                    "sequences.set_notes(path, text)",
                    median_ms(lambda: session.sequences.set_notes(path, "bench"), runs),
                    median_ms(
                        raw("UPDATE sequences SET notes = ? WHERE path = ?", ["raw", path], True),
                        runs,
                    ),
                    "-",
                ),
            ]

    date = "2026-11-25"
    command = f"python bench/bench_catalog.py --runs {runs} --sequences {arguments.sequences}"
    lines = [
        "# DuckDB catalog (session calls, catalog opened per call)",
        "",
        f"Date: {date}. Command: `{command}`. Median of {runs} runs; each call opens and "
        "closes the catalog. Baseline: plain duckdb connect + the same SQL + close, same process.",
        f"Store built through the API in {setup_s:.1f} s. First (cold) all_sequences() call: "
        f"{cold_list_ms:.1f} ms (paths parsed once, then cached).",
        "",
        "| call | shotbook (ms) | baseline (ms) | ratio | budget |",
        "|---|---|---|---|---|",
    ]
    for name, ours, baseline, budget in rows:
        lines.append(f"| {name} | {ours:.1f} | {baseline:.1f} | {ours / baseline:.2f} | {budget} |")
    table = "\n".join(lines) + "\n"
    print(table)
    out = ROOT / "bench" / "results" / "catalog.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table, encoding="utf-8")
    list_ms = rows[0][1]
    if list_ms > BUDGET_LIST_MS:
        print(f"over budget: all_sequences() took {list_ms:.1f} ms > {BUDGET_LIST_MS} ms")


if __name__ == "__main__":
    main()
