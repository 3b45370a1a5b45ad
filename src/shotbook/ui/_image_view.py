"""The live camera image: newest frame only, as raw bytes, drawn on a canvas."""

from __future__ import annotations

import pathlib
import threading
from collections.abc import Sequence
from typing import Any

import anywidget
import numpy as np
import traitlets

from ._colormaps import COLORMAPS, auto_levels, colormap_table
from ._throttle import LatestOnly

_HERE = pathlib.Path(__file__).parent

_BROWSER_DTYPES = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"}


def image_payload(image: Any) -> tuple[bytes, str, list[int]]:
    """Raw little-endian bytes, dtype name and shape of a 2-D image, as the browser reads them.

    Types a browser has no typed array for (bool, 64-bit integers) become float64.

    >>> data, dtype, shape = image_payload(np.arange(6, dtype=">u2").reshape(2, 3))
    >>> dtype, shape, len(data)
    ('uint16', [2, 3], 12)
    """
    array = np.asarray(image)
    if array.ndim != 2:
        raise ValueError(f"a live image is 2-D (rows, columns), got shape {array.shape}")
    if array.dtype.name not in _BROWSER_DTYPES:
        array = array.astype(np.float64)
    array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    return array.tobytes(), array.dtype.name, [int(array.shape[0]), int(array.shape[1])]


class LiveImage(anywidget.AnyWidget):
    """The newest camera image on a canvas: colour map, levels and a region-of-interest box.

    :meth:`show` may be called from any thread and as often as frames come: only the newest
    frame is sent, at most ``max_rate`` times a second. The image travels as bytes
    (``image`` with ``dtype`` and ``shape``), never as a list.

    >>> view = LiveImage(colormap="gray", roi=[10, 20, 64, 64])
    >>> view.show(np.zeros((128, 128), dtype=np.uint16), label="camera.cloud, shot 0")
    >>> view.flush()
    True
    >>> view.dtype, view.shape
    ('uint16', [128, 128])
    """

    _esm = _HERE / "_image_view.js"
    _css = _HERE / "_panel.css"

    image = traitlets.Bytes(b"").tag(sync=True)
    dtype = traitlets.Unicode("uint8").tag(sync=True)
    shape = traitlets.List(traitlets.Int(), default_value=[0, 0]).tag(sync=True)
    levels = traitlets.List(traitlets.Float(), default_value=[0.0, 1.0]).tag(sync=True)
    auto_levels = traitlets.Bool(True).tag(sync=True)
    colormap = traitlets.Unicode("thermal").tag(sync=True)
    lut = traitlets.Bytes(b"").tag(sync=True)
    roi = traitlets.List(traitlets.Int(), default_value=[]).tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)
    frame = traitlets.Int(0).tag(sync=True)

    def __init__(self, *, max_rate: float = 30.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lut = colormap_table(self.colormap)
        self._lock = threading.Lock()
        self._throttle: LatestOnly[tuple[np.ndarray | None, str]] = LatestOnly(self._push, max_rate)
        self.last_image: np.ndarray | None = None
        """The newest image given to :meth:`show` (sent or about to be)."""
        self.last_label = ""

    @traitlets.validate("colormap")
    def _check_colormap(self, proposal: dict[str, Any]) -> str:
        name = str(proposal["value"])
        if name not in COLORMAPS:
            raise traitlets.TraitError(
                f"unknown colour map {name!r}; choose one of {', '.join(COLORMAPS)}"
            )
        return name

    @traitlets.observe("colormap")
    def _colormap_changed(self, change: dict[str, Any]) -> None:
        self.lut = colormap_table(change["new"])

    @traitlets.validate("roi")
    def _check_roi(self, proposal: dict[str, Any]) -> list[int]:
        roi = list(proposal["value"])
        if roi and (len(roi) != 4 or roi[2] < 0 or roi[3] < 0):
            raise traitlets.TraitError(
                f"roi is [] or [x, y, width, height] with width, height >= 0, got {roi}"
            )
        return roi

    def show(self, image: Any, *, label: str = "") -> None:
        """Queue ``image`` (2-D) for display; only the newest queued frame is sent."""
        array = np.asarray(image)
        if array.ndim != 2:
            raise ValueError(f"a live image is 2-D (rows, columns), got shape {array.shape}")
        with self._lock:
            self.last_image = array
            self.last_label = label
        self._throttle.submit((array, label))

    def clear(self, label: str = "") -> None:
        """Show no image (its shots were deleted), with ``label`` as the caption."""
        with self._lock:
            self.last_image = None
            self.last_label = label
        self._throttle.submit((None, label))

    def _push(self, item: tuple[np.ndarray | None, str]) -> None:
        array, label = item
        if array is None:
            with self._lock, self.hold_sync():
                self.image = b""
                self.shape = [0, 0]
                self.label = label
                self.frame = self.frame + 1
            return
        data, dtype, shape = image_payload(array)
        levels = auto_levels(array) if self.auto_levels else None
        with self._lock, self.hold_sync():
            self.image = data
            self.dtype = dtype
            self.shape = shape
            if levels is not None:
                self.levels = [levels[0], levels[1]]
            self.label = label
            self.frame = self.frame + 1

    def set_levels(self, low: float, high: float) -> None:
        """Fix the levels (turns automatic levels off)."""
        if not high > low:
            raise ValueError(f"levels need low < high, got {low}, {high}")
        self.auto_levels = False
        self.levels = [float(low), float(high)]

    def set_roi(self, roi: Sequence[int] | None) -> None:
        """Draw the box ``(x, y, width, height)`` in pixels, or none."""
        self.roi = [] if roi is None else [int(v) for v in roi]

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the queued frame is sent (tests, benchmarks)."""
        return self._throttle.flush(timeout)

    def close(self) -> None:
        """Stop sending and close the widget."""
        self._throttle.cancel()
        super().close()


__all__ = ["LiveImage", "image_payload"]
