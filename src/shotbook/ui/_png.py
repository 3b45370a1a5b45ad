"""A tiny PNG encoder (RGB, 8 bits) for the static snapshot of the panel.

>>> import numpy as np
>>> data = encode_png(np.zeros((2, 3, 3), dtype=np.uint8))
>>> data[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def encode_png(rgb: np.ndarray) -> bytes:
    """Encode an ``(h, w, 3)`` ``uint8`` array as PNG bytes."""
    array = np.ascontiguousarray(rgb)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise ValueError(
            f"encode_png needs an (h, w, 3) uint8 array, got shape {array.shape} {array.dtype}"
        )
    height, width = array.shape[:2]
    rows = np.zeros((height, 1 + width * 3), dtype=np.uint8)  # filter byte 0 on each row
    rows[:, 1:] = array.reshape(height, width * 3)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + _chunk(b"IEND", b"")
    )


def png_data_url(rgb: np.ndarray) -> str:
    """The PNG of ``rgb`` as a ``data:image/png;base64,...`` URL for inline HTML."""
    return "data:image/png;base64," + base64.b64encode(encode_png(rgb)).decode("ascii")


__all__ = ["encode_png", "png_data_url"]
