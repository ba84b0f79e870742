"""Matting quality metrics on alpha mattes in 0..1 (float arrays of shape (H, W)).

The usual matting benchmark set (Rhemann et al., CVPR 2009): SAD, MSE, gradient
error, plus MAE, IoU and the MAE inside a band around the true edge, where
hair and fur live, and the colour error of the cut-out's semi-transparent pixels.
"""
from __future__ import annotations

import numpy as np

from bgremove.filters import boundary, dilate

EDGE_BAND_RADIUS = 10   # pixels either side of the true edge
SEMI = (0.02, 0.98)     # "semi-transparent" in the ground truth


def mae(alpha: np.ndarray, truth: np.ndarray) -> float:
    return float(np.abs(alpha - truth).mean())


def mse(alpha: np.ndarray, truth: np.ndarray) -> float:
    return float(np.square(alpha - truth).mean())


def sad(alpha: np.ndarray, truth: np.ndarray) -> float:
    """Sum of absolute differences, in thousands (the benchmark's unit)."""
    return float(np.abs(alpha - truth).sum() / 1000)


def gradient_error(alpha: np.ndarray, truth: np.ndarray, sigma: float = 1.4) -> float:
    """Sum of squared differences of Gaussian gradient magnitudes, in thousands."""
    difference = gaussian_gradient_magnitude(alpha, sigma) - gaussian_gradient_magnitude(truth, sigma)
    return float(np.square(difference).sum() / 1000)


def iou(alpha: np.ndarray, truth: np.ndarray, threshold: float = 0.5) -> float:
    a, t = alpha > threshold, truth > threshold
    union = np.logical_or(a, t).sum()
    return float(np.logical_and(a, t).sum() / union) if union else 1.0


def edge_band(truth: np.ndarray, radius: int = EDGE_BAND_RADIUS) -> np.ndarray:
    """Pixels within `radius` of the true edge: its semi-transparent pixels and its 0.5 contour."""
    semi = (truth > SEMI[0]) & (truth < SEMI[1])
    return dilate(boundary(truth > 0.5) | semi, radius)


def edge_mae(alpha: np.ndarray, truth: np.ndarray, radius: int = EDGE_BAND_RADIUS) -> float:
    band = edge_band(truth, radius)
    return float(np.abs(alpha - truth)[band].mean()) if band.any() else 0.0


def colour_error(rgb: np.ndarray, true_rgb: np.ndarray, truth: np.ndarray) -> float:
    """Mean |colour - true colour| (0..1) over the truly semi-transparent pixels, weighted by their alpha."""
    semi = (truth > SEMI[0]) & (truth < SEMI[1])
    if not semi.any():
        return 0.0
    weight = truth[semi]
    difference = np.abs(rgb[semi].astype(np.float64) - true_rgb[semi]).mean(axis=1) / 255
    return float((difference * weight).sum() / weight.sum())


def all_metrics(alpha: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    return {"mae": mae(alpha, truth), "mse": mse(alpha, truth), "sad": sad(alpha, truth),
            "grad": gradient_error(alpha, truth), "edge_mae": edge_mae(alpha, truth), "iou": iou(alpha, truth)}


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
