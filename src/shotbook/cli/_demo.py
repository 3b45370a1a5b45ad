"""`shotbook demo`: a time-of-flight scan of a simulated cold-atom cloud, stored and fitted."""

from __future__ import annotations

import argparse
import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from shotbook.extension import Experiment
from shotbook.types import (
    AnalogTimeLane,
    CameraTimeLane,
    DigitalTimeLane,
    PureSequencePath,
    Ramp,
    TimeLane,
    TimeLanes,
)

from ._demo_scan import demo_globals, demo_scan


def demo_time_lanes() -> TimeLanes:
    """Load a MOT, release the cloud, let it fly, image it, then take a background."""
    lanes: dict[str, TimeLane[Any]] = {
        "mot light": DigitalTimeLane([True, True, False, False, False, False]),
        "repump": DigitalTimeLane([True, True, False, True, False, True]),
        "imaging light": DigitalTimeLane([False, False, False, True, False, True]),
        "mot detuning": AnalogTimeLane(
            ["mot.detuning", Ramp(), "mot.detuning - 20 MHz", "0 MHz", "0 MHz", "0 MHz"]
        ),
        "coil current": AnalogTimeLane(["10 A", "0 A", "0 A", "0 A", "0 A", "0 A"]),
        "camera": CameraTimeLane([None, None, None, "atoms", None, "background"]),
    }
    return TimeLanes(
        ["load", "molasses", "fly", "image", "wait", "background"],
        ["mot.loading_time", "5 ms", "time_of_flight", "imaging.exposure", "20 ms", "100 us"],
        lanes,
    )


def cloud_analysis(pixel_size: float, counts_per_atom: float) -> Any:
    """A per-shot analysis: Gaussian fit of the atoms picture minus the background."""
    from shotbook.analysis import fit_gaussian_2d

    def cloud(data: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, float]:
        atoms = np.asarray(data["camera.atoms"], dtype=np.float64)
        background = np.asarray(data["camera.background"], dtype=np.float64)
        fit = fit_gaussian_2d(atoms - background)
        return {
            "sigma_x": fit.sigma_x * pixel_size,
            "sigma_y": fit.sigma_y * pixel_size,
            "atom_number": fit.atom_signal / counts_per_atom,
        }

    return cloud


def build_demo_experiment(root: Path, seed: int = 0) -> Experiment:
    """An experiment with a DuckDB store at ``root``, the simulated lab and its analysis."""
    from shotbook.device.sim import AtomCloudModel
    from shotbook.session import DuckDBConfig

    experiment = Experiment(DuckDBConfig(root))
    experiment.setup_default_extensions()
    model = AtomCloudModel()
    experiment.add_shot_analysis(
        "cloud", cloud_analysis(model.effective_pixel_size, model.counts_per_atom)
    )
    return experiment


def create_demo_sequence(
    experiment: Experiment, points: int, repetitions: int, seed: int
) -> PureSequencePath:
    """Store the demo lab, its globals and a new time-of-flight sequence; return its path."""
    from shotbook.device.sim import simulated_lab

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H.%M.%S")
    path = PureSequencePath("/demo") / f"time of flight {stamp}"
    with experiment.storage_session() as session:
        session.set_global_parameters(demo_globals())
        for name, configuration in simulated_lab(seed=seed).items():
            session.default_device_configurations[name] = configuration
        suffix = 1
        while session.paths.exists(path):
            suffix += 1
            path = PureSequencePath("/demo") / f"time of flight {stamp} ({suffix})"
        session.sequences.create(path, demo_scan(points, repetitions), demo_time_lanes())
    return path


def fit_demo_temperature(experiment: Experiment, path: PureSequencePath) -> Any:
    """Fit the temperature from the stored shots' cloud widths."""
    from shotbook.analysis import fit_temperature
    from shotbook.types import parse_unit

    with experiment.storage_session() as session:
        shots = session.sequences.get_shots(path)
        tof_unit = parse_unit(shots[0].units["time_of_flight"] or "s")
        times = np.array([tof_unit.to_si(shot.parameters["time_of_flight"]) for shot in shots])
        sigmas = np.array([shot.data["analysis.cloud.sigma_x"] for shot in shots])
    return fit_temperature(times, sigmas)


def run_demo(args: argparse.Namespace) -> int:
    """The main job: run the simulated scan with a progress bar and report the fit."""
    from shotbook.device.sim import AtomCloudModel

    root = Path(args.root)
    experiment = build_demo_experiment(root, args.seed)
    try:
        path = create_demo_sequence(experiment, args.points, args.repetitions, args.seed)
        print(f"shotbook demo: running {path} ({args.points * args.repetitions} shots)")
        manager = experiment.get_local_experiment_manager()
        summary = manager.run_sequence(path)
        print(summary)
        fit = fit_demo_temperature(experiment, path)
        truth = AtomCloudModel().temperature
        print(f"data: {root.resolve()} (sequence {path})")
        fitted = f"{fit.temperature * 1e6:.2f} ± {fit.temperature_error * 1e6:.2f} µK"
        print(f"fitted temperature: {fitted}  (simulated: {truth * 1e6:.1f} µK)")
    finally:
        experiment.close()
    return 0
