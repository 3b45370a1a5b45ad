"""Soak: a long scan through a device server with a reader polling (issue #19, item 6).

The scenario of ``tests/control/soak.py``: the simulated lab's reference shot with a 64x64
camera region, every device on a device server in another process (127.0.0.1), a reader
process reading the running sequence's shot indices every 0.25 s. Figures: shots stored,
wall time, shots/s, resident memory of the manager (this process) and of the device server
sampled every 500 shots, and their growth from shot 2,000 to the end. One run (a soak is
one long run); the baseline of the growth is its own first sample.

Run: python bench/bench_soak.py [SHOTS]   (from the repository root; default 10000)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.control.soak import run_soak  # noqa: E402

MIB = 2**20


def main() -> None:
    shots = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory(prefix="shotbook-soak-") as folder:
        result = run_soak(Path(folder), shots, progress=print)
    lost = sorted(set(range(shots)) - set(result.stored_indices))
    start = 2000 if shots >= 4000 else shots // 5
    manager, server = result.growth(start)
    peak = result.peak_growth(start)
    trend = result.trend_growth(start)
    lines = [
        "# Soak: a long scan through a device server, a reader polling",
        "",
        f"Date: 2026-12-07. Command: `python bench/bench_soak.py {shots}` (repository root).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| shots stored / asked | {len(result.stored_indices)} / {shots} (lost: {len(lost)}) |",
        f"| wall time | {result.seconds:.1f} s ({shots / result.seconds:.0f} shots/s) |",
        f"| reader polls (no error: {not result.reader_errors}) | {result.reads} |",
        f"| manager RSS growth, shot 2,000 → end | {manager / MIB:+.1f} MiB |",
        f"| device server RSS growth, shot 2,000 → end | {server / MIB:+.1f} MiB |",
        f"| RSS growth by the samples' trend, shot 2,000 → end (manager / device server) | "
        f"{trend[0] / MIB:+.1f} / {trend[1] / MIB:+.1f} MiB |",
        f"| largest rise above shot 2,000 (manager / device server) | "
        f"{peak[0] / MIB:+.1f} / {peak[1] / MIB:+.1f} MiB |",
        "",
        "Samples (shots stored: manager RSS, device server RSS, MiB):",
        "",
        ", ".join(f"{n}: {m / MIB:.1f}/{s / MIB:.1f}" for n, m, s in result.samples),
    ]
    text = "\n".join(lines) + "\n"
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "soak.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
