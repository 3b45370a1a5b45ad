"""Absorption imaging on a simulated camera (:class:`AbsorptionImaging`, opt-in).

The usual three pictures, named by role: ``atoms`` (probe through the cloud), ``probe`` (probe
alone, after the cloud has gone) and ``dark`` (no probe). Every picture shows what the probe
transmits during its exposure (the probe: channel ``probe_light``, the camera's imaging light
by default, through the camera's gates, see :mod:`shotbook.device.sim._gates`), so the roles
only tell the analysis which is which. In SI units, with the pixel's object-plane size
``p = pixel_size / magnification``:

* probe intensity at the atoms, in units of the saturation intensity ``I_sat``:
  ``s(x, y) = s0 × ε × exp(−2 r² / w²) × (1 + c cos(k·r + φ))`` with ``s0 =
  saturation_parameter`` (0.05–2 in a lab), ``ε`` the shot's intensity noise, ``r`` the
  distance to the beam's centre (the cloud's starting point shifted by the pointing jitter),
  ``w`` the world's ``probe_waist`` (1–10 mm), fringes of contrast ``c = fringe_contrast``
  (0.02–0.2), period ``2π/|k| = fringe_period`` (50–500 µm at the atoms) along
  ``fringe_angle`` (rad from the image's x axis), and phase ``φ = φ0 + fringe_phase_drift × ξ``
  for each picture (``φ0`` uniform once per shot, ``ξ`` standard normal per picture; a drift
  of 0.1–1 rad rms between two exposures ms apart is common: vibrating optics). The
  atoms and probe pictures therefore show fringes that do not divide out;
* column density of the cloud averaged over each pixel, ``n = N × (pixel-integrated
  Gaussian) / p²``, and resonant optical density ``OD = σ n`` with the two-level resonant
  cross-section ``σ = 3 λ² / 2π`` (``λ = wavelength``; 2.907e-13 m² for the Rb-87 D2 line;
  a real probe's polarisation and pumping give less, not simulated);
* saturation (modified Beer–Lambert law, a two-level atom with the probe on resonance):
  ``dI/dz = −n σ I / (1 + I / I_sat)``, so the transmitted ``s_out`` solves ``ln(s / s_out)
  + s − s_out = OD``, i.e. ``s_out = W(s e^{s − OD})`` (``W``: Lambert's function). The naive
  ``−ln(s_out / s)`` underestimates ``OD`` once ``s`` is not ≪ 1;
* photo-electrons per pixel ``s_out × I_sat / (h c / λ) × p² × t × QE`` with ``t`` the time
  the probe is on during the exposure (``I_sat = saturation_intensity``, 16.69 W/m² =
  1.669 mW/cm² for Rb-87's cycling transition), plus the world's stray light
  ``background_rate × t``; photon shot noise (Gaussian of the Poisson variance, the counts
  being large), read noise and the bias. A picture with the probe off, as the dark
  picture, holds the bias and read noise only.

Not simulated: the probe's detuning and Doppler shift, optical pumping during the pulse,
atoms pushed by the probe, lensing by the cloud, diffraction and the imaging resolution,
the camera's full well (counts clip at 65535).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ._world import (
    _UINT16_MAX,
    CloudState,
    Optics,
    ShotNoise,
    SimulatedWorld,
    cloud_box,
    cloud_geometry,
)

__all__ = [
    "RB87_D2_WAVELENGTH",
    "RB87_SATURATION_INTENSITY",
    "AbsorptionImaging",
    "render_absorption",
]

PLANCK_CONSTANT = 6.62607015e-34  # J s
SPEED_OF_LIGHT = 299_792_458.0  # m/s
RB87_D2_WAVELENGTH = 780.241209686e-9  # m
RB87_SATURATION_INTENSITY = 16.6933  # W/m² (1.66933 mW/cm², σ+ cycling transition)
_MAX_SATURATION = 50.0
_NEWTON_DENSITY = 1e-3


_POSITIVE = ("fringe_period", "wavelength", "saturation_intensity", "saturation_parameter")


@dataclass(frozen=True)
class AbsorptionImaging:
    """Absorption imaging on a simulated camera (see :mod:`shotbook.device.sim._imaging`).

    ``atoms_picture``, ``probe_picture`` and ``dark_picture`` name the pictures of each role
    (the analysis reads them here); ``probe_light`` is the probe's ``(device, channel)``
    (``None``: the camera's ``imaging_light``). The typical value in a lab is beside each
    knob.

    Example:
        >>> imaging = AbsorptionImaging()
        >>> imaging.roles()
        {'atoms': 'atoms', 'probe': 'probe', 'dark': 'dark'}
        >>> round(imaging.cross_section * 1e13, 3)  # 3 λ² / 2π, m²
        2.907
    """

    atoms_picture: str = "atoms"
    probe_picture: str = "probe"
    dark_picture: str = "dark"
    probe_light: tuple[str, str] | None = None
    saturation_parameter: float = 0.05  # I/I_sat at the probe's centre; 0.05–2
    fringe_contrast: float = 0.05  # relative amplitude of the fringes; 0.02–0.2
    fringe_period: float = 150e-6  # m at the atoms; 50–500 µm
    fringe_angle: float = 0.6  # rad from the image's x axis
    fringe_phase_drift: float = 0.5  # rad rms between two pictures; 0.1–1
    wavelength: float = RB87_D2_WAVELENGTH  # m
    saturation_intensity: float = RB87_SATURATION_INTENSITY  # W/m²

    def __post_init__(self) -> None:
        names = [self.atoms_picture, self.probe_picture, self.dark_picture]
        if not all(isinstance(n, str) and n for n in names) or len(set(names)) != 3:
            raise ValueError(
                f"AbsorptionImaging: the atoms, probe and dark pictures need three distinct "
                f"names, got {names}"
            )
        if self.probe_light is not None:
            light = tuple(self.probe_light)
            if len(light) != 2 or not all(isinstance(v, str) and v for v in light):
                raise ValueError(
                    f"AbsorptionImaging.probe_light is (device, channel) or None, got "
                    f"{self.probe_light!r}"
                )
            object.__setattr__(self, "probe_light", light)
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name.endswith("picture") or item.name == "probe_light":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"AbsorptionImaging.{item.name} is a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(
                    f"AbsorptionImaging.{item.name} must be finite and >= 0, got {value!r}"
                )
            if item.name in _POSITIVE and value <= 0:
                raise ValueError(f"AbsorptionImaging.{item.name} must be > 0, got {value!r}")
        if self.fringe_contrast >= 1:
            raise ValueError(
                f"AbsorptionImaging.fringe_contrast is below 1, got {self.fringe_contrast!r}"
            )
        if self.saturation_parameter > _MAX_SATURATION:
            raise ValueError(
                f"AbsorptionImaging.saturation_parameter is at most {_MAX_SATURATION:g}, got "
                f"{self.saturation_parameter!r}"
            )

    def roles(self) -> dict[str, str]:
        """The picture's name of each role."""
        return {"atoms": self.atoms_picture, "probe": self.probe_picture, "dark": self.dark_picture}

    @property
    def cross_section(self) -> float:
        """The resonant two-level cross-section ``3 λ² / 2π`` (m²)."""
        return 3.0 * self.wavelength**2 / (2.0 * math.pi)

    @property
    def photon_energy(self) -> float:
        """``h c / λ`` (J)."""
        return PLANCK_CONSTANT * SPEED_OF_LIGHT / self.wavelength


def as_absorption(value: Any, where: str) -> AbsorptionImaging | None:
    """An :class:`AbsorptionImaging` (or None) from itself or a mapping of its fields."""
    if value is None or isinstance(value, AbsorptionImaging):
        return value
    try:
        return AbsorptionImaging(**dict(value))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: bad absorption imaging settings: {exc}") from None


def transmitted(saturation: np.ndarray, density: np.ndarray) -> np.ndarray:
    """``s_out`` solving ``ln(s / s_out) + s − s_out = OD`` (modified Beer–Lambert law).

    From the low-density solution ``s e^{−OD / (1 + s)}`` (relative error below ``OD²``),
    refined where ``OD > 1e-3`` by four steps of Newton's method on ``ln s_out`` (relative
    error below 1e-7 for ``s ≤ 50``, ``OD ≤ 10``).

    Example:
        >>> s = np.array([0.01, 2.0])
        >>> out = transmitted(s, np.array([1.0, 1.0]))  # OD 1: a weak probe keeps e^-1
        >>> [round(float(v), 3) for v in out / s / np.exp(-1.0)]
        [1.006, 1.869]
    """
    out = saturation * np.exp(-density / (1.0 + saturation))
    dense = np.flatnonzero(density > _NEWTON_DENSITY)
    if dense.size:
        s = np.maximum(saturation.ravel()[dense], 1e-30)  # a probe that is nowhere
        log_s = np.log(s)
        target = log_s + s - density.ravel()[dense]
        u = np.log(out.ravel()[dense])
        for _ in range(4):
            e = np.exp(u)
            u += (target - u - e) / (1.0 + e)
        out.ravel()[dense] = np.exp(u)
    return out


def fringe_phases(
    imaging: AbsorptionImaging, rng: np.random.Generator, pictures: int
) -> list[float]:
    """The fringes' phase in each picture of a shot: a common phase plus a drift."""
    common = float(rng.uniform(0.0, 2.0 * math.pi))
    drifts = rng.standard_normal(pictures)
    return [common + imaging.fringe_phase_drift * float(d) for d in drifts]


def render_absorption(
    *,
    settings: SimulatedWorld,
    optics: Optics,
    imaging: AbsorptionImaging,
    cloud: CloudState,
    time: float,
    light_time: float,
    noise: ShotNoise,
    phase: float,
    rng: np.random.Generator,
    roi: tuple[int, int, int, int],
) -> np.ndarray:
    """One absorption picture (uint16, ``(height, width)`` of ``roi``): the probe transmitted
    through the cloud during ``light_time`` seconds, centred at ``time``."""
    x0, y0, width, height = roi
    pixel = optics.effective_pixel_size
    frame = rng.standard_normal((height, width), dtype=np.float32)
    if light_time <= 0:
        frame *= np.float32(optics.read_noise)
        frame += np.float32(optics.bias)
    else:
        xs = np.arange(x0, x0 + width, dtype=np.float64) * pixel
        ys = np.arange(y0, y0 + height, dtype=np.float64) * pixel
        bx = settings.initial_centre[0] + noise.pointing[0]
        by = settings.initial_centre[1] + noise.pointing[1]
        waist2 = settings.probe_waist**2
        gx = np.exp(-2.0 * (xs - bx) ** 2 / waist2)
        gy = np.exp(-2.0 * (ys - by) ** 2 / waist2)
        k = 2.0 * math.pi / imaging.fringe_period
        kx, ky = k * math.cos(imaging.fringe_angle), k * math.sin(imaging.fringe_angle)
        c = imaging.fringe_contrast
        # s0 ε g(y) g(x) (1 + c cos(kx x + φ + ky y)) as one (height × 3) @ (3 × width)
        # product: cos(a + b) = cos a cos b − sin a sin b
        ax, ay = kx * xs + phase, ky * ys
        scale = imaging.saturation_parameter * noise.probe
        left = np.stack([gy, c * gy * np.cos(ay), -c * gy * np.sin(ay)], axis=1) * scale
        right = np.stack([gx, gx * np.cos(ax), gx * np.sin(ax)])
        saturation = left.astype(np.float32) @ right.astype(np.float32)
        atoms, sigma, cx, cy = cloud_geometry(settings, cloud, time, noise)
        peak_density = atoms * imaging.cross_section / pixel**2
        if peak_density > 0:
            edges_x = np.arange(x0, x0 + width + 1, dtype=np.float64) - 0.5
            edges_y = np.arange(y0, y0 + height + 1, dtype=np.float64) - 0.5
            box = cloud_box(edges_x, edges_y, cx / pixel, cy / pixel, sigma / pixel, peak_density)
            if box is not None:
                rows, cols, profile = box
                part = saturation[rows, cols].astype(np.float64)
                saturation[rows, cols] = transmitted(part, profile * peak_density)
        electrons_per_saturation = (
            imaging.saturation_intensity
            / imaging.photon_energy
            * pixel**2
            * light_time
            * optics.quantum_efficiency
        )
        mean = saturation
        mean *= np.float32(electrons_per_saturation)
        mean += np.float32(settings.background_rate * light_time)
        spread = mean + np.float32(optics.read_noise**2)
        np.sqrt(spread, out=spread)
        frame *= spread
        frame += mean
        frame += np.float32(optics.bias)
    np.rint(frame, out=frame)
    np.clip(frame, 0.0, _UINT16_MAX, out=frame)
    return frame.astype(np.uint16)
