"""A small real run of the simulated lab (devices, compilation, per-shot analysis, storage).

Used by the tests that must see what a run stores, not what a test writes by hand.
"""

from __future__ import annotations

from pathlib import Path

from shotbook.cli._demo import build_demo_experiment, demo_time_lanes
from shotbook.cli._demo_scan import demo_globals
from shotbook.extension import Experiment
from shotbook.types import ArangeLoop, ExecuteShot, LinspaceLoop, StepsConfiguration

PATH = "/tof/repeated"


def tof_with_repetitions(points: int = 3, repetitions: int = 2) -> StepsConfiguration:
    """Time of flight 2..6 ms, ``repetitions`` shots per point counted by an ArangeLoop."""
    return StepsConfiguration(
        [
            LinspaceLoop(
                "time_of_flight",
                "2 ms",
                "6 ms",
                points,
                [ArangeLoop("repetition", "0", str(repetitions), "1", [ExecuteShot()])],
            )
        ]
    )


def run_small_scan(root: Path, points: int = 3, repetitions: int = 2) -> Experiment:
    """An experiment on a new store at ``root`` whose sequence ``PATH`` has run to its end."""
    from shotbook.device.sim import simulated_lab

    experiment = build_demo_experiment(root)
    with experiment.storage_session() as session:
        session.set_global_parameters(demo_globals())
        for name, configuration in simulated_lab(seed=0).items():
            session.default_device_configurations[name] = configuration
        session.sequences.create(PATH, tof_with_repetitions(points, repetitions), demo_time_lanes())
    experiment.get_local_experiment_manager().run_sequence(PATH).raise_for_failure()
    return experiment
