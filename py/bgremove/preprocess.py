"""From a decoded RGBA photo to the model's input tensor."""
from __future__ import annotations

import numpy as np

from .models import ModelSpec
from .resize import resize


def model_input(rgba: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """(H, W, 4) uint8 -> (1, 3, S, S) float32, S = spec.size.

    Squashes to the model's square (the reference pipeline's policy), then
    normalises each RGB channel as (x - mean) / std in float64, where x is the
    pixel value, or the pixel divided by the image maximum when
    `spec.scale_by_max` (rembg), and stores float32 in NCHW order.
    """
    small = resize(np.ascontiguousarray(rgba[..., :3]), spec.size, spec.size, spec.resize)
    return normalise(small, spec)


def normalise(rgb: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """(S, S, 3) uint8 -> (1, 3, S, S) float32 with the model's normalisation."""
    x = rgb.astype(np.float64)
    if spec.scale_by_max:
        x /= max(float(x.max()), 1.0)  # an all-black image stays zero instead of NaN
    x -= np.asarray(spec.mean)
    x /= np.asarray(spec.std)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)
