"""Colour tables for images: 256 RGB entries, the same in Python (static PNG) and the browser.

The tables are built here from a few anchor colours and sent to the browser as 768 bytes,
so the canvas and the saved PNG always agree.

>>> len(colormap_table("gray"))
768
>>> colormap_table("thermal")[:3]
b'\\x00\\x00\\x04'
"""

from __future__ import annotations

import functools

import numpy as np

_ANCHORS: dict[str, tuple[tuple[float, tuple[int, int, int]], ...]] = {
    "gray": ((0.0, (0, 0, 0)), (1.0, (255, 255, 255))),
    "thermal": (
        (0.0, (0, 0, 4)),
        (0.25, (70, 16, 110)),
        (0.5, (180, 54, 90)),
        (0.75, (248, 140, 30)),
        (1.0, (252, 250, 170)),
    ),
    "ocean": (
        (0.0, (10, 10, 40)),
        (0.3, (30, 70, 140)),
        (0.6, (40, 160, 150)),
        (0.85, (170, 220, 90)),
        (1.0, (250, 240, 40)),
    ),
}

COLORMAPS: tuple[str, ...] = tuple(_ANCHORS)
"""The names :func:`colormap_table` knows."""


@functools.cache
def colormap_table(name: str) -> bytes:
    """The 256×RGB colour table of ``name`` (one of :data:`COLORMAPS`), as 768 bytes."""
    try:
        anchors = _ANCHORS[name]
    except KeyError:
        raise ValueError(
            f"unknown colour map {name!r}; choose one of {', '.join(COLORMAPS)}"
        ) from None
    positions = np.array([position for position, _ in anchors])
    colours = np.array([colour for _, colour in anchors], dtype=np.float64)
    grid = np.linspace(0.0, 1.0, 256)
    table = np.stack([np.interp(grid, positions, colours[:, k]) for k in range(3)], axis=1)
    return bytes(np.round(table).astype(np.uint8).tobytes())


def apply_colormap(image: np.ndarray, levels: tuple[float, float], name: str) -> np.ndarray:
    """Map a 2-D array to RGB (``uint8``, shape ``(h, w, 3)``) between ``levels`` (low, high)."""
    low, high = float(levels[0]), float(levels[1])
    span = high - low if high > low else 1.0
    scaled = (np.asarray(image, dtype=np.float64) - low) * (255.0 / span)
    indices = np.clip(np.nan_to_num(scaled, nan=0.0), 0, 255).astype(np.uint8)
    table = np.frombuffer(colormap_table(name), dtype=np.uint8).reshape(256, 3)
    return table[indices]


def auto_levels(image: np.ndarray) -> tuple[float, float]:
    """Levels from the 0.5 and 99.8 percentiles (robust to a few hot pixels)."""
    data = np.asarray(image)
    if data.size == 0:
        return (0.0, 1.0)
    step = max(1, data.size // 65536)
    sample = data.reshape(-1)[::step].astype(np.float64)
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return (0.0, 1.0)
    low, high = np.percentile(sample, [0.5, 99.8])
    if high <= low:
        high = low + 1.0
    return (float(low), float(high))


__all__ = ["COLORMAPS", "apply_colormap", "auto_levels", "colormap_table"]
