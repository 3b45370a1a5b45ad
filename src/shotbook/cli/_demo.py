"""`shotbook demo`: a time-of-flight scan of a simulated cold-atom cloud, stored and fitted.

The lab, its scan and its analysis are public in :mod:`shotbook.demo`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from shotbook.demo import (
    build_demo_experiment,
    cloud_analysis,
    create_demo_sequence,
    demo_globals,
    demo_time_lanes,
    fit_demo_temperature,
)

# the public names stay importable from here for older code
__all__ = [
    "build_demo_experiment",
    "cloud_analysis",
    "create_demo_sequence",
    "demo_time_lanes",
    "fit_demo_temperature",
    "run_demo",
]


def run_demo(args: argparse.Namespace) -> int:
    """The main job: run the simulated scan with a progress bar and report the fit."""
    from shotbook.device.sim import simulated_lab

    root = Path(args.root)
    experiment = build_demo_experiment(root, args.seed)
    try:
        path = create_demo_sequence(experiment, args.points, args.repetitions, args.seed)
        print(f"shotbook demo: running {path} ({args.points * args.repetitions} shots)")
        manager = experiment.get_local_experiment_manager()
        summary = manager.run_sequence(path)
        print(summary)
        fit = fit_demo_temperature(experiment, path)
        world = simulated_lab(seed=args.seed)["camera"].world
        values = demo_globals().compile().evaluate()
        truth = world.molasses_temperature(
            float(values["molasses.detuning"]), duration=float(values["molasses.duration"])
        )
        print(f"data: {root.resolve()} (sequence {path})")
        fitted = f"{fit.temperature * 1e6:.1f} ± {fit.temperature_error * 1e6:.1f} µK"
        print(f"fitted temperature: {fitted}  (simulated: {truth * 1e6:.1f} µK)")
    finally:
        experiment.close()
    return 0
