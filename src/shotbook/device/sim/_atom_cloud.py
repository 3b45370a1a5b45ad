"""A small, seeded model of a rubidium-87 cloud released from a MOT and imaged on a camera.

The model is deliberately simple but physically consistent, so that analysing the simulated
images (fits, temperature from a time-of-flight scan) gives back the numbers put into it:

* **Loading**: ``N = N_max (1 - exp(-loading_time / tau)) L(detuning)`` where ``L`` is a
  Lorentzian of full width at half maximum ``detuning_width`` centred on ``optimal_detuning``
  (both in Hz, i.e. ordinary frequency, not rad/s), with ``L = 1`` at the optimum.
* **Expansion**: ballistic, ``sigma(t)^2 = sigma0^2 + k_B T t^2 / m`` on both axes.
* **Fall**: the centre falls by ``g t^2 / 2``; the image ``y`` axis points downwards.
* **Imaging**: fluorescence imaging. Object-plane coordinates are in metres with the origin at
  the centre of sensor pixel ``(row 0, column 0)``, ``x`` along columns and ``y`` along rows, so
  the centre of pixel ``(r, c)`` sits at ``(c * p, r * p)`` with ``p = effective_pixel_size =
  pixel_size / magnification`` (13 µm by default: 6.5 µm pixels, magnification 0.5). Each pixel
  receives the cloud's column density *integrated over the pixel area* (so binning and
  fitting with a pixel-integrated Gaussian are exact), times ``counts_per_atom =
  photons_per_atom * quantum_efficiency`` photo-electrons per atom (one count per electron).
* **Noise**: Poisson shot noise on the photo-electrons, Gaussian read noise, a constant bias,
  rounding and clipping to ``uint16``.

Default numbers (a typical Rb-87 MOT): ``N_max = 5e5``, ``tau = 0.5 s``, ``T = 20 µK``,
``sigma0 = 150 µm``, optimum detuning ``-2.5 Γ`` with ``Γ/2π = 6.07 MHz`` and width ``Γ``,
7 counts per atom, 3 counts rms read noise and a bias of 100 counts. The cloud starts at
``(3.3215 mm, 1.6 mm)``: horizontally centred in a 512 × 512 frame and high enough that for
times of flight up to 15 ms (fall 1.1 mm, ``sigma`` 0.67 mm) it stays well inside the frame.

Example:
    >>> import numpy as np
    >>> model = AtomCloudModel()
    >>> round(model.atom_number(loading_time=10.0, detuning=model.optimal_detuning))
    500000
    >>> frame = model.image(loading_time=1.0, detuning=-15e6, time_of_flight=5e-3,
    ...                     rng=np.random.default_rng(1))
    >>> frame.shape, frame.dtype
    ((512, 512), dtype('uint16'))
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields

import numpy as np

__all__ = [
    "BOLTZMANN_CONSTANT",
    "RB87_D2_LINEWIDTH",
    "RB87_MASS",
    "STANDARD_GRAVITY",
    "AtomCloudModel",
    "ReplayImages",
    "pregenerate_images",
]

BOLTZMANN_CONSTANT = 1.380649e-23
"""Boltzmann constant k_B in J/K (exact SI value)."""

RB87_MASS = 1.443160648e-25
"""Mass of a rubidium-87 atom in kg."""

RB87_D2_LINEWIDTH = 6.0666e6
"""Natural linewidth Γ/2π of the rubidium-87 D2 line, in Hz."""

STANDARD_GRAVITY = 9.80665
"""Standard acceleration of gravity in m/s²."""

_UINT16_MAX = 65535.0
# Photo-electron rates below this (per pixel) are treated as zero when drawing Poisson noise:
# the rows/columns skipped hold, in total, far less than one expected electron per frame.
_NEGLIGIBLE_ELECTRONS = 1e-6


def _check_finite(name: str, value: float) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def _check_non_negative(name: str, value: float, unit: str) -> float:
    number = _check_finite(name, value)
    if number < 0:
        raise ValueError(f"{name} must be >= 0 {unit}, got {number!r} {unit}")
    return number


def _integrated_profile(edges: np.ndarray, centre: float, sigma: float) -> np.ndarray:
    """Fraction of a unit 1-D Gaussian falling between consecutive ``edges`` (pixel units)."""
    scale = 1.0 / (math.sqrt(2.0) * sigma)
    cumulative = np.fromiter(
        (math.erf((edge - centre) * scale) for edge in edges.tolist()),
        dtype=np.float64,
        count=edges.size,
    )
    return 0.5 * np.diff(cumulative)


@dataclass(frozen=True)
class AtomCloudModel:
    """Deterministic physics of a Rb-87 cloud after a MOT, and its noisy camera images.

    All quantities are SI (kg, K, s, m, Hz); ``detuning`` values are ordinary frequencies in Hz
    (the laser frequency minus the atomic resonance), not angular frequencies.

    Attributes:
        mass: atomic mass (kg).
        temperature: cloud temperature (K), sets the ballistic expansion.
        max_atom_number: atom number reached after long loading at the optimum detuning.
        loading_time_constant: MOT loading time constant ``tau`` (s).
        optimal_detuning: detuning of maximum loading (Hz); default ``-2.5 Γ/2π``.
        detuning_width: full width at half maximum of the Lorentzian loading response (Hz).
        sigma0: rms radius of the cloud at release (m), both axes.
        initial_centre: ``(x, y)`` of the cloud at release, in the object plane (m).
        gravity: acceleration of the fall along +y (m/s²).
        pixel_size: camera sensor pixel pitch (m).
        magnification: imaging magnification (image size / object size).
        photons_per_atom: photons per atom reaching the sensor during the exposure.
        quantum_efficiency: photo-electrons per photon; one count per photo-electron.
        read_noise: rms Gaussian read noise (counts).
        bias: constant offset added to every pixel (counts).

    Example:
        >>> model = AtomCloudModel(temperature=10e-6)
        >>> sx, sy = model.cloud_size(time_of_flight=10e-3)
        >>> round(sx * 1e6)  # µm
        344
    """

    mass: float = RB87_MASS
    temperature: float = 20e-6
    max_atom_number: float = 5e5
    loading_time_constant: float = 0.5
    optimal_detuning: float = -2.5 * RB87_D2_LINEWIDTH
    detuning_width: float = RB87_D2_LINEWIDTH
    sigma0: float = 150e-6
    initial_centre: tuple[float, float] = (255.5 * 13e-6, 1.6e-3)
    gravity: float = STANDARD_GRAVITY
    pixel_size: float = 6.5e-6
    magnification: float = 0.5
    photons_per_atom: float = 10.0
    quantum_efficiency: float = 0.7
    read_noise: float = 3.0
    bias: float = 100.0

    def __post_init__(self) -> None:
        positive = {
            "mass",
            "max_atom_number",
            "loading_time_constant",
            "detuning_width",
            "sigma0",
            "pixel_size",
            "magnification",
        }
        non_negative = {"temperature", "photons_per_atom", "read_noise", "bias"}
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name == "initial_centre":
                if len(value) != 2:
                    raise ValueError(f"AtomCloudModel.initial_centre must be (x, y), got {value!r}")
                for item in value:
                    _check_finite("AtomCloudModel.initial_centre", item)
                continue
            number = _check_finite(f"AtomCloudModel.{field.name}", value)
            if field.name in positive and number <= 0:
                raise ValueError(f"AtomCloudModel.{field.name} must be > 0, got {number!r}")
            if field.name in non_negative and number < 0:
                raise ValueError(f"AtomCloudModel.{field.name} must be >= 0, got {number!r}")
        if not 0 <= self.quantum_efficiency <= 1:
            raise ValueError(
                "AtomCloudModel.quantum_efficiency must be between 0 and 1, "
                f"got {self.quantum_efficiency!r}"
            )

    @property
    def effective_pixel_size(self) -> float:
        """Size of one camera pixel in the object plane (m): ``pixel_size / magnification``."""
        return self.pixel_size / self.magnification

    @property
    def counts_per_atom(self) -> float:
        """Mean counts per atom: ``photons_per_atom * quantum_efficiency``."""
        return self.photons_per_atom * self.quantum_efficiency

    @property
    def thermal_velocity(self) -> float:
        """rms velocity along one axis, ``sqrt(k_B T / m)`` (m/s)."""
        return math.sqrt(BOLTZMANN_CONSTANT * self.temperature / self.mass)

    def atom_number(self, loading_time: float, detuning: float) -> float:
        """Number of atoms after loading the MOT for ``loading_time`` (s) at ``detuning`` (Hz).

        Example:
            >>> model = AtomCloudModel()
            >>> half_width = model.optimal_detuning + model.detuning_width / 2
            >>> round(model.atom_number(100.0, half_width) / model.max_atom_number, 3)
            0.5
        """
        time = _check_non_negative("loading_time", loading_time, "s")
        offset = _check_finite("detuning", detuning) - self.optimal_detuning
        lorentzian = 1.0 / (1.0 + (2.0 * offset / self.detuning_width) ** 2)
        loaded = -math.expm1(-time / self.loading_time_constant)
        return self.max_atom_number * loaded * lorentzian

    def cloud_size(self, time_of_flight: float) -> tuple[float, float]:
        """rms sizes ``(sigma_x, sigma_y)`` in metres after ``time_of_flight`` seconds."""
        time = _check_non_negative("time_of_flight", time_of_flight, "s")
        sigma = math.sqrt(self.sigma0**2 + (self.thermal_velocity * time) ** 2)
        return sigma, sigma

    def cloud_centre(self, time_of_flight: float) -> tuple[float, float]:
        """Centre ``(x, y)`` in metres in the object plane after ``time_of_flight`` seconds."""
        time = _check_non_negative("time_of_flight", time_of_flight, "s")
        x0, y0 = self.initial_centre
        return float(x0), float(y0) + 0.5 * self.gravity * time**2

    def expected_image(
        self,
        *,
        loading_time: float,
        detuning: float,
        time_of_flight: float,
        roi: tuple[int, int, int, int] | None = None,
        shape: tuple[int, int] = (512, 512),
    ) -> np.ndarray:
        """Noise-free mean counts above the bias, as float64 ``(rows, cols)``.

        Same arguments as :meth:`image`; useful to check fits against the truth.
        """
        profile_y, profile_x, scale = self._profiles(
            loading_time, detuning, time_of_flight, roi, shape
        )
        return scale * np.outer(profile_y, profile_x)

    def image(
        self,
        *,
        loading_time: float,
        detuning: float,
        time_of_flight: float,
        rng: np.random.Generator,
        roi: tuple[int, int, int, int] | None = None,
        shape: tuple[int, int] = (512, 512),
    ) -> np.ndarray:
        """One noisy camera frame of the cloud, as ``uint16`` ``(rows, cols)``.

        Args:
            loading_time: MOT loading time (s).
            detuning: MOT laser detuning (Hz).
            time_of_flight: time between release and the image (s).
            rng: the random generator; the same seed gives the same frame.
            roi: ``(x, y, width, height)`` in sensor pixels: the frame is the sub-array of
                columns ``x .. x + width - 1`` and rows ``y .. y + height - 1`` of the sensor.
            shape: full sensor size ``(rows, cols)``.

        Example:
            >>> import numpy as np
            >>> model = AtomCloudModel()
            >>> frame = model.image(loading_time=1.0, detuning=-15e6, time_of_flight=5e-3,
            ...                     rng=np.random.default_rng(0), roi=(128, 0, 256, 200))
            >>> frame.shape
            (200, 256)
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(
                f"rng must be a numpy.random.Generator (numpy.random.default_rng(seed)), "
                f"got {type(rng).__name__}"
            )
        profile_y, profile_x, scale = self._profiles(
            loading_time, detuning, time_of_flight, roi, shape
        )
        rows, cols = profile_y.size, profile_x.size
        frame = rng.standard_normal((rows, cols), dtype=np.float32)
        frame *= np.float32(self.read_noise)
        frame += np.float32(self.bias)
        if scale > 0:
            # Only rows and columns that can hold a photo-electron are drawn (a speed-up that
            # matters for small clouds; the skipped region expects << 1 electron in total).
            peak_y, peak_x = float(profile_y.max()), float(profile_x.max())
            threshold = _NEGLIGIBLE_ELECTRONS / scale
            live_rows = np.flatnonzero(profile_y * peak_x > threshold)
            live_cols = np.flatnonzero(profile_x * peak_y > threshold)
            if live_rows.size and live_cols.size:
                r0, r1 = int(live_rows[0]), int(live_rows[-1]) + 1
                c0, c1 = int(live_cols[0]), int(live_cols[-1]) + 1
                mean = np.outer(profile_y[r0:r1] * scale, profile_x[c0:c1])
                frame[r0:r1, c0:c1] += rng.poisson(mean)
        np.rint(frame, out=frame)
        np.clip(frame, 0.0, _UINT16_MAX, out=frame)
        return frame.astype(np.uint16)

    def _profiles(
        self,
        loading_time: float,
        detuning: float,
        time_of_flight: float,
        roi: tuple[int, int, int, int] | None,
        shape: tuple[int, int],
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """1-D pixel-integrated profiles along rows and columns, and counts for the cloud."""
        x, y, width, height = _check_roi(roi, shape)
        number = self.atom_number(loading_time, detuning)
        sigma_x, sigma_y = self.cloud_size(time_of_flight)
        centre_x, centre_y = self.cloud_centre(time_of_flight)
        pixel = self.effective_pixel_size
        col_edges = np.arange(x, x + width + 1, dtype=np.float64) - 0.5
        row_edges = np.arange(y, y + height + 1, dtype=np.float64) - 0.5
        profile_x = _integrated_profile(col_edges, centre_x / pixel, sigma_x / pixel)
        profile_y = _integrated_profile(row_edges, centre_y / pixel, sigma_y / pixel)
        return profile_y, profile_x, number * self.counts_per_atom


def _check_roi(
    roi: tuple[int, int, int, int] | None, shape: tuple[int, int]
) -> tuple[int, int, int, int]:
    if len(shape) != 2 or any(int(n) != n or n < 1 for n in shape):
        raise ValueError(f"shape must be (rows, cols) of positive integers, got {shape!r}")
    rows, cols = int(shape[0]), int(shape[1])
    if roi is None:
        return 0, 0, cols, rows
    if len(roi) != 4 or any(int(v) != v for v in roi):
        raise ValueError(f"roi must be (x, y, width, height) in integer pixels, got {roi!r}")
    x, y, width, height = (int(v) for v in roi)
    if width < 1 or height < 1:
        raise ValueError(f"roi {roi!r}: width and height must be >= 1")
    if x < 0 or y < 0 or x + width > cols or y + height > rows:
        raise ValueError(
            f"roi (x={x}, y={y}, width={width}, height={height}) does not fit in the sensor of "
            f"{cols} columns × {rows} rows; choose x + width <= {cols} and y + height <= {rows}"
        )
    return x, y, width, height


class ReplayImages:
    """Cycle through pre-generated frames: ``next()`` returns the next one, forever.

    The frames are copied once and made read-only, so each call is free (no copy) and a
    consumer cannot corrupt later frames.

    Example:
        >>> import numpy as np
        >>> replay = ReplayImages([np.zeros((2, 2), np.uint16), np.ones((2, 2), np.uint16)])
        >>> [int(next(replay)[0, 0]) for _ in range(3)]
        [0, 1, 0]
    """

    def __init__(self, images: Sequence[np.ndarray]) -> None:
        if len(images) == 0:
            raise ValueError("ReplayImages needs at least one image")
        frames: list[np.ndarray] = []
        for index, image in enumerate(images):
            frame = np.array(image, copy=True)
            if frame.ndim != 2:
                raise ValueError(
                    f"ReplayImages: image {index} must be 2-D (rows, cols), got shape {frame.shape}"
                )
            frame.setflags(write=False)
            frames.append(frame)
        self._frames = tuple(frames)
        self._index = 0

    def __len__(self) -> int:
        return len(self._frames)

    def __iter__(self) -> Iterator[np.ndarray]:
        return self

    def __next__(self) -> np.ndarray:
        frame = self._frames[self._index]
        self._index = (self._index + 1) % len(self._frames)
        return frame

    def next(self) -> np.ndarray:
        """The next frame (read-only), wrapping around to the first after the last."""
        return self.__next__()


def pregenerate_images(
    model: AtomCloudModel,
    count: int,
    *,
    loading_time: float,
    detuning: float,
    time_of_flight: float,
    seed: int | np.random.Generator = 0,
    roi: tuple[int, int, int, int] | None = None,
    shape: tuple[int, int] = (512, 512),
) -> list[np.ndarray]:
    """``count`` independent noisy frames of the same cloud (for :class:`ReplayImages`).

    Example:
        >>> frames = pregenerate_images(AtomCloudModel(), 3, loading_time=1.0,
        ...                             detuning=-15e6, time_of_flight=5e-3, seed=7)
        >>> replay = ReplayImages(frames)
        >>> len(replay)
        3
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return [
        model.image(
            loading_time=loading_time,
            detuning=detuning,
            time_of_flight=time_of_flight,
            rng=rng,
            roi=roi,
            shape=shape,
        )
        for _ in range(count)
    ]
