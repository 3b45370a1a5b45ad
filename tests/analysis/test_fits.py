"""2-D Gaussian fits of images and temperature fits of time-of-flight data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import erf

from shotbook.analysis import (
    BOLTZMANN_CONSTANT,
    RB87_MASS,
    FitError,
    GaussianFit,
    fit_gaussian_2d,
    fit_temperature,
)


def integrated_gaussian(
    shape: tuple[int, int],
    *,
    centre_x: float,
    centre_y: float,
    sigma_x: float,
    sigma_y: float,
    amplitude: float,
    offset: float,
) -> np.ndarray:
    """Offset + amplitude × the 2-D Gaussian integrated over each pixel (written independently
    of the code under test)."""

    def profile(size: int, centre: float, sigma: float) -> np.ndarray:
        edges = (np.arange(size + 1) - 0.5 - centre) / (math.sqrt(2) * sigma)
        return sigma * math.sqrt(math.pi / 2) * np.diff(erf(edges))

    rows = profile(shape[0], centre_y, sigma_y)
    cols = profile(shape[1], centre_x, sigma_x)
    return offset + amplitude * np.outer(rows, cols)


CASES = {
    "round, centred": ((128, 128), 63.2, 60.7, 8.0, 8.0, 400.0, 100.0),
    "elongated": ((200, 160), 70.4, 110.9, 5.0, 17.0, 250.0, 20.0),
    "small": ((64, 96), 40.3, 22.6, 1.4, 1.8, 900.0, 50.0),
    "large in a full frame": ((512, 512), 250.0, 230.0, 55.0, 48.0, 60.0, 100.0),
    "near an edge": ((100, 100), 12.0, 80.5, 4.0, 6.0, 300.0, 0.0),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_noiseless_gaussians_are_recovered_exactly(case: str) -> None:
    shape, cx, cy, sx, sy, amplitude, offset = CASES[case]
    image = integrated_gaussian(
        shape,
        centre_x=cx,
        centre_y=cy,
        sigma_x=sx,
        sigma_y=sy,
        amplitude=amplitude,
        offset=offset,
    )
    fit = fit_gaussian_2d(image)
    assert fit.centre_x == pytest.approx(cx, abs=1e-6)
    assert fit.centre_y == pytest.approx(cy, abs=1e-6)
    assert fit.sigma_x == pytest.approx(sx, rel=1e-6)
    assert fit.sigma_y == pytest.approx(sy, rel=1e-6)
    assert fit.amplitude == pytest.approx(amplitude, rel=1e-6)
    assert fit.offset == pytest.approx(offset, abs=1e-6 * amplitude)
    assert fit.atom_signal == pytest.approx(2 * math.pi * amplitude * sx * sy, rel=1e-6)


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
@pytest.mark.parametrize("seed", [1, 2])
def test_noisy_gaussians_are_recovered_within_errors(case: str, seed: int) -> None:
    shape, cx, cy, sx, sy, amplitude, offset = CASES[case]
    truth = {
        "centre_x": cx,
        "centre_y": cy,
        "sigma_x": sx,
        "sigma_y": sy,
        "amplitude": amplitude,
        "offset": offset,
    }
    clean = integrated_gaussian(shape, **truth)
    rng = np.random.default_rng(seed)
    image = clean + rng.normal(0.0, 5.0, size=shape)
    fit = fit_gaussian_2d(image)
    for name, value in truth.items():
        error = getattr(fit, f"{name}_error")
        assert 0 < error < math.inf, name
        assert abs(getattr(fit, name) - value) < 5 * error, name
    signal = 2 * math.pi * amplitude * sx * sy
    assert abs(fit.atom_signal - signal) < 5 * fit.atom_signal_error


def test_errors_are_calibrated_over_many_images() -> None:
    """The spread of fitted values matches the reported 1-σ errors (pulls of unit width)."""
    truth = {
        "centre_x": 40.3,
        "centre_y": 35.8,
        "sigma_x": 6.0,
        "sigma_y": 4.5,
        "amplitude": 80.0,
        "offset": 10.0,
    }
    clean = integrated_gaussian((72, 80), **truth)
    rng = np.random.default_rng(2026)
    pulls: dict[str, list[float]] = {name: [] for name in [*truth, "atom_signal"]}
    signal = 2 * math.pi * truth["amplitude"] * truth["sigma_x"] * truth["sigma_y"]
    for _ in range(80):
        fit = fit_gaussian_2d(clean + rng.normal(0.0, 4.0, size=clean.shape))
        for name, value in truth.items():
            pulls[name].append((getattr(fit, name) - value) / getattr(fit, f"{name}_error"))
        pulls["atom_signal"].append((fit.atom_signal - signal) / fit.atom_signal_error)
    for name, values in pulls.items():
        assert 0.75 < float(np.std(values)) < 1.3, name
        assert abs(float(np.mean(values))) < 0.4, name


def test_uint16_camera_frame_with_shot_noise() -> None:
    clean = integrated_gaussian(
        (256, 320),
        centre_x=170.2,
        centre_y=101.7,
        sigma_x=14.0,
        sigma_y=12.0,
        amplitude=300.0,
        offset=100.0,
    )
    frame = np.random.default_rng(4).poisson(clean).astype(np.uint16)
    fit = fit_gaussian_2d(frame)
    assert fit.centre_x == pytest.approx(170.2, abs=5 * fit.centre_x_error)
    assert fit.sigma_y == pytest.approx(12.0, abs=5 * fit.sigma_y_error)
    assert fit.atom_signal == pytest.approx(
        float((clean - 100.0).sum()), abs=5 * fit.atom_signal_error
    )


def test_roi_selects_one_cloud_and_reports_full_image_coordinates() -> None:
    shape = (120, 200)
    first = integrated_gaussian(
        shape, centre_x=50.0, centre_y=60.0, sigma_x=6.0, sigma_y=6.0, amplitude=500.0, offset=0
    )
    second = integrated_gaussian(
        shape, centre_x=150.5, centre_y=55.2, sigma_x=4.0, sigma_y=5.0, amplitude=200.0, offset=0
    )
    image = first + second + 30.0
    fit = fit_gaussian_2d(image, roi=(110, 10, 80, 100))
    assert fit.centre_x == pytest.approx(150.5, abs=1e-4)
    assert fit.centre_y == pytest.approx(55.2, abs=1e-4)
    assert fit.sigma_y == pytest.approx(5.0, rel=1e-4)
    assert fit.offset == pytest.approx(30.0, abs=1e-3)


def test_as_dict_holds_every_result_as_float() -> None:
    fit = GaussianFit(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, atom_signal_error=0.5)
    values = fit.as_dict()
    assert values["atom_signal"] == pytest.approx(2 * math.pi * 5 * 3 * 4)
    assert values["sigma_y"] == 4.0
    assert values["atom_signal_error"] == 0.5
    assert math.isnan(values["centre_x_error"])
    assert all(type(value) is float for value in values.values())


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros(50), "needs a 2-D image"),
        (np.zeros((4, 50, 50)), "needs a 2-D image"),
        (np.zeros((0, 10)), "at least 4 × 4"),
        (np.ones((3, 30)), "at least 4 × 4"),
        (np.full((40, 40), 7.0), "the image is flat"),
        (np.zeros((8, 8), dtype=complex), "real numeric image"),
    ],
    ids=["1-D", "3-D", "empty", "too small", "flat", "complex"],
)
def test_bad_images_raise_clear_errors(image: np.ndarray, message: str) -> None:
    with pytest.raises(FitError, match=message):
        fit_gaussian_2d(image)


def test_pure_noise_has_no_peak() -> None:
    noise = 100 + np.random.default_rng(0).normal(0.0, 3.0, size=(256, 256))
    with pytest.raises(ValueError, match="no Gaussian peak found"):
        fit_gaussian_2d(noise)


def test_non_finite_pixels_are_located() -> None:
    image = integrated_gaussian(
        (40, 40), centre_x=20, centre_y=20, sigma_x=3, sigma_y=3, amplitude=10, offset=0
    )
    image[7, 9] = np.nan
    with pytest.raises(FitError, match="first at row 7, column 9"):
        fit_gaussian_2d(image)


def test_roi_outside_the_image_is_refused() -> None:
    with pytest.raises(FitError, match="not inside the image of 40 columns × 30 rows"):
        fit_gaussian_2d(np.zeros((30, 40)), roi=(30, 0, 20, 10))


# ----------------------------------------------------------------------------- temperature


def ballistic_sigma(times: np.ndarray, temperature: float, sigma0: float) -> np.ndarray:
    return np.sqrt(sigma0**2 + BOLTZMANN_CONSTANT * temperature * times**2 / RB87_MASS)


def test_temperature_from_exact_sizes() -> None:
    times = np.repeat(np.linspace(2e-3, 14e-3, 8), 3)
    sigma = ballistic_sigma(times, 12e-6, 180e-6)
    fit = fit_temperature(times, sigma)
    assert fit.temperature == pytest.approx(12e-6, rel=1e-9)
    assert fit.sigma0 == pytest.approx(180e-6, rel=1e-9)
    assert fit.temperature_error < 1e-12
    assert fit.r_squared == pytest.approx(1.0)
    assert fit.n_points == 24
    np.testing.assert_allclose(
        fit.sigma_at([0.0, 5e-3]), ballistic_sigma(np.array([0, 5e-3]), 12e-6, 180e-6)
    )


@pytest.mark.parametrize("weighted", [False, True])
def test_temperature_from_noisy_sizes_is_within_errors(weighted: bool) -> None:
    rng = np.random.default_rng(17)
    times = np.repeat(np.linspace(1e-3, 15e-3, 10), 4)
    true = ballistic_sigma(times, 30e-6, 120e-6)
    errors = 0.01 * true
    sigma = true + rng.normal(0.0, 1.0, size=true.size) * errors
    fit = fit_temperature(times, sigma, sigma_error=errors if weighted else None)
    assert 0 < fit.temperature_error < 0.1 * fit.temperature
    assert abs(fit.temperature - 30e-6) < 4 * fit.temperature_error
    assert abs(fit.sigma0 - 120e-6) < 4 * fit.sigma0_error
    assert 0.9 < fit.r_squared <= 1.0


def test_temperature_uses_the_given_mass() -> None:
    times = np.linspace(1e-3, 10e-3, 5)
    lithium = 1.165e-26
    sigma = np.sqrt(1e-8 + BOLTZMANN_CONSTANT * 100e-6 * times**2 / lithium)
    fit = fit_temperature(times, sigma, mass=lithium)
    assert fit.temperature == pytest.approx(100e-6, rel=1e-9)
    assert fit.mass == lithium


def test_negative_intercept_gives_nan_sigma0() -> None:
    times = np.array([5e-3, 10e-3, 15e-3])
    sigma = np.sqrt(np.array([1.0, 6.0, 14.0]) * 1e-8)  # extrapolates below zero at t = 0
    fit = fit_temperature(times, sigma)
    assert fit.sigma0_squared < 0
    assert math.isnan(fit.sigma0)
    assert math.isnan(fit.sigma0_error)


@pytest.mark.parametrize(
    ("times", "sigma", "message"),
    [
        ([1e-3, 2e-3], [1e-4, 2e-4], "at least 3 points"),
        ([1e-3, 2e-3, 3e-3], [1e-4, 2e-4], "time_of_flight has 3 values but sigma has 2"),
        (
            [1e-3, float("nan"), 3e-3],
            [1e-4, 2e-4, 3e-4],
            r"time_of_flight holds non-finite .*\[1\]",
        ),
        ([1e-3, 2e-3, 3e-3], [1e-4, float("inf"), 3e-4], "sigma holds non-finite"),
        ([-1e-3, 2e-3, 3e-3], [1e-4, 2e-4, 3e-4], "time_of_flight must be >= 0"),
        ([1e-3, 2e-3, 3e-3], [1e-4, 0.0, 3e-4], "sigma must be > 0"),
        ([5e-3, 5e-3, 5e-3], [1e-4, 2e-4, 3e-4], "at least two different times of flight"),
        ([[1e-3, 2e-3, 3e-3]], [[1e-4, 2e-4, 3e-4]], "must be 1-D"),
    ],
)
def test_bad_temperature_data_raise_clear_errors(
    times: list[float], sigma: list[float], message: str
) -> None:
    with pytest.raises(FitError, match=message):
        fit_temperature(times, sigma)


def test_bad_sigma_errors_and_mass_are_refused() -> None:
    times, sigma = [1e-3, 2e-3, 3e-3], [1e-4, 2e-4, 3e-4]
    with pytest.raises(FitError, match="sigma_error has 2 values"):
        fit_temperature(times, sigma, sigma_error=[1e-6, 1e-6])
    with pytest.raises(FitError, match="sigma_error must be > 0"):
        fit_temperature(times, sigma, sigma_error=[1e-6, 0.0, 1e-6])
    with pytest.raises(FitError, match="mass must be a positive number"):
        fit_temperature(times, sigma, mass=0.0)
