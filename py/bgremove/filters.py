"""Small vectorised image filters shared by refinement and evaluation (NumPy only)."""
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


def gaussian_gradient_magnitude(x: np.ndarray, sigma: float) -> np.ndarray:
    """|grad(G_sigma * x)| of a (H, W) float image, with Gaussian derivative filters."""
    radius = int(np.ceil(3 * sigma))
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-t * t / (2 * sigma * sigma))
    g /= g.sum()
    dg = -t * g
    dg /= -(t * dg).sum()  # a ramp's slope comes out unchanged
    x = x.astype(np.float64)
    gx = _convolve(_convolve(x, g, 0), dg, 1)
    gy = _convolve(_convolve(x, dg, 0), g, 1)
    return np.hypot(gx, gy)


def _convolve(x: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    radius = len(kernel) // 2
    pad = [(0, 0)] * x.ndim
    pad[axis] = (radius, radius)
    padded = np.pad(x, pad, mode="edge")
    out = np.zeros_like(x)
    n = x.shape[axis]
    for i, weight in enumerate(kernel[::-1]):
        out += weight * np.take(padded, np.arange(i, i + n), axis=axis)
    return out
