"""Benchmark: compile the DESIGN.md reference workload, shot by shot.

Reference workload: 5 steps (145 ms), a digital sequencer of 8 channels at 50 ns, an analog
sequencer of 4 channels at 2.5 us started by a digital trigger channel, a 512x512 camera
triggered by a digital channel, 2 analog lanes with ramps and unit expressions, a linspace scan
over wait_time, 7 parameters, 200 shots.

Measured: the median over >= 5 runs of the per-shot time of ``SequenceCompiler.compile_shot``
(shot parameters produced beforehand). Baseline, in the same run: evaluating the shot's step
durations and lane expressions alone with the compiled expressions (the floor any compiler
pays), so the ratio shows what building instructions costs on top.

Run: python bench/bench_compile.py   (from the repository root, with PYTHONPATH=src)
"""

from __future__ import annotations

import datetime
import os
import statistics
import sys
import time
from pathlib import Path

from shotbook.compile import (
    AnalogChannelConfiguration,
    And,
    Broaden,
    CalibratedMapping,
    CameraConfiguration,
    Constant,
    DeviceTrigger,
    DigitalChannelConfiguration,
    ExternalTriggerStart,
    LaneValues,
    Not,
    SequenceCompiler,
    SequencerConfiguration,
    check_sequence,
)
from shotbook.types import (
    AnalogTimeLane,
    CameraTimeLane,
    DigitalTimeLane,
    Dimension,
    ExecuteShot,
    Expression,
    LinspaceLoop,
    ParameterNamespace,
    Ramp,
    StepsConfiguration,
    TimeLanes,
)

SHOTS = 200
RUNS = 7


def reference_workload() -> tuple[TimeLanes, StepsConfiguration, ParameterNamespace, dict]:
    """Lanes, scan, globals and device configurations of the reference workload."""
    globals_ = ParameterNamespace.from_mapping(
        {
            "mot": {"detuning": "-2 MHz", "power": "5 mW", "load_time": "100 ms"},
            "imaging": {"detuning": "0 MHz", "exposure": "5 ms"},
            "tof": "10 ms",
        }
    )
    scan = StepsConfiguration([LinspaceLoop("wait_time", "5 ms", "15 ms", SHOTS, [ExecuteShot()])])
    lanes = TimeLanes(
        ["load", "compress", "hold", "tof", "image"],
        ["mot.load_time", "20 ms", "wait_time", "tof", "imaging.exposure"],
        {
            "mot.coils": DigitalTimeLane([True, True, False, False, False]),
            "mot.light": DigitalTimeLane([True, True, False, False, False]),
            "repump": DigitalTimeLane([True, True, True, False, True]),
            "imaging.light": DigitalTimeLane([False, False, False, False, True]),
            "dipole": DigitalTimeLane([False, True, True, False, False]),
            "mot.frequency": AnalogTimeLane.from_blocks(
                [
                    ("80 MHz + mot.detuning", 1),
                    (Ramp(), 1),
                    ("80 MHz + mot.detuning + 2 MHz", 2),
                    ("80 MHz + imaging.detuning", 1),
                ]
            ),
            "mot.power": AnalogTimeLane.from_blocks(
                [("mot.power", 1), (Ramp(), 1), ("0.2 * mot.power", 2), ("1 mW", 1)]
            ),
            "camera": CameraTimeLane([None, None, None, None, "atoms"]),
        },
    )
    digital = SequencerConfiguration(
        time_step=50_000,
        channels=(
            DigitalChannelConfiguration("mot coils", LaneValues("mot.coils")),
            DigitalChannelConfiguration("mot aom", LaneValues("mot.light")),
            DigitalChannelConfiguration(
                "mot shutter", Broaden(LaneValues("mot.light"), "2 ms", side="left")
            ),
            DigitalChannelConfiguration("repump", LaneValues("repump")),
            DigitalChannelConfiguration("imaging", LaneValues("imaging.light")),
            DigitalChannelConfiguration(
                "dipole", And(LaneValues("dipole"), Not(LaneValues("imaging.light")))
            ),
            DigitalChannelConfiguration("camera trigger", DeviceTrigger("camera")),
            DigitalChannelConfiguration("analog trigger", DeviceTrigger("analog")),
        ),
    )
    analog = SequencerConfiguration(
        time_step=2_500_000,
        trigger=ExternalTriggerStart(),
        channels=(
            AnalogChannelConfiguration(
                "mot frequency",
                CalibratedMapping(
                    LaneValues("mot.frequency"), ((60, 0.0), (100, 10.0)), "MHz", "V"
                ),
                output_unit="V",
                output_range=(0.0, 10.0),
            ),
            AnalogChannelConfiguration(
                "mot power",
                CalibratedMapping(
                    LaneValues("mot.power"), ((0, 0.0), (2, 3.0), (10, 8.0)), "mW", "V"
                ),
                output_unit="V",
                output_range=(0.0, 10.0),
            ),
            AnalogChannelConfiguration("offset", Constant("0.5 V"), "V", (-10.0, 10.0)),
            AnalogChannelConfiguration(
                "spare", LaneValues("spare", default="0 V"), "V", (-10.0, 10.0)
            ),
        ),
    )
    camera = CameraConfiguration(roi=(0, 0, 512, 512), sensor_size=(512, 512))
    return lanes, scan, globals_, {"digital": digital, "analog": analog, "camera": camera}


def main() -> None:
    lanes, scan, globals_, devices = reference_workload()
    check_sequence(lanes, scan, globals_, devices)
    shots = list(scan.walk(globals_))
    assert len(shots) == SHOTS
    compiler = SequenceCompiler(lanes, devices)
    compiler.compile_shot(shots[0])  # warm the expression caches

    plan = scan.compile(globals_)
    dimensions = {
        name: unit.dimension if unit is not None else Dimension.NONE
        for name, unit in plan.units.items()
    }
    expressions = [*lanes.step_durations]
    for lane in lanes.lanes.values():
        expressions += [v for v in lane.block_values() if isinstance(v, Expression)]
    compiled = [expression.compile(dimensions) for expression in expressions]

    def baseline() -> None:
        for shot in shots:
            values = dict(shot)
            for fast in compiled:
                fast(values)

    def workload() -> None:
        for shot in shots:
            compiler.compile_shot(shot)

    dense_shots = shots[:: SHOTS // 20]  # dense output is slow: 20 shots per run

    def dense() -> None:
        for shot in dense_shots:
            result = compiler.compile_shot(shot)
            for device in ("digital", "analog"):
                result[device]["sequence"].to_array()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    base_runs, runs, cpu_runs, dense_runs = [], [], [], []
    for _ in range(RUNS):
        start = time.perf_counter()
        baseline()
        base_runs.append((time.perf_counter() - start) / SHOTS)
        start, cpu = time.perf_counter(), time.process_time()
        workload()
        runs.append((time.perf_counter() - start) / SHOTS)
        cpu_runs.append((time.process_time() - cpu) / SHOTS)
        start = time.perf_counter()
        dense()
        dense_runs.append((time.perf_counter() - start) / len(dense_shots))
    median = statistics.median(runs)
    cpu_median = statistics.median(cpu_runs)
    base = statistics.median(base_runs)
    dense_median = statistics.median(dense_runs)
    result = compiler.compile_shot(shots[0])
    digital = result["digital"]["sequence"]
    analog = result["analog"]["sequence"]
    us = 1e6
    print(f"compile_shot: median {median * us:.0f} us/shot (CPU {cpu_median * us:.0f} us) "
          f"over {RUNS} runs of {SHOTS} shots; all runs (wall): "
          f"{', '.join(f'{r * us:.0f}' for r in runs)}")  # fmt: skip
    print(f"baseline, expressions only: {base * us:.1f} us/shot")
    print(f"baseline, compile + dense arrays: {dense_median * us:.0f} us/shot; "
          f"ratio {median / dense_median:.3f}")  # fmt: skip
    print(
        f"digital: {len(digital)} ticks, {digital.node_count()} nodes; "
        f"analog: {len(analog)} ticks, {analog.node_count()} nodes, "
        f"{analog.leaf_values()} stored values"
    )
    if "--write" in sys.argv:
        out = Path(__file__).parent / "results" / "compile.md"
        out.parent.mkdir(exist_ok=True)
        out.write_text(
            "# Shot compilation (shotbook.compile)\n\n"
            f"Date: {datetime.date.today()}. Command: "
            "`PYTHONPATH=src .venv/bin/python bench/bench_compile.py "
            "--write` (from /work/main; 2 cores, single process, other jobs running).\n\n"
            "Workload: DESIGN.md reference (5 steps, 145 ms at wait_time = 10 ms; digital "
            "sequencer 8 ch at 50 ns; analog sequencer 4 ch at 2.5 us, started by a digital "
            "trigger channel; 512x512 camera triggered by a digital channel; 2 analog lanes with "
            "ramps and `80 MHz + mot.detuning + 2 MHz`-style expressions through calibrations; "
            "linspace over wait_time; 7 parameters; 200 shots). Shot parameters are produced "
            "beforehand; the figure is `SequenceCompiler.compile_shot` alone.\n\n"
            f"| figure | median of {RUNS} runs | baseline (same run) | ratio | budget |\n"
            "|---|---|---|---|---|\n"
            f"| compile_shot, wall time per shot | {median * us:.0f} µs | "
            f"{dense_median * us:.0f} µs: the same compilation followed by dense per-tick "
            f"arrays of the two sequences (what a per-tick representation costs) | "
            f"{median / dense_median:.3f} | < 1000 µs |\n"
            f"| compile_shot, CPU time per shot | {cpu_median * us:.0f} µs | "
            f"{base * us:.1f} µs: evaluating the shot's {len(compiled)} duration and lane "
            f"expressions only (the floor) | {cpu_median / base:.0f} | < 1000 µs |\n\n"
            f"All runs, wall µs/shot: {', '.join(f'{r * us:.0f}' for r in runs)}. Load average "
            f"(1 min) at the start: {load:.1f} on 2 cores (other jobs were running), hence the "
            "spread of wall times; CPU time is the steadier figure.\n\n"
            f"Output size per shot: digital {len(digital):,} ticks in {digital.node_count()} "
            f"nodes; analog {len(analog):,} ticks in {analog.node_count()} nodes "
            f"({analog.leaf_values()} stored values: the ramps stay ramps through the "
            "calibrations).\n"
        )
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
