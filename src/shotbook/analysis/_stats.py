"""Grouped statistics of scan results (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["mean_sem_by"]


def mean_sem_by(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean and standard error of the mean of ``y`` for each distinct value of ``x``.

    NaNs in ``y`` are ignored (a failed fit does not spoil its group). An ``x`` value whose
    ``y`` are all NaN is still listed, with mean ``nan``, SEM ``nan`` and count 0.

    Args:
        x: the scanned values (finite), one per shot.
        y: the measured values, one per shot.

    Returns:
        ``(x_values, mean, sem, count)``: the sorted distinct ``x`` (in ``x``'s dtype), the mean
        of ``y`` per value (float64), its standard error ``std(ddof=1) / sqrt(n)`` (``nan`` when
        ``n < 2``) and the number ``n`` of non-NaN ``y`` per value (int64).

    Raises:
        ValueError: if ``x`` and ``y`` are not 1-D of the same length, or ``x`` holds NaN/inf.

    Example:
        >>> xs, mean, sem, n = mean_sem_by([1, 2, 1, 2, 3], [1.0, 10.0, 3.0, 14.0, 5.0])
        >>> xs.tolist(), mean.tolist(), n.tolist()
        ([1, 2, 3], [2.0, 12.0, 5.0], [2, 2, 1])
        >>> sem.tolist()
        [1.0, 2.0, nan]
    """
    keys = np.asarray(x)
    values = np.asarray(y, dtype=np.float64)
    if keys.ndim != 1 or values.ndim != 1:
        raise ValueError(
            f"mean_sem_by needs 1-D x and y, got shapes {keys.shape} and {values.shape}"
        )
    if keys.size != values.size:
        raise ValueError(f"x has {keys.size} values but y has {values.size}; give one y per x")
    if np.issubdtype(keys.dtype, np.inexact) and not np.all(np.isfinite(keys)):
        bad = np.flatnonzero(~np.isfinite(keys))[:5].tolist()
        raise ValueError(f"x holds NaN or inf at indices {bad}; drop those rows first")

    unique, inverse = np.unique(keys, return_inverse=True)
    inverse = inverse.ravel()
    valid = ~np.isnan(values)
    groups, kept = inverse[valid], values[valid]
    count = np.bincount(groups, minlength=unique.size).astype(np.int64)
    total = np.bincount(groups, weights=kept, minlength=unique.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        squares = np.bincount(groups, weights=(kept - mean[groups]) ** 2, minlength=unique.size)
        sem = np.sqrt(squares / (count - 1) / count)
    mean[count == 0] = np.nan
    sem[count < 2] = np.nan
    return unique, mean, sem, count
