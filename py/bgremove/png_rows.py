"""PNG's scanlines from straight RGBA: each row its filter byte and its bytes, filtered "up" (less the
row above), which deflates to about three quarters of what a canvas's PNG takes. Made a band of rows at
a time, so the browser host can hand them to the browser's deflate without a full-size copy in Python.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

UP = 2  # PNG's filter type: each byte less the byte above it (the row above the first is zeros)
# Rows per band: bounds the temporary to about a megabyte at any width.
_BAND_BYTES = 1 << 20


def scanlines(rgba: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(offset in the PNG's scanline data, a band of filtered rows as (rows, 1 + W*4) uint8) for an
    (H, W, 4) uint8 image, top to bottom; the data is H * (1 + W*4) bytes in all."""
    height, width = rgba.shape[:2]
    stride = width * 4
    rows = rgba.reshape(height, stride)
    step = max(1, _BAND_BYTES // (stride + 1))
    for top in range(0, height, step):
        bottom = min(height, top + step)
        band = np.empty((bottom - top, stride + 1), np.uint8)
        band[:, 0] = UP
        np.subtract(rows[top:bottom], rows[top - 1:bottom - 1] if top else _above_first(rows, bottom),
                    out=band[:, 1:])
        yield top * (stride + 1), band


def _above_first(rows: np.ndarray, bottom: int) -> np.ndarray:
    """The rows above rows[0:bottom]: zeros, then rows[0:bottom - 1]."""
    above = np.zeros((bottom, rows.shape[1]), np.uint8)
    above[1:] = rows[:bottom - 1]
    return above
