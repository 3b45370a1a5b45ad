"""The weighted temperature fit's error bar covers the simulated temperature honestly: a
small version of bench/bench_sim_coverage.py (30 seeds, 20 µK, a 64×64 region)."""

from __future__ import annotations

import dataclasses

import numpy as np

from shotbook.analysis import fit_gaussian_2d, fit_temperature
from shotbook.compile import SequenceCompiler
from shotbook.control._runner import with_shot_key
from shotbook.device import ShotRunner, open_devices
from shotbook.types import ShotParameters, parse_unit

from .lab import EXPOSURE, lab, registry_and_compilers, tof_lanes, world

SEEDS = range(30)
FLIGHTS = np.linspace(1e-3, 6e-3, 6)
TEMPERATURE = 20e-6


def one_experiment(seed: int, registry, compilers) -> tuple[float, float]:
    settings = world(mot_temperature=TEMPERATURE, initial_centre=(32 * 65e-6, 24 * 65e-6))
    configurations = lab(settings, seed=seed)
    camera = dataclasses.replace(configurations["camera"], magnification=0.1, roi=(0, 0, 64, 64))
    configurations["camera"] = camera
    compiler = SequenceCompiler(tof_lanes(), configurations, compilers)
    ms = parse_unit("ms")
    fixed = {"mot.loading_time": 0.3, "mot.detuning": -15e6, "imaging.exposure": EXPOSURE,
             "coils.current": 10.0}  # fmt: skip
    times, sizes, errors = [], [], []
    with (
        open_devices(
            configurations, registry, initialization=compiler.compile_initialization_parameters()
        ) as devices,
        ShotRunner(devices) as runner,
    ):
        for key, flight in enumerate(np.repeat(FLIGHTS, 2)):
            values = {**fixed, "flight": float(flight)}
            units = {name: ms for name in values}
            units["mot.detuning"] = parse_unit("MHz")
            units["coils.current"] = parse_unit("A")
            shot = compiler.compile_shot(ShotParameters(values, units))
            data = runner.run_shot(with_shot_key(shot, key), timeout=30)
            fit = fit_gaussian_2d(data["camera.atoms"].astype(float) - data["camera.background"])
            times.append(flight + EXPOSURE / 2)
            sizes.append(fit.sigma_x * camera.effective_pixel_size)  # the user's numbers
            errors.append(fit.sigma_x_error * camera.effective_pixel_size)
    result = fit_temperature(times, sizes, sigma_error=errors)
    return result.temperature, result.temperature_error


def test_the_temperature_error_bar_covers_the_truth_at_the_statistical_rate() -> None:
    registry, compilers = registry_and_compilers()
    pulls = []
    relative = []
    for seed in SEEDS:
        temperature, error = one_experiment(seed, registry, compilers)
        pulls.append(abs(temperature - TEMPERATURE) / error)
        relative.append(error / TEMPERATURE)
    pulls_array = np.array(pulls)
    # the 99 % binomial band of 30 experiments around 68.3 % and 95.4 %
    assert 0.45 <= np.mean(pulls_array <= 1) <= 0.90
    assert np.mean(pulls_array <= 2) >= 0.80
    assert 0.005 < float(np.median(relative)) < 0.2  # a lab-like error bar, not 0.05 %
