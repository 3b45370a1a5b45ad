"""End to end: analysing simulated images gives back the physics put into the model."""

from __future__ import annotations

import numpy as np
import pytest

from shotbook.analysis._fits import fit_gaussian_2d, fit_temperature
from shotbook.analysis._stats import mean_sem_by
from shotbook.device.sim._atom_cloud import RB87_D2_LINEWIDTH, AtomCloudModel


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_time_of_flight_scan_recovers_the_temperature(seed: int) -> None:
    model = AtomCloudModel(temperature=20e-6, sigma0=150e-6)
    rng = np.random.default_rng(seed)
    times = np.repeat(np.linspace(2e-3, 14e-3, 8), 3)  # 8 times of flight, 3 shots each
    pixel = model.effective_pixel_size  # object-plane metres per camera pixel
    sizes_x, sizes_y = [], []
    for time_of_flight in times:
        frame = model.image(
            loading_time=1.0, detuning=-14e6, time_of_flight=float(time_of_flight), rng=rng
        )
        fit = fit_gaussian_2d(frame)
        sizes_x.append(fit.sigma_x * pixel)
        sizes_y.append(fit.sigma_y * pixel)

    for sizes in (sizes_x, sizes_y):
        result = fit_temperature(times, sizes, mass=model.mass)
        assert result.temperature == pytest.approx(20e-6, rel=0.10)
        assert abs(result.temperature - 20e-6) < 5 * result.temperature_error
        assert result.sigma0 == pytest.approx(150e-6, rel=0.10)
        assert result.r_squared > 0.99


def test_fitted_centre_and_atom_number_match_the_model() -> None:
    model = AtomCloudModel()
    rng = np.random.default_rng(21)
    pixel = model.effective_pixel_size
    for loading_time, time_of_flight in [(0.3, 3e-3), (1.0, 8e-3), (2.5, 13e-3)]:
        frame = model.image(
            loading_time=loading_time,
            detuning=model.optimal_detuning,
            time_of_flight=time_of_flight,
            rng=rng,
        )
        fit = fit_gaussian_2d(frame)
        x, y = model.cloud_centre(time_of_flight)
        assert fit.centre_x * pixel == pytest.approx(x, abs=5 * fit.centre_x_error * pixel)
        assert fit.centre_y * pixel == pytest.approx(y, abs=5 * fit.centre_y_error * pixel)
        assert fit.offset == pytest.approx(model.bias, abs=0.05)
        number = fit.atom_signal / model.counts_per_atom
        expected = model.atom_number(loading_time, model.optimal_detuning)
        assert number == pytest.approx(expected, rel=0.01)


def test_detuning_scan_finds_the_optimum() -> None:
    model = AtomCloudModel()
    rng = np.random.default_rng(8)
    detunings = np.repeat(model.optimal_detuning + np.linspace(-2, 2, 9) * RB87_D2_LINEWIDTH, 2)
    numbers = []
    for detuning in detunings:
        frame = model.image(
            loading_time=1.0, detuning=float(detuning), time_of_flight=5e-3, rng=rng
        )
        numbers.append(fit_gaussian_2d(frame).atom_signal / model.counts_per_atom)
    values, mean, sem, count = mean_sem_by(detunings, numbers)
    assert count.tolist() == [2] * 9
    assert values[int(np.argmax(mean))] == pytest.approx(model.optimal_detuning)
    # Half a linewidth away from the optimum is the half maximum of the Lorentzian.
    half = model.atom_number(1.0, model.optimal_detuning + RB87_D2_LINEWIDTH / 2)
    assert mean[5] == pytest.approx(half, rel=0.02)
    assert mean[3] == pytest.approx(half, rel=0.02)
    assert np.all(sem[mean > 0.2 * mean.max()] < 0.02 * mean.max())


def test_fit_errors_are_calibrated_with_shot_noise() -> None:
    """With Poisson noise the cloud is noisier than the background; the errors still hold."""
    model = AtomCloudModel()
    rng = np.random.default_rng(30)
    pixel = model.effective_pixel_size
    _, y = model.cloud_centre(8e-3)
    sigma = model.cloud_size(8e-3)[0] / pixel
    counts = model.atom_number(1.0, model.optimal_detuning) * model.counts_per_atom
    pulls: dict[str, list[float]] = {"centre_y": [], "sigma_x": [], "atom_signal": []}
    for _ in range(40):
        fit = fit_gaussian_2d(
            model.image(
                loading_time=1.0, detuning=model.optimal_detuning, time_of_flight=8e-3, rng=rng
            )
        )
        pulls["centre_y"].append((fit.centre_y - y / pixel) / fit.centre_y_error)
        pulls["sigma_x"].append((fit.sigma_x - sigma) / fit.sigma_x_error)
        pulls["atom_signal"].append((fit.atom_signal - counts) / fit.atom_signal_error)
    for name, values in pulls.items():
        assert 0.7 < float(np.std(values)) < 1.35, name
        assert abs(float(np.mean(values))) < 0.5, name
