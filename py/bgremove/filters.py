"""Small vectorised image filters for refinement (NumPy only)."""
from __future__ import annotations

import numpy as np


# Up to this many values in a row, float32 running sums of 0..1 data stay within ~1e-5.
_FLOAT32_SPAN = 256


def box_mean(x: np.ndarray, radius: int, axes: tuple[int, int] = (0, 1)) -> np.ndarray:
    """Mean over a (2r+1) x (2r+1) window on two axes, the window shrunk at the borders.

    Running sums, so the cost does not depend on the radius. float32 out.
    """
    if radius <= 0:
        return x.astype(np.float32, copy=True)
    out = x.astype(np.float32, copy=False)  # each pass below makes a new array
    for axis in axes:
        out = _window_mean(out, radius, axis)
    return out


def _window_mean(x: np.ndarray, radius: int, axis: int) -> np.ndarray:
    n = x.shape[axis]

    def part(start, stop):
        index = [slice(None)] * x.ndim
        index[axis] = slice(start, stop)
        return tuple(index)

    # Running sums padded with `radius` copies of their first (0) and last values, so that every
    # window sum is a difference of two slices. Sums over long rows need float64's precision.
    dtype = np.float64 if n > _FLOAT32_SPAN else np.float32
    shape = list(x.shape)
    shape[axis] = n + 2 * radius + 1
    total = np.zeros(shape, dtype)
    np.cumsum(x, axis=axis, dtype=dtype, out=total[part(radius + 1, n + radius + 1)])
    total[part(n + radius + 1, None)] = total[part(n + radius, n + radius + 1)]
    window = total[part(2 * radius + 1, None)] - total[part(0, n)]
    index = np.arange(n)
    count = np.minimum(index + radius, n - 1) - np.maximum(index - radius, 0) + 1
    count_shape = [1] * x.ndim
    count_shape[axis] = n
    window /= count.reshape(count_shape)
    return window.astype(np.float32, copy=False)


def dilate(mask: np.ndarray, radius: int, axes: tuple[int, int] = (0, 1)) -> np.ndarray:
    """Binary dilation of a bool mask with a (2r+1) square on two axes (of a (H, W) mask by default)."""
    out = np.asarray(mask, bool)  # each pass below makes a new array
    for axis in axes:
        out = _dilate_axis(out, radius, axis)
    return out


def _dilate_axis(x: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """OR over the window [i - radius, i + radius] along one axis: each side's run of `radius` built by doubling,
    so a few whole-array ORs of bytes (in wasm far cheaper than the running sums of a box filter)."""
    def part(start, stop):
        index = [slice(None)] * x.ndim
        index[axis] = slice(start, stop)
        return tuple(index)

    ahead, behind = x.copy(), x.copy()
    span = 1  # ahead[i] is the OR of x[i : i + span], behind[i] that of x[i - span + 1 : i + 1]
    while span <= radius:
        step = min(span, radius + 1 - span)
        ahead[part(0, -step)] |= ahead[part(step, None)]
        behind[part(step, None)] |= behind[part(0, -step)]
        span += step
    return ahead | behind


def erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary erosion of a (H, W) bool mask with a (2r+1) square (outside the image counts as set)."""
    return ~dilate(~mask, radius)


def boundary(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool: the pixels on either side of a bool mask's edge."""
    return dilate(mask, 1) & ~erode(mask, 1)
