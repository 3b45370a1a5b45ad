"""The simulated Rb-87 cloud: loading, expansion, fall, imaging and noise."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from shotbook.device.sim._atom_cloud import (
    BOLTZMANN_CONSTANT,
    RB87_D2_LINEWIDTH,
    RB87_MASS,
    AtomCloudModel,
    ReplayImages,
    pregenerate_images,
)

MODEL = AtomCloudModel()
OPTIMUM = MODEL.optimal_detuning


def test_defaults_are_documented_values() -> None:
    assert MODEL.mass == RB87_MASS
    assert MODEL.optimal_detuning == pytest.approx(-2.5 * 6.0666e6)
    assert MODEL.detuning_width == RB87_D2_LINEWIDTH
    assert MODEL.effective_pixel_size == pytest.approx(13e-6)
    assert MODEL.counts_per_atom == pytest.approx(7.0)


def test_atom_number_saturates_with_loading_time() -> None:
    times = np.linspace(0.0, 5.0, 51)
    numbers = np.array([MODEL.atom_number(t, OPTIMUM) for t in times])
    assert numbers[0] == 0.0
    assert np.all(np.diff(numbers) > 0)
    assert np.all(np.diff(numbers, 2) < 0)  # concave: the loading slows down
    tau = MODEL.loading_time_constant
    assert MODEL.atom_number(tau, OPTIMUM) == pytest.approx(5e5 * (1 - math.exp(-1)))
    assert MODEL.atom_number(20 * tau, OPTIMUM) == pytest.approx(5e5, rel=1e-8)


def test_atom_number_peaks_at_the_optimum_with_lorentzian_width() -> None:
    detunings = OPTIMUM + np.linspace(-3, 3, 601) * RB87_D2_LINEWIDTH
    numbers = np.array([MODEL.atom_number(10.0, d) for d in detunings])
    assert detunings[int(np.argmax(numbers))] == pytest.approx(OPTIMUM)
    peak = MODEL.atom_number(10.0, OPTIMUM)
    half_width = MODEL.detuning_width / 2
    assert MODEL.atom_number(10.0, OPTIMUM + half_width) == pytest.approx(peak / 2)
    assert MODEL.atom_number(10.0, OPTIMUM - half_width) == pytest.approx(peak / 2)
    # Lorentzian wings: 1 / (1 + (2Δ/w)²) at Δ = 1.5 w is 1/10.
    assert MODEL.atom_number(10.0, OPTIMUM + 1.5 * MODEL.detuning_width) == pytest.approx(peak / 10)


@pytest.mark.parametrize("time_of_flight", [0.0, 1e-3, 5e-3, 15e-3, 40e-3])
def test_size_follows_ballistic_expansion(time_of_flight: float) -> None:
    model = AtomCloudModel(temperature=35e-6, sigma0=200e-6)
    sigma_x, sigma_y = model.cloud_size(time_of_flight)
    expected = (200e-6) ** 2 + BOLTZMANN_CONSTANT * 35e-6 * time_of_flight**2 / RB87_MASS
    assert sigma_x**2 == pytest.approx(expected, rel=1e-12)
    assert sigma_y == sigma_x


@pytest.mark.parametrize("time_of_flight", [0.0, 2e-3, 10e-3, 15e-3])
def test_centre_falls_under_gravity(time_of_flight: float) -> None:
    x0, y0 = MODEL.cloud_centre(0.0)
    assert (x0, y0) == MODEL.initial_centre
    x, y = MODEL.cloud_centre(time_of_flight)
    assert x == x0
    assert y - y0 == pytest.approx(9.80665 * time_of_flight**2 / 2, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("time_of_flight", [1e-3, 5e-3, 10e-3, 15e-3])
def test_cloud_stays_inside_the_frame(time_of_flight: float) -> None:
    pixel = MODEL.effective_pixel_size
    (x, y), (sx, sy) = MODEL.cloud_centre(time_of_flight), MODEL.cloud_size(time_of_flight)
    for centre, sigma in ((x, sx), (y, sy)):
        assert (centre - 3 * sigma) / pixel >= 0
        assert (centre + 3 * sigma) / pixel <= 511
    mean = MODEL.expected_image(loading_time=1.0, detuning=OPTIMUM, time_of_flight=time_of_flight)
    total = MODEL.atom_number(1.0, OPTIMUM) * MODEL.counts_per_atom
    assert mean.sum() == pytest.approx(total, rel=1e-3)  # < 0.1 % of the signal is lost


def test_expected_image_is_the_pixel_integrated_gaussian() -> None:
    # At 3 ms the cloud is > 8 σ from every edge, so the frame cuts off nothing measurable.
    mean = MODEL.expected_image(loading_time=2.0, detuning=-14e6, time_of_flight=3e-3)
    pixel = MODEL.effective_pixel_size
    (x, y), (sigma, _) = MODEL.cloud_centre(3e-3), MODEL.cloud_size(3e-3)
    rows, cols = np.indices(mean.shape)
    total = MODEL.atom_number(2.0, -14e6) * MODEL.counts_per_atom
    assert float((mean * cols).sum() / mean.sum()) == pytest.approx(x / pixel, abs=1e-6)
    assert float((mean * rows).sum() / mean.sum()) == pytest.approx(y / pixel, abs=1e-6)
    variance = float((mean * (cols - x / pixel) ** 2).sum() / mean.sum())
    # Integrating over a pixel adds the variance of a uniform pixel: 1/12.
    assert variance == pytest.approx((sigma / pixel) ** 2 + 1 / 12, rel=1e-6)
    assert mean.sum() == pytest.approx(total, rel=1e-9)


def test_image_dtype_shape_and_roi() -> None:
    rng = np.random.default_rng(3)
    frame = MODEL.image(loading_time=1.0, detuning=OPTIMUM, time_of_flight=5e-3, rng=rng)
    assert frame.dtype == np.uint16
    assert frame.shape == (512, 512)
    small = MODEL.image(
        loading_time=1.0,
        detuning=OPTIMUM,
        time_of_flight=5e-3,
        rng=rng,
        roi=(100, 50, 300, 200),
        shape=(480, 640),
    )
    assert small.shape == (200, 300)
    full = MODEL.expected_image(
        loading_time=1.0, detuning=OPTIMUM, time_of_flight=5e-3, shape=(480, 640)
    )
    part = MODEL.expected_image(
        loading_time=1.0,
        detuning=OPTIMUM,
        time_of_flight=5e-3,
        roi=(100, 50, 300, 200),
        shape=(480, 640),
    )
    np.testing.assert_allclose(part, full[50:250, 100:400], rtol=1e-12, atol=1e-12)


def test_same_seed_same_image_and_different_seeds_differ() -> None:
    kwargs: dict[str, Any] = {"loading_time": 1.0, "detuning": OPTIMUM, "time_of_flight": 6e-3}
    first = MODEL.image(rng=np.random.default_rng(42), **kwargs)
    again = MODEL.image(rng=np.random.default_rng(42), **kwargs)
    other = MODEL.image(rng=np.random.default_rng(43), **kwargs)
    np.testing.assert_array_equal(first, again)
    assert np.count_nonzero(first != other) > first.size // 2


def test_background_noise_is_bias_plus_read_noise() -> None:
    model = AtomCloudModel(read_noise=3.0, bias=100.0)
    dark = model.image(
        loading_time=0.0, detuning=OPTIMUM, time_of_flight=5e-3, rng=np.random.default_rng(5)
    ).astype(np.float64)
    assert dark.mean() == pytest.approx(100.0, abs=0.05)
    # Rounding to integer counts adds the variance of a uniform step, 1/12.
    assert dark.var() == pytest.approx(9.0 + 1 / 12, rel=0.03)


def test_signal_has_poisson_shot_noise() -> None:
    model = AtomCloudModel(read_noise=2.0)
    kwargs: dict[str, Any] = {"loading_time": 3.0, "detuning": OPTIMUM, "time_of_flight": 4e-3}
    mean = model.expected_image(**kwargs)
    rng = np.random.default_rng(11)
    a = model.image(rng=rng, **kwargs).astype(np.float64)
    b = model.image(rng=rng, **kwargs).astype(np.float64)
    bright = mean > 200  # several thousand pixels, shot noise dominates read noise
    assert bright.sum() > 2000
    np.testing.assert_allclose((a - model.bias)[bright].sum(), mean[bright].sum(), rtol=5e-3)
    expected_variance = 2 * (mean[bright] + 2.0**2 + 1 / 12)
    normalised = (a - b)[bright] / np.sqrt(expected_variance)
    assert normalised.std() == pytest.approx(1.0, abs=0.04)


def test_bright_pixels_clip_at_uint16_max_instead_of_wrapping() -> None:
    model = AtomCloudModel(max_atom_number=1e10)
    frame = model.image(
        loading_time=5.0, detuning=OPTIMUM, time_of_flight=1e-3, rng=np.random.default_rng(0)
    )
    assert frame.max() == 65535
    centre = frame[115:130, 250:262]
    assert np.all(centre == 65535)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"temperature": -1e-6}, "temperature must be >= 0"),
        ({"sigma0": 0.0}, "sigma0 must be > 0"),
        ({"magnification": float("nan")}, "magnification must be a finite number"),
        ({"quantum_efficiency": 1.5}, "quantum_efficiency must be between 0 and 1"),
        ({"initial_centre": (1.0,)}, "initial_centre must be"),
    ],
)
def test_invalid_model_parameters_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AtomCloudModel(**changes)  # type: ignore[arg-type]


def test_invalid_shot_values_are_refused() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="loading_time must be >= 0 s"):
        MODEL.atom_number(-1.0, OPTIMUM)
    with pytest.raises(ValueError, match="detuning must be a finite number"):
        MODEL.atom_number(1.0, float("inf"))
    with pytest.raises(ValueError, match="time_of_flight must be >= 0 s"):
        MODEL.cloud_size(-1e-3)
    with pytest.raises(ValueError, match="does not fit in the sensor"):
        MODEL.image(
            loading_time=1.0, detuning=0.0, time_of_flight=1e-3, rng=rng, roi=(500, 0, 20, 10)
        )
    with pytest.raises(TypeError, match=r"numpy\.random\.Generator"):
        MODEL.image(loading_time=1.0, detuning=0.0, time_of_flight=1e-3, rng=42)  # type: ignore[arg-type]


def test_replay_cycles_through_read_only_frames() -> None:
    frames = pregenerate_images(
        MODEL, 3, loading_time=1.0, detuning=OPTIMUM, time_of_flight=3e-3, seed=9
    )
    assert len(frames) == 3
    assert not np.array_equal(frames[0], frames[1])
    again = pregenerate_images(
        MODEL, 3, loading_time=1.0, detuning=OPTIMUM, time_of_flight=3e-3, seed=9
    )
    for a, b in zip(frames, again, strict=True):
        np.testing.assert_array_equal(a, b)

    replay = ReplayImages(frames)
    assert len(replay) == 3
    played = [replay.next() for _ in range(7)]
    for index, frame in enumerate(played):
        np.testing.assert_array_equal(frame, frames[index % 3])
    assert next(replay) is played[1]  # no copy per frame
    with pytest.raises(ValueError, match="read-only"):
        played[0][0, 0] = 1
    original = int(played[0][0, 0])
    frames[0][0, 0] = original + 1  # the replay kept its own copy
    assert int(played[0][0, 0]) == original


def test_replay_and_pregenerate_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one image"):
        ReplayImages([])
    with pytest.raises(ValueError, match="must be 2-D"):
        ReplayImages([np.zeros(4)])
    with pytest.raises(ValueError, match="positive integer"):
        pregenerate_images(MODEL, 0, loading_time=1.0, detuning=0.0, time_of_flight=1e-3)
