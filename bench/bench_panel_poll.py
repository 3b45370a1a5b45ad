"""Panel, kernel side: the cost of one poll, the idle CPU and the build time of a panel on a
10,000-sequence store; this code beside a baseline (another source tree, e.g. main's) in the
same run.

    python bench/bench_panel_poll.py [--sequences 10000] [--runs 5] [--window 30]
                                     --baseline OLD/src

Each run starts one fresh process per source tree (this one, then the baseline) on the same
DuckDB store (built once, by this tree, with ``--sequences`` drafts in folders of 100 and one
finished scan) and measures, in that process:

- build: wall time of ``ExperimentPanel(storage, None, poll_interval=1.0)`` (it reads and
  shows the whole list), the store having been opened before, as in a notebook;
- ready: the same until the panel's worker has also shown the last run (``flush``; its first
  shot read imports pandas, through pyarrow, in a fresh process);
- idle CPU: ``time.process_time()`` (every thread of the process) over ``--window`` seconds of
  a panel left alone, divided by the window;
- poll: wall time of one poll as the poller makes it (read the store, then apply on the
  worker), median of 7, with nothing changed in the store.

No browser: a dummy comm takes the messages (their size is what a browser would receive).
Prints a markdown table and writes bench/results/panel_poll.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, statistics, sys, time
src, root, store, window = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
sys.path.insert(0, src)
sys.path.insert(0, root)
from tests.ui.lab import open_store
from shotbook.ui import ExperimentPanel
storage, _, _ = open_store(store)
with storage.session() as session:  # a notebook has used its store before making a panel
    session.sequences.is_sequence("/scans/tof")
t0 = time.perf_counter()
panel = ExperimentPanel(storage, None, poll_interval=1.0)
build = time.perf_counter() - t0
panel.flush(60)
ready = time.perf_counter() - t0
cpu0, wall0 = time.process_time(), time.perf_counter()
time.sleep(window)
cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
polls = []
for _ in range(7):
    t0 = time.perf_counter()
    panel._read_for_poller()()  # the poller's read, then the worker's apply, on this thread
    polls.append(time.perf_counter() - t0)
panel.close()
storage.close()
poll = statistics.median(polls) * 1e3
print(json.dumps({"build_s": build, "ready_s": ready, "idle_cpu": cpu, "poll_ms": poll}))
sys.stdout.flush()
import os
os._exit(0)  # skip the interpreter's teardown (daemon threads in DuckDB may abort it)
"""


def make_store(folder: Path, sequences: int) -> Path:
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT))
    from tests.ui.lab import add_scan, make_manager, make_store, tof_lanes, tof_scan

    store = folder / "store"
    storage, registry, compilers = make_store(store)
    with storage.session() as session, session.transaction():
        for i in range(sequences):
            path = f"/bulk/{i // 100:03d}/seq {i:05d}"
            session.sequences.create(path, tof_scan(2, 1), tof_lanes())
    add_scan(storage, "/scans/tof", points=4, repetitions=1)
    manager = make_manager(storage, registry, compilers)
    manager.run_sequence("/scans/tof", progress=False)
    manager.close()
    storage.close()
    return store


def measure(src: Path, store: Path, window: float) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(src), str(ROOT), str(store), str(window)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the measuring process failed ({done.returncode}):\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sequences", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--window", type=float, default=30.0, help="idle seconds measured")
    parser.add_argument("--baseline", type=Path, required=True, help="the src of the old code")
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"this": [], "baseline": []}
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        store = make_store(Path(folder), args.sequences)
        print(f"store of {args.sequences} sequences built in {time.perf_counter() - t0:.1f} s")
        for run in range(args.runs):
            for name, src in (("this", ROOT / "src"), ("baseline", args.baseline)):
                result = measure(src, store, args.window)
                results[name].append(result)
                print(f"run {run + 1} {name}: {result}", flush=True)
    lines = [
        f"`python bench/bench_panel_poll.py --sequences {args.sequences} --runs {args.runs} "
        f"--window {args.window:g}` (baseline: {args.baseline})",
        "",
        "| figure | this | baseline | ratio |",
        "|---|---:|---:|---:|",
    ]
    figures = (("poll_ms", "ms"), ("idle_cpu", "% core"), ("build_s", "s"), ("ready_s", "s"))
    for key, unit in figures:
        scale = 100.0 if key == "idle_cpu" else 1.0
        this = statistics.median(r[key] for r in results["this"]) * scale
        base = statistics.median(r[key] for r in results["baseline"]) * scale
        lines.append(f"| {key} ({unit}) | {this:.3g} | {base:.3g} | {this / base:.3g} |")
    text = "\n".join(lines)
    print(text)
    out = ROOT / "bench" / "results" / "panel_poll.md"
    out.write_text(text + "\n\nRuns:\n\n" + json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
