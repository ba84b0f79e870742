"""Image and mask resizing, vectorised over NumPy arrays.

`bilinear_resize` is the reference pipeline's own resampler, reproduced to the
bit so that the "squash" path gives the same alpha as @imgly/background-removal.
`lanczos_resize` is rembg's (Pillow's Lanczos), used by the u2net family.
"""
from __future__ import annotations

from functools import partial

import numpy as np
from PIL import Image

# Rows handled per step: bounds the float64 temporaries to a few tens of MB at 12 MP.
_TARGET_CHUNK_VALUES = 1 << 21


def bilinear_resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize a uint8 image (H, W) or (H, W, C) to (height, width[, C]).

    Exactly @imgly/background-removal's `tensorResizeBilinear`: destination
    pixel (x, y) samples the source at (x * W / width, y * H / height), corner
    aligned with no half-pixel shift, blends the floor and ceil neighbours
    (clamped to the image) in float64 in the same order of operations, and
    rounds half up. `image` may be a strided view (an RGBA photo's RGB): only
    the samples are read.
    """
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"expected uint8 (H, W) or (H, W, C), got {image.dtype} {image.shape}")
    src_h, src_w = image.shape[:2]
    x1, x2, dx = _taps(src_w, width)
    y1, y2, dy = _taps(src_h, height)
    out = np.empty((height, width) + image.shape[2:], np.uint8)
    values_per_row = width * (image.shape[2] if image.ndim == 3 else 1)
    step = max(1, _TARGET_CHUNK_VALUES // values_per_row)
    blend = partial(_blend_where_uneven, ~_flat_cells(image)) if image.ndim == 2 else _blend
    for r0 in range(0, height, step):
        rows = slice(r0, min(height, r0 + step))
        out[rows] = blend(image, y1[rows], y2[rows], dy[rows], x1, x2, dx)
    return out


def _blend(image, y1, y2, dy, x1, x2, dx) -> np.ndarray:
    """The reference's arithmetic for every destination pixel of the rows y1/y2."""
    top, bottom = image[y1], image[y2]
    extra = (None,) * (image.ndim - 2)  # broadcast the weights over a channel axis
    return _mix(_columns(top, x1), _columns(top, x2), _columns(bottom, x1), _columns(bottom, x2),
                dx[(None, slice(None)) + extra], dy[(slice(None), None) + extra])


def _blend_where_uneven(uneven, mask, y1, y2, dy, x1, x2, dx) -> np.ndarray:
    """`_blend` for a (H, W) mask, computed only where its samples differ (`uneven`, from `_flat_cells`).

    Where the four samples are equal the reference's weights sum to 1 within a
    few ulps, so it rounds to that value: a mask is flat almost everywhere, and
    this skips the float work there (a 12-megapixel upsample is mostly copying).
    """
    out = _columns(mask[y1], x1)
    # 1-D nonzero is several times faster than 2-D on large arrays.
    ys, xs = np.divmod(np.flatnonzero(_columns(uneven[y1], x1)), len(x1))
    if ys.size:
        y1, y2, x1, x2 = y1[ys], y2[ys], x1[xs], x2[xs]
        out[ys, xs] = _mix(mask[y1, x1], mask[y1, x2], mask[y2, x1], mask[y2, x2], dx[xs], dy[ys])
    return out


def _mix(p1, p2, p3, p4, dx, dy) -> np.ndarray:
    """(1-dx)(1-dy) p1 + dx(1-dy) p2 + (1-dx)dy p3 + dx dy p4, rounded half up: the reference's order of operations."""
    wx0, wy0 = 1 - dx, 1 - dy
    value = (wx0 * wy0) * p1
    value += (dx * wy0) * p2
    value += (wx0 * dy) * p3
    value += (dx * dy) * p4
    value += 0.5
    return np.floor(value, out=value).astype(np.uint8)


def _columns(rows: np.ndarray, x: np.ndarray) -> np.ndarray:
    """rows[:, x]: np.take along an axis is a few times faster than fancy indexing."""
    return np.take(rows, x, axis=1)


def _flat_cells(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool: the 2x2 cell from (y, x), clamped at the borders, holds one value."""
    below = mask[np.minimum(np.arange(1, mask.shape[0] + 1), mask.shape[0] - 1)]
    right = np.minimum(np.arange(1, mask.shape[1] + 1), mask.shape[1] - 1)
    return (mask == mask[:, right]) & (mask == below) & (below == below[:, right])


def _taps(src: int, dst: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    position = np.arange(dst, dtype=np.float64) * (src / dst)
    lower = np.maximum(np.floor(position), 0)
    upper = np.minimum(np.ceil(position), src - 1)
    return lower.astype(np.intp), upper.astype(np.intp), position - lower


def lanczos_resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize a uint8 (H, W) or (H, W, 3) image with Pillow's Lanczos filter, as rembg does."""
    return np.array(Image.fromarray(np.ascontiguousarray(image)).resize((width, height), Image.Resampling.LANCZOS))


def resize(image: np.ndarray, width: int, height: int, method: str) -> np.ndarray:
    if method == "bilinear":
        return bilinear_resize(image, width, height)
    if method == "lanczos":
        return lanczos_resize(image, width, height)
    raise ValueError(f"unknown resize method {method!r}")

