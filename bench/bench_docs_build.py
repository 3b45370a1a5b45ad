"""Benchmark of the documentation build (budget: < 3 minutes on the 2-core machine, notebook
execution included).

Each round builds the site from scratch twice, alternately, in fresh temporary folders
(output, doctrees and the myst-nb execution cache, so nothing is reused):

* ``full``: ``sphinx-build -W --keep-going -j auto -b html docs OUT``, as ``.ci/check``
  runs it, every notebook executed once;
* ``baseline``: the same with notebook execution off (``-D nb_execution_mode=off``): the
  pages, the API reference and the unexecuted notebooks alone.

The difference is what executing the six notebooks costs. Reports the median and every run,
with the load average before and after (the machine is shared).

Run: python bench/bench_docs_build.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(execute: bool) -> float:
    """Seconds of one clean build (raises if it fails)."""
    with tempfile.TemporaryDirectory(prefix="shotbook-docs-bench-") as folder:
        work = Path(folder)
        command = [
            sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-j", "auto", "-b", "html",
            "-d", str(work / "doctrees"),
            "-D", f"nb_execution_cache_path={work / 'cache'}",
            str(ROOT / "docs"), str(work / "html"),
        ]  # fmt: skip
        if not execute:
            command[3:3] = ["-D", "nb_execution_mode=off"]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"docs build failed:\n{result.stderr[-3000:]}")
        shutil.rmtree(work, ignore_errors=True)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    load_before = os.getloadavg()
    full: list[float] = []
    baseline: list[float] = []
    for _ in range(args.runs):
        full.append(build(execute=True))
        baseline.append(build(execute=False))
        print(f"full {full[-1]:.1f} s, without execution {baseline[-1]:.1f} s", flush=True)
    load_after = os.getloadavg()
    median_full, median_base = statistics.median(full), statistics.median(baseline)
    print(f"clean docs build, notebooks executed: median {median_full:.1f} s "
          f"(runs {', '.join(f'{t:.0f}' for t in full)})")  # fmt: skip
    print(f"baseline, execution off: median {median_base:.1f} s "
          f"(runs {', '.join(f'{t:.0f}' for t in baseline)})")  # fmt: skip
    print(f"ratio {median_full / median_base:.2f}; budget < 180 s: "
          f"{'met' if median_full < 180 else 'NOT met'}")  # fmt: skip
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
