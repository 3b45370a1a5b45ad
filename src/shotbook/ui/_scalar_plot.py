"""A per-shot scalar against a parameter: shots as dots, mean ± standard error per value."""

from __future__ import annotations

import pathlib
import threading
from collections.abc import Sequence
from typing import Any

import anywidget
import numpy as np
import traitlets

from shotbook.analysis import mean_sem_by

from ._throttle import LatestOnly

_HERE = pathlib.Path(__file__).parent


def _f64(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype="<f8").tobytes()


def grouped(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct finite ``x``, mean of ``y`` and its standard error (0 for a single shot).

    >>> xs, mean, err = grouped([1, 2, 1], [1.0, 5.0, 3.0])
    >>> xs.tolist(), mean.tolist(), err.tolist()
    ([1.0, 2.0], [2.0, 5.0], [1.0, 0.0])
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    keep = np.isfinite(xs)
    if not keep.any():
        empty = np.zeros(0)
        return empty, empty, empty
    values, mean, sem, _count = mean_sem_by(xs[keep], ys[keep])
    return values.astype(np.float64), mean, np.nan_to_num(sem, nan=0.0)


class ScalarPlot(anywidget.AnyWidget):
    """A scalar of each shot (``y``) against a parameter (``x``), drawn on a canvas.

    Points travel as float64 bytes (``x``, ``y``, and the per-value ``mean`` ± ``error``
    at ``group_x``); :meth:`set_points` may be called from any thread and is throttled.

    >>> plot = ScalarPlot(x_label="time_of_flight", y_label="analysis.atom_number")
    >>> plot.set_points([1, 1, 2], [10.0, 12.0, 7.0])
    >>> plot.flush()
    True
    >>> plot.count
    3
    """

    _esm = _HERE / "_scalar_plot.js"
    _css = _HERE / "_panel.css"

    x_label = traitlets.Unicode("").tag(sync=True)
    y_label = traitlets.Unicode("").tag(sync=True)
    x = traitlets.Bytes(b"").tag(sync=True)
    y = traitlets.Bytes(b"").tag(sync=True)
    group_x = traitlets.Bytes(b"").tag(sync=True)
    mean = traitlets.Bytes(b"").tag(sync=True)
    error = traitlets.Bytes(b"").tag(sync=True)
    count = traitlets.Int(0).tag(sync=True)
    version = traitlets.Int(0).tag(sync=True)

    def __init__(self, *, max_rate: float = 10.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._throttle: LatestOnly[tuple[np.ndarray, np.ndarray]] = LatestOnly(self._push, max_rate)

    def set_points(self, x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> None:
        """Show these points (one per shot); replaces the previous ones."""
        xs = np.asarray(x, dtype=np.float64).reshape(-1)
        ys = np.asarray(y, dtype=np.float64).reshape(-1)
        if xs.shape != ys.shape:
            raise ValueError(
                f"{xs.size} x values but {ys.size} y values: give one of each per shot"
            )
        self._throttle.submit((xs, ys))

    def _push(self, item: tuple[np.ndarray, np.ndarray]) -> None:
        xs, ys = item
        group_x, mean, error = grouped(xs, ys)
        with self._lock, self.hold_sync():
            self.x = _f64(xs)
            self.y = _f64(ys)
            self.group_x = _f64(group_x)
            self.mean = _f64(mean)
            self.error = _f64(error)
            self.count = int(xs.size)
            self.version = self.version + 1

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """The points shown (``x``, ``y``), decoded from the synced bytes."""
        return np.frombuffer(self.x, dtype="<f8"), np.frombuffer(self.y, dtype="<f8")

    def groups(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The per-value means shown: ``(x, mean, error)``."""
        return (
            np.frombuffer(self.group_x, dtype="<f8"),
            np.frombuffer(self.mean, dtype="<f8"),
            np.frombuffer(self.error, dtype="<f8"),
        )

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the queued points are sent."""
        return self._throttle.flush(timeout)

    def close(self) -> None:
        """Stop sending and close the widget."""
        self._throttle.cancel()
        super().close()


__all__ = ["ScalarPlot", "grouped"]
