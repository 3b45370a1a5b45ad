"""Absorption imaging: optical density from the three pictures, and atom number from it.

The usual three pictures of one shot: ``atoms`` (the probe through the cloud), ``probe`` (the
probe alone) and ``dark`` (no probe). Per pixel, with ``A``, ``P``, ``D`` their counts:

* naive optical density ``OD = −ln((A − D) / (P − D))``. Where ``A − D`` or ``P − D`` is not
  positive (a dark pixel, noise at the picture's edge, a cloud that absorbs everything) the
  difference is clipped to ``floor`` counts (1 by default) before the logarithm, so every
  pixel is finite; such pixels' OD means "at least this much" (or nothing at all when both
  are clipped) and should be masked where it matters;
* with ``saturation_counts`` (the counts a pixel records when lit at the saturation
  intensity during the probe pulse; see :func:`saturation_counts`) the modified Beer–Lambert
  law for a resonant two-level atom adds ``(P − A) / saturation_counts``: the OD a weak probe
  would see. Without it, a probe of intensity ``I`` underestimates the OD as soon as ``I`` is
  not ≪ ``I_sat``.

Atom number: ``N = Σ OD × (pixel_size / magnification)² / σ`` over the pixels, with the
resonant cross-section ``σ = 3 λ² / 2π`` (2.907e-13 m² for the Rb-87 D2 line, a two-level
atom on resonance; a real probe's polarisation gives less: pass your own). Take
``pixel_size`` and ``magnification`` from your camera's configuration.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "RB87_D2_WAVELENGTH",
    "RB87_RESONANT_CROSS_SECTION",
    "RB87_SATURATION_INTENSITY",
    "absorption_atom_number",
    "optical_density",
    "saturation_counts",
]

RB87_D2_WAVELENGTH = 780.241209686e-9
"""Rb-87 D2 line wavelength in vacuum (m)."""
RB87_RESONANT_CROSS_SECTION = 3.0 * RB87_D2_WAVELENGTH**2 / (2.0 * math.pi)
"""``3 λ² / 2π`` (m²): a two-level atom's resonant cross-section on the Rb-87 D2 line."""
RB87_SATURATION_INTENSITY = 16.6933
"""Rb-87 D2 cycling transition's saturation intensity (W/m², i.e. 1.669 mW/cm²)."""

_PLANCK_CONSTANT = 6.62607015e-34
_SPEED_OF_LIGHT = 299_792_458.0


def _picture(value: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"the {name} picture is a 2-D array, got shape {array.shape}")
    return array


def optical_density(
    atoms: ArrayLike,
    probe: ArrayLike,
    dark: ArrayLike,
    *,
    saturation_counts: float | None = None,
    floor: float = 1.0,
) -> np.ndarray:
    """Per-pixel optical density from the atoms, probe and dark pictures (float64).

    ``−ln((atoms − dark) / (probe − dark))``, each difference clipped below at ``floor``
    counts; plus ``(probe − atoms) / saturation_counts`` when ``saturation_counts`` is given
    (see the module docstring).

    Raises:
        ValueError: pictures of different shapes (naming them), or a ``floor`` or
            ``saturation_counts`` that is not a positive number.

    Example:
        >>> import numpy as np
        >>> od = optical_density([[100 + 50]], [[100 + 200]], [[100]])
        >>> round(float(od[0, 0]), 4)  # ln 4
        1.3863
    """
    a, p, d = _picture(atoms, "atoms"), _picture(probe, "probe"), _picture(dark, "dark")
    if not a.shape == p.shape == d.shape:
        raise ValueError(
            f"the atoms, probe and dark pictures differ in shape: {a.shape}, {p.shape}, {d.shape}"
        )
    if not (math.isfinite(floor) and floor > 0):
        raise ValueError(f"floor is a positive number of counts, got {floor!r}")
    transmitted = np.maximum(a - d, floor)
    incident = np.maximum(p - d, floor)
    od = np.log(incident / transmitted)
    if saturation_counts is not None:
        if not (math.isfinite(saturation_counts) and saturation_counts > 0):
            raise ValueError(
                f"saturation_counts is a positive number of counts, got {saturation_counts!r}"
            )
        od += (incident - transmitted) / saturation_counts
    return od


def saturation_counts(
    pulse: float,
    *,
    pixel_size: float,
    magnification: float,
    quantum_efficiency: float,
    wavelength: float = RB87_D2_WAVELENGTH,
    saturation_intensity: float = RB87_SATURATION_INTENSITY,
) -> float:
    """Counts a pixel records when lit at the saturation intensity for ``pulse`` seconds.

    ``I_sat / (h c / λ) × (pixel_size / magnification)² × pulse × quantum_efficiency`` (one
    count per photo-electron; divide by your camera's electrons per count otherwise).

    Example:
        >>> round(saturation_counts(10e-6, pixel_size=6.5e-6, magnification=0.5,
        ...                         quantum_efficiency=0.7))
        77567
    """
    values = {
        "pulse": pulse,
        "pixel_size": pixel_size,
        "magnification": magnification,
        "quantum_efficiency": quantum_efficiency,
        "wavelength": wavelength,
        "saturation_intensity": saturation_intensity,
    }
    for name, value in values.items():
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    photon_energy = _PLANCK_CONSTANT * _SPEED_OF_LIGHT / wavelength
    area = (pixel_size / magnification) ** 2
    return saturation_intensity / photon_energy * area * pulse * quantum_efficiency


def absorption_atom_number(
    od: ArrayLike,
    *,
    pixel_size: float,
    magnification: float,
    cross_section: float = RB87_RESONANT_CROSS_SECTION,
) -> float:
    """Atoms in an optical-density picture: ``Σ OD × (pixel_size / magnification)² / σ``.

    Example:
        >>> import numpy as np
        >>> od = np.full((10, 10), 0.1)
        >>> round(absorption_atom_number(od, pixel_size=6.5e-6, magnification=0.5))
        5814
    """
    for name, value in {
        "pixel_size": pixel_size,
        "magnification": magnification,
        "cross_section": cross_section,
    }.items():
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    total = float(np.sum(np.asarray(od, dtype=np.float64)))
    return total * (pixel_size / magnification) ** 2 / cross_section
