"""Expression engine: parse once, then evaluate compiled expressions per shot.

Run: python bench/bench_expressions.py [--runs 7] [--shots 2000]

Per shot it evaluates a chain of 40 scalar expressions (each refers to an earlier one, with
units: ``2 * ns.p3 + 3 MHz``...) and 20 lane expressions, 8 of which use ``t`` on a
1000-sample array. Baselines, measured in the same process: the same arithmetic written by
hand in Python (scalars) and in numpy (lanes), the floor an expression engine can reach.
Prints a markdown table (median of the runs) and writes bench/results/expressions.md.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shotbook.types._expression import Expression  # noqa: E402
from shotbook.types._units import Dimension  # noqa: E402

MHZ = 1e6


def chain_texts() -> list[tuple[str, str, Callable[[dict[str, Any]], float]]]:
    """40 (name, text, hand-written equivalent on SI floats)."""
    items: list[tuple[str, str, Callable[[dict[str, Any]], float]]] = [
        ("ns.p0", "1 MHz", lambda v: 1e6)
    ]
    forms: list[tuple[str, Callable[[float], float]]] = [
        ("2 * {} + 3 MHz", lambda x: 2 * x + 3e6),
        ("{} / 2 - 100 kHz", lambda x: x / 2 - 1e5),
        ("-2 MHz + {}", lambda x: -2e6 + x),
        ("max({}, 1 MHz)", lambda x: max(x, 1e6)),
        ("abs({}) * 0.5", lambda x: abs(x) * 0.5),
        ("sqrt({} * 1 MHz)", lambda x: math.sqrt(x * 1e6)),
        ("{} * 60% + 1 kHz", lambda x: x * 0.6 + 1e3),
        ("({} + 1 MHz) * 1 ms * 1 kHz", lambda x: (x + 1e6) * 1e-3 * 1e3),
    ]
    for i in range(1, 40):
        previous = f"ns.p{i - 1}"
        form, hand = forms[i % len(forms)]

        def by_hand(v: dict[str, Any], p: str = previous, h: Any = hand) -> float:
            return float(h(v[p]))

        items.append((f"ns.p{i}", form.format(previous), by_hand))
    return items


LANES: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("ns.p1 + 2 MHz", lambda v: v["ns.p1"] + 2e6),
    ("ns.p2 * 2", lambda v: v["ns.p2"] * 2),
    ("ns.p3 - ns.p4", lambda v: v["ns.p3"] - v["ns.p4"]),
    ("ns.p5 / 4", lambda v: v["ns.p5"] / 4),
    ("max(ns.p6, 3 MHz)", lambda v: max(v["ns.p6"], 3e6)),
    ("10 dBm + 1 mW", lambda v: 0.011),
    ("ns.p7 * 1 us", lambda v: v["ns.p7"] * 1e-6),
    ("abs(ns.p8)", lambda v: abs(v["ns.p8"])),
    ("ns.p9 > 1 MHz", lambda v: v["ns.p9"] > 1e6),
    ("min(ns.p10, ns.p11)", lambda v: min(v["ns.p10"], v["ns.p11"])),
    ("ns.p12 * 1 s * 3 V", lambda v: v["ns.p12"] * 3.0),
    ("log10(ns.p13 / 1 MHz)", lambda v: math.log10(v["ns.p13"] / 1e6)),
    ("sin(2 * pi * t * 1 kHz) * 1 V", lambda v: np.sin(2 * np.pi * v["t"] * 1e3) * 1.0),
    (
        "ns.p14 + (ns.p15 - ns.p14) * t / 10 ms",
        lambda v: v["ns.p14"] + (v["ns.p15"] - v["ns.p14"]) * v["t"] / 1e-2,
    ),
    ("square_wave(t * 10 kHz, duty=0.3)", lambda v: (v["t"] * 1e4) % 1.0 < 0.3),
    ("exp(-t / 2 ms) * 5 mW", lambda v: np.exp(-v["t"] / 2e-3) * 5e-3),
    ("cos(t * 2 kHz * 2 * pi) * 60%", lambda v: np.cos(v["t"] * 2e3 * 2 * np.pi) * 0.6),
    ("t * 1 V / 1 ms", lambda v: v["t"] * 1.0 / 1e-3),
    ("t > 1 ms and t < 2 ms", lambda v: (v["t"] > 1e-3) & (v["t"] < 2e-3)),
    (
        "ns.p16 * (1 + 0.1 * sin(2 * pi * t * 50 Hz))",
        lambda v: v["ns.p16"] * (1 + 0.1 * np.sin(2 * np.pi * v["t"] * 50.0)),
    ),
]


def parse_all() -> tuple[list[tuple[str, Any]], list[Any]]:
    dimensions: dict[str, Dimension] = {}
    chain = []
    for name, text, _ in chain_texts():
        compiled = Expression(text).compile(dimensions)
        dimensions[name] = compiled.dimension
        chain.append((name, compiled))
    lanes = [Expression(text).compile(dimensions) for text, _ in LANES]
    return chain, lanes


def run_compiled(
    chain: list[tuple[str, Any]], lanes: list[Any], t: np.ndarray, shots: int
) -> float:
    start = time.perf_counter()
    for _ in range(shots):
        values: dict[str, Any] = {}
        for name, compiled in chain:
            values[name] = compiled(values)
        values["t"] = t
        for compiled in lanes:
            compiled(values)
    return (time.perf_counter() - start) / shots


def run_chain_only(chain: list[tuple[str, Any]], shots: int) -> float:
    start = time.perf_counter()
    for _ in range(shots):
        values: dict[str, Any] = {}
        for name, compiled in chain:
            values[name] = compiled(values)
    return (time.perf_counter() - start) / shots


def run_lanes_only(lanes: list[Any], values: dict[str, Any], shots: int) -> float:
    start = time.perf_counter()
    for _ in range(shots):
        for compiled in lanes:
            compiled(values)
    return (time.perf_counter() - start) / shots


def run_by_hand_chain(shots: int) -> float:
    hand = [(name, function) for name, _, function in chain_texts()]
    start = time.perf_counter()
    for _ in range(shots):
        values: dict[str, Any] = {}
        for name, function in hand:
            values[name] = function(values)
    return (time.perf_counter() - start) / shots


def run_by_hand_lanes(values: dict[str, Any], shots: int) -> float:
    start = time.perf_counter()
    for _ in range(shots):
        for _, function in LANES:
            function(values)
    return (time.perf_counter() - start) / shots


def parse_cold() -> float:
    from shotbook.types import _expression

    _expression._parse.cache_clear()
    start = time.perf_counter()
    parse_all()
    return time.perf_counter() - start


def check_agreement(chain: list[tuple[str, Any]], lanes: list[Any], t: np.ndarray) -> None:
    values: dict[str, Any] = {}
    for name, compiled in chain:
        values[name] = compiled(values)
    hand: dict[str, Any] = {}
    for name, _, function in chain_texts():
        hand[name] = function(hand)
    for name in values:
        assert math.isclose(values[name], hand[name], rel_tol=1e-12), name
    values["t"] = t
    hand["t"] = t
    for compiled, (text, function) in zip(lanes, LANES, strict=True):
        np.testing.assert_allclose(compiled(values), function(hand), rtol=1e-12, err_msg=text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--shots", type=int, default=2000)
    args = parser.parse_args()

    parse_all()  # warm pint and the unit cache: cold parse timings exclude pint's start-up
    chain, lanes = parse_all()
    t = np.linspace(0.0, 10e-3, 1000)
    check_agreement(chain, lanes, t)
    lane_values: dict[str, Any] = {}
    for name, compiled in chain:
        lane_values[name] = compiled(lane_values)
    lane_values["t"] = t

    rows: dict[str, list[float]] = {
        k: [] for k in ("shot", "chain", "hand_chain", "lanes", "hand_lanes", "parse")
    }
    for _ in range(args.runs):
        rows["shot"].append(run_compiled(chain, lanes, t, args.shots))
        rows["chain"].append(run_chain_only(chain, args.shots))
        rows["hand_chain"].append(run_by_hand_chain(args.shots))
        rows["lanes"].append(run_lanes_only(lanes, lane_values, args.shots))
        rows["hand_lanes"].append(run_by_hand_lanes(lane_values, args.shots))
        rows["parse"].append(parse_cold())
    median = {k: statistics.median(v) for k, v in rows.items()}

    us = 1e6
    command = f"python bench/bench_expressions.py --runs {args.runs} --shots {args.shots}"
    table = [
        "### Expressions: parse once, evaluate compiled expressions per shot",
        "",
        f"Command: `{command}` (median of {args.runs} runs of {args.shots} shots; "
        "2-core machine, Python 3.11, numpy 2.4)",
        "",
        "| date | what | median | baseline (same run) | ratio | budget |",
        "|---|---|---|---|---|---|",
        f"| 2026-11-25 | 40 chained scalar expressions, one shot | "
        f"{median['chain'] * us:.1f} µs | hand-written Python floats "
        f"{median['hand_chain'] * us:.1f} µs | {median['chain'] / median['hand_chain']:.1f}× | "
        "< 200 µs |",
        f"| 2026-11-25 | 20 lane expressions (8 on a 1000-sample `t`), one shot | "
        f"{median['lanes'] * us:.1f} µs | hand-written numpy {median['hand_lanes'] * us:.1f} µs | "
        f"{median['lanes'] / median['hand_lanes']:.1f}× | — |",
        f"| 2026-11-25 | whole shot (40 chained + 20 lanes) | {median['shot'] * us:.1f} µs | — | — "
        "| — |",
        f"| 2026-11-25 | parse + check + compile 60 expressions, cold text cache | "
        f"{median['parse'] * 1e3:.2f} ms | — | — | — |",
        "",
        f"Per chained expression: {median['chain'] / 40 * us:.2f} µs "
        f"(hand-written: {median['hand_chain'] / 40 * us:.2f} µs).",
        "",
    ]
    text = "\n".join(table)
    print(text)
    out = ROOT / "bench" / "results" / "expressions.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
