"""Benchmark of what the disk-full safety adds to each run: the run note.

A run writes a 32 KiB note beside the store when it starts (allocated while the disk has
room, flushed) and deletes it once its end is stored. This measures that pair and, in the
same run, the baseline it sits beside: one catalog transaction of the default store (a
sequence's ``set_notes``, as each state change of a run is one such transaction).

Run: cd /work/main && PYTHONPATH=src .venv/bin/python bench/bench_run_note.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from shotbook.control._run_notes import RunNote
from shotbook.registry import Serializer, default_registry
from shotbook.session import DuckDBConfig, RunOwner
from shotbook.types import ExecuteShot, LinspaceLoop, StepsConfiguration, TimeLanes

REPEATS = 50


def _note_pair(folder: Path) -> float:
    """Seconds for one note created (flushed) and deleted, the mean of ``REPEATS``."""
    owner = RunOwner.current()
    start = time.perf_counter()
    for index in range(REPEATS):
        RunNote.create(folder, f"/bench/{index}", owner).discard()
    return (time.perf_counter() - start) / REPEATS


def _catalog_transaction(root: Path) -> float:
    """Seconds for one catalog write transaction, the mean of ``REPEATS``."""
    manager = DuckDBConfig(root).create_storage_manager(Serializer(default_registry()))
    steps = StepsConfiguration([LinspaceLoop("x", "0", "1", 2, [ExecuteShot()])])
    with manager.session() as session:
        session.sequences.create("/bench", steps, TimeLanes([], [], {}))
        start = time.perf_counter()
        for index in range(REPEATS):
            session.sequences.set_notes("/bench", f"note {index}")
        return (time.perf_counter() - start) / REPEATS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    arguments = parser.parse_args()
    notes: list[float] = []
    transactions: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        for run in range(arguments.runs):
            notes.append(_note_pair(Path(folder) / f"notes-{run}"))
            transactions.append(_catalog_transaction(Path(folder) / f"store-{run}"))
    note = statistics.median(notes)
    transaction = statistics.median(transactions)
    print(f"run note created + deleted: {note * 1e3:.3f} ms (median of {arguments.runs})")
    print(f"catalog write transaction:  {transaction * 1e3:.3f} ms (same run)")
    print(f"ratio: {note / transaction:.2f}")


if __name__ == "__main__":
    main()
