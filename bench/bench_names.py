"""Benchmark of exact names in patterns and of the audit log (issue 19, items 2 and 5).

Builds a DuckDB store of 100 finished sequences ``/s/x0`` .. ``/s/x99`` (one shot each) and
``/s/scan?``, then, interleaved over ``--runs`` rounds of ``--calls`` calls each, times:

- selecting ``"/s/x*"`` (a pattern: the exact-name check, then the listing and the match)
  beside the same listing and match alone (what selection cost before the check);
- renaming a sequence (its audit record written in the same transaction) beside the same
  rename with the record switched off (the catalog's ``audit_record`` replaced by a no-op in
  this process: the rename as it was before the audit log).

Medians of the rounds go to bench/results/names.md.

Run: cd /work/wt-names && python bench/bench_names.py [--runs 7 --calls 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import shotbook.session._catalog._paths as catalog_paths
from shotbook.analysis._selection import _compile, select_sequences
from shotbook.registry import Serializer, default_registry
from shotbook.session import DuckDBConfig, RunOwner, State
from shotbook.types import ExecuteShot, ParameterNamespace, StepsConfiguration, TimeLanes


def build(root: Path, count: int) -> object:
    manager = DuckDBConfig(root).create_storage_manager(Serializer(default_registry()))
    manager.upgrade()
    steps, lanes = StepsConfiguration([ExecuteShot()]), TimeLanes([], [])
    with manager.session() as session:
        for name in [f"x{i}" for i in range(count)] + ["scan?"]:
            path = f"/s/{name}"
            session.sequences.create(path, steps, lanes)
            session.sequences.prepare(path, ParameterNamespace.empty(), {}, RunOwner.current(), 1)
            writer = session.sequences.start(path)
            now = datetime.now(UTC)
            writer.write_shot(0, {"n": 0.0}, {}, now, now)
            writer.close()
            session.sequences.finish(path)
    return manager


def per_call(action: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        action()
    return (time.perf_counter() - start) / calls * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        manager = build(Path(folder) / "store", 100)
        before = os.getloadavg()[0]
        figures: dict[str, list[float]] = {k: [] for k in ("select", "listing", "move", "bare")}
        with manager.session() as session:  # type: ignore[attr-defined]
            regex = _compile("/s/x*")

            def listing() -> list[object]:
                paths = [
                    s.path for s in session.sequences.all_sequences() if s.state is not State.DRAFT
                ]
                return [p for p in paths if regex.match(str(p))]

            flip = [False]

            def move() -> None:
                a, b = ("/s/x1", "/s/moved") if not flip[0] else ("/s/moved", "/s/x1")
                session.paths.move(a, b)
                flip[0] = not flip[0]

            for _ in range(args.runs):
                assert len(select_sequences(session, "/s/x*")) == 100
                figures["select"].append(
                    per_call(lambda: select_sequences(session, "/s/x*"), args.calls)
                )
                figures["listing"].append(per_call(listing, args.calls))
                figures["move"].append(per_call(move, args.calls))
                recording = catalog_paths.audit_record
                catalog_paths.audit_record = lambda *a, **k: None  # type: ignore[assignment]
                try:
                    figures["bare"].append(per_call(move, args.calls))
                finally:
                    catalog_paths.audit_record = recording
            with manager.session() as check:  # type: ignore[attr-defined]
                assert len(check.audit_log("/s")) == args.runs * args.calls
        medians = {k: statistics.median(v) for k, v in figures.items()}
    load = os.getloadavg()[0]
    lines = [
        f"# names and audit log, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"load average {before:.2f} at the start, {load:.2f} at the end",
        "",
        f"runs {args.runs} × {args.calls} calls, ms per call (median of the runs):",
        "",
        f"- select '/s/x*' (exact check + listing + match): {medians['select']:.2f} "
        f"(runs {', '.join(f'{v:.2f}' for v in figures['select'])})",
        f"- listing + match alone (before): {medians['listing']:.2f} "
        f"(runs {', '.join(f'{v:.2f}' for v in figures['listing'])})",
        f"- ratio {medians['select'] / medians['listing']:.2f}",
        f"- rename with its audit record: {medians['move']:.2f} "
        f"(runs {', '.join(f'{v:.2f}' for v in figures['move'])})",
        f"- the same rename, record switched off (before): {medians['bare']:.2f} "
        f"(runs {', '.join(f'{v:.2f}' for v in figures['bare'])})",
        f"- ratio {medians['move'] / medians['bare']:.2f}",
    ]
    text = "\n".join(lines) + "\n"
    out = Path(__file__).parent / "results" / "names.md"
    out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
