"""The demo lab: a time-of-flight scan of a simulated cold-atom cloud, stored and fitted.

Used by ``shotbook demo``, the example notebooks and binder; a lab of its own starts from
these pieces (see the how-to guides).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

from ._scan import demo_globals, demo_scan

if TYPE_CHECKING:
    from shotbook.analysis import TemperatureFit


def demo_time_lanes() -> TimeLanes:
    """Load a MOT, cool it in a molasses, let it fly, image it, then take a background once
    the cloud has fallen out of view. The simulated world reads these lanes (through the
    compiled outputs): the flight lasts the ``fly`` step, the picture is lit by the
    ``imaging light`` pulse inside its exposure."""
    lanes: dict[str, TimeLane[Any]] = {
        "mot light": DigitalTimeLane([True, True, True, False, False, False, False]),
        "repump": DigitalTimeLane([True, True, True, False, True, False, True]),
        "imaging light": DigitalTimeLane([False, False, False, False, True, False, True]),
        "mot detuning": AnalogTimeLane(
            [
                "mot.detuning",
                Ramp(),
                "molasses.detuning",
                "molasses.detuning",
                "0 MHz",
                "0 MHz",
                "0 MHz",
            ]
        ),
        "coil current": AnalogTimeLane(["10 A", "0 A", "0 A", "0 A", "0 A", "0 A", "0 A"]),
        "camera": CameraTimeLane([None, None, None, None, "atoms", None, "background"]),
    }
    return TimeLanes(
        ["load", "ramp", "molasses", "fly", "image", "wait", "background"],
        [
            "mot.loading_time",
            "2 ms",
            "molasses.duration",
            "time_of_flight",
            "imaging.exposure",
            "100 ms",
            "imaging.exposure",
        ],
        lanes,
    )


def cloud_analysis(pixel_size: float, counts_per_atom: float) -> Any:
    """A per-shot analysis: Gaussian fit of the atoms picture minus the background.

    ``pixel_size`` (m, in the object plane) and ``counts_per_atom`` are the camera's, as
    its device configuration gives them. The sizes come with their fit errors (for the
    weighted temperature fit).
    """
    from shotbook.analysis import fit_gaussian_2d

    def cloud(data: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, float]:
        atoms = np.asarray(data["camera.atoms"], dtype=np.float64)
        background = np.asarray(data["camera.background"], dtype=np.float64)
        fit = fit_gaussian_2d(atoms - background)
        return {
            "sigma_x": fit.sigma_x * pixel_size,
            "sigma_x_error": fit.sigma_x_error * pixel_size,
            "sigma_y": fit.sigma_y * pixel_size,
            "sigma_y_error": fit.sigma_y_error * pixel_size,
            "atom_number": fit.atom_signal / counts_per_atom,
        }

    return cloud


DEMO_EXPOSURE = 100e-6
"""The demo's imaging exposure (s), also the ``imaging.exposure`` global."""


def build_demo_experiment(root: Path, seed: int = 0) -> Experiment:
    """An experiment with a DuckDB store at ``root``, the simulated lab and its analysis
    (pixel size and counts per atom from the lab's camera configuration)."""
    from shotbook.device.sim import simulated_lab
    from shotbook.session import DuckDBConfig

    experiment = Experiment(DuckDBConfig(root))
    experiment.setup_default_extensions()
    camera = simulated_lab(seed=seed)["camera"]
    experiment.add_shot_analysis(
        "cloud",
        cloud_analysis(camera.effective_pixel_size, camera.counts_per_atom(DEMO_EXPOSURE)),
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


def fit_demo_temperature(experiment: Experiment, path: PureSequencePath) -> TemperatureFit:
    """Fit the temperature from the stored shots' cloud widths (weighted by their fit
    errors; the flight lasts until the middle of the imaging pulse)."""
    from shotbook.analysis import fit_temperature
    from shotbook.types import parse_unit

    with experiment.storage_session() as session:
        shots = session.sequences.get_shots(path)
        tof_unit = parse_unit(shots[0].units["time_of_flight"] or "s")
        times = np.array([tof_unit.to_si(shot.parameters["time_of_flight"]) for shot in shots])
        sigmas = np.array([shot.data["analysis.cloud.sigma_x"] for shot in shots])
        errors = np.array([shot.data["analysis.cloud.sigma_x_error"] for shot in shots])
    return fit_temperature(times + DEMO_EXPOSURE / 2, sigmas, sigma_error=errors)
