"""From the model's raw output to the final RGBA image."""
from __future__ import annotations

import numpy as np

from .models import ModelSpec
from .resize import resize

OUTPUTS = ("foreground", "background", "mask")


def mask_from_output(raw: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Raw model output (any shape holding S*S floats) -> (S, S) uint8 mask.

    As the references do: min-max stretch when `spec.minmax_output` (rembg),
    then value * 255 truncated, like a store into a JS Uint8Array; NaN becomes 0.
    """
    m = np.asarray(raw, dtype=np.float32).reshape(spec.size, spec.size)
    if spec.minmax_output:
        lo, hi = m.min(), m.max()
        m = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
    scaled = np.nan_to_num(m.astype(np.float64) * 255.0, nan=0.0)
    return np.clip(np.trunc(scaled), 0, 255).astype(np.uint8)


def mask_to_image(mask: np.ndarray, width: int, height: int, spec: ModelSpec) -> np.ndarray:
    """(S, S) uint8 mask -> (height, width) uint8, with the model's resampler."""
    return resize(mask, width, height, spec.resize)


def compose(rgba: np.ndarray, mask: np.ndarray, output: str) -> np.ndarray:
    """Apply a (H, W) uint8 mask to an (H, W, 4) uint8 photo.

    foreground: the photo with alpha = mask (times any alpha the photo had);
    background: the same with the mask inverted; mask: the mask as opaque grey.
    """
    if output == "mask":
        out = np.empty_like(rgba)
        out[..., :3] = mask[..., None]
        out[..., 3] = 255
        return out
    alpha = mask if output == "foreground" else 255 - mask
    out = rgba.copy()
    if rgba[..., 3].min() < 255:
        alpha = (alpha.astype(np.uint16) * rgba[..., 3] + 127) // 255
    out[..., 3] = alpha
    return out


def flatten(rgba: np.ndarray, colour: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """Composite over a solid colour, for formats without alpha (JPEG); alpha becomes 255."""
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3] * a + np.asarray(colour, np.float32) * (1.0 - a)
    out = np.empty_like(rgba)
    out[..., :3] = np.rint(rgb)
    out[..., 3] = 255
    return out
