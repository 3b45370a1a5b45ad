"""Parse once, evaluate per shot: a 40-parameter namespace and a 20-expression lane set.

Run: python bench/bench_parameters.py [--runs 7] [--shots 2000]

Prints a markdown table (median of the runs) and writes bench/results/parameters.md.
The baseline is the same 40 values computed by hand-written Python arithmetic on floats
in the same process (the floor any expression engine can reach).
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from shotbook.types import Expression, ParameterNamespace


def namespace_40() -> ParameterNamespace:
    """40 parameters in 8 namespaces, each referring to earlier ones, with units."""
    groups: dict[str, dict[str, str]] = {}
    previous = None
    for g in range(8):
        group: dict[str, str] = {}
        group["detuning"] = (
            f"-{g + 1} MHz" if previous is None else f"{previous}.detuning + 1.5 MHz"
        )
        group["power"] = f"{g + 2} mW"
        group["duration"] = f"{g + 1} ms * 2"
        group["ratio"] = f"{(g + 1) * 10}%"
        group["field"] = f"sqrt(g{g}.power / 1 mW) * 2 G" if g else "3 G"
        groups[f"g{g}"] = group
        previous = f"g{g}"
    return ParameterNamespace.from_mapping(groups)


LANE_EXPRESSIONS = [
    "g0.detuning + 2 MHz",
    "g1.detuning * 2",
    "g2.power * g2.ratio",
    "g3.duration / 4",
    "max(g4.power, 3 mW)",
    "g5.field * 1.5",
    "sin(2 * pi * t * 1 kHz) * 1 V",
    "g6.detuning + 10 MHz * t / (1 ms)",
    "square_wave(t * 10 kHz, duty=0.3)",
    "exp(-t / (2 ms)) * g7.power",
    "g0.ratio * 5 V",
    "abs(g1.detuning)",
    "10 dBm + g2.power",
    "g3.duration * 3 + 1 ms",
    "cos(t * 2 kHz * 2 * pi) * g4.ratio",
    "g5.detuning - g4.detuning",
    "min(g6.power, g7.power)",
    "t * 1 V / (1 ms)",
    "g7.field / 2",
    "log10(g7.power / 1 mW)",
]


def baseline_shot() -> dict[str, float]:
    values: dict[str, float] = {}
    previous = None
    for g in range(8):
        p = f"g{g}"
        values[f"{p}.detuning"] = (
            -(g + 1) * 1e6 if previous is None else values[f"{previous}.detuning"] + 1.5e6
        )
        values[f"{p}.power"] = (g + 2) * 1e-3
        values[f"{p}.duration"] = (g + 1) * 1e-3 * 2
        values[f"{p}.ratio"] = (g + 1) * 10 / 100
        values[f"{p}.field"] = (values[f"{p}.power"] / 1e-3) ** 0.5 * 2e-4 if g else 3e-4
        previous = p
    return values


def run(shots: int) -> tuple[float, float, float, float]:
    """Per-shot µs: namespace, lanes (scalar + 1000-sample arrays), baseline; and parse ms."""
    t0 = time.perf_counter()
    compiled = namespace_40().compile()
    lanes = [Expression(text).compile(compiled.dimensions) for text in LANE_EXPRESSIONS]
    parse_ms = (time.perf_counter() - t0) * 1e3
    t = np.linspace(0, 1e-3, 1000)

    start = time.perf_counter()
    for _ in range(shots):
        compiled.evaluate_into({})
    namespace_us = (time.perf_counter() - start) / shots * 1e6

    values = compiled.evaluate_into({})
    values_t: dict[str, object] = {**values, "t": t}
    start = time.perf_counter()
    for _ in range(shots):
        for lane in lanes:
            lane(values_t)
    lanes_us = (time.perf_counter() - start) / shots * 1e6

    start = time.perf_counter()
    for _ in range(shots):
        baseline_shot()
    baseline_us = (time.perf_counter() - start) / shots * 1e6
    return namespace_us, lanes_us, baseline_us, parse_ms


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--shots", type=int, default=2000)
    parser.add_argument(
        "--output", type=Path, default=Path(__file__).parent / "results/parameters.md"
    )
    args = parser.parse_args()
    # check correctness once before timing
    values = namespace_40().compile().evaluate_into({})
    expected = baseline_shot()
    assert all(abs(values[k] - expected[k]) <= 1e-9 * max(1.0, abs(expected[k])) for k in expected)

    results = [run(args.shots) for _ in range(args.runs)]
    ns, lanes, base, parse = (statistics.median(r[i] for r in results) for i in range(4))
    today = datetime.date.today().isoformat()
    command = f"python bench/bench_parameters.py --runs {args.runs} --shots {args.shots}"
    table = (
        "| date | what | median | baseline (same run) | ratio | budget |\n"
        "|---|---|---|---|---|---|\n"
        f"| {today} | 40-parameter namespace, evaluate one shot | {ns:.1f} µs | "
        f"hand-written float arithmetic {base:.1f} µs | {ns / base:.1f}× | < 200 µs |\n"
        f"| {today} | 20 lane expressions (6 on 1000-sample `t`), one shot | {lanes:.1f} µs "
        "| — | — | — |\n"
        f"| {today} | parse + check 40 + 20 expressions once | {parse:.1f} ms | — | — | — |\n"
    )
    text = (
        "### Parameters: parse once, evaluate per shot\n\n"
        f"Command: `{command}` (median of {args.runs} runs of {args.shots} shots)\n\n{table}"
    )
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
