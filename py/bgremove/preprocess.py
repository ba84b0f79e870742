"""From a decoded RGBA photo to the model's input tensor."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .models import ModelSpec
from .resize import resize

RESIZE_POLICIES = ("squash", "letterbox", "fit")
# "fit" letterboxes, but never lets the photo's short side fill less than this share of the model's
# input: past that point it squashes instead. A thin strip starves the model of pixels (measured:
# letterboxing 4:1 photos loses their subject), while some squash is what these models trained on.
FIT_MIN_FILL = 0.5


@dataclass(frozen=True)
class Placement:
    """Where the photo sits inside the model's square input, in model pixels."""
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class ModelInput:
    tensor: np.ndarray       # (1, 3, S, S) float32
    photo: np.ndarray        # (height, width, 3) uint8: the photo as the model sees it, unpadded
    placement: Placement


def model_input(rgba: np.ndarray, spec: ModelSpec, policy: str = "squash") -> ModelInput:
    """(H, W, 4) uint8 -> the model's (1, 3, S, S) float32 input, S = spec.size.

    "squash" stretches the photo to the square, as the reference pipeline does;
    "letterbox" keeps its aspect ratio, centres it and pads with the colour that
    normalises to zero; "fit" letterboxes but squashes rather than let the
    photo's short side fill less than FIT_MIN_FILL of the square. Each RGB channel becomes (x - mean) / std in float64,
    where x is the pixel value, or the pixel over the photo's maximum when
    `spec.scale_by_max` (rembg), stored as float32 in NCHW order.
    """
    height, width = rgba.shape[:2]
    size = spec.size
    if policy == "squash":
        placement = Placement(0, 0, size, size)
    elif policy in ("letterbox", "fit"):
        min_fill = FIT_MIN_FILL if policy == "fit" else 0.0
        scale = size / max(width, height)
        w = min(size, max(1, round(width * scale), round(size * min_fill)))
        h = min(size, max(1, round(height * scale), round(size * min_fill)))
        placement = Placement((size - w) // 2, (size - h) // 2, w, h)
    else:
        raise ValueError(f"unknown resize policy {policy!r}")
    photo = resize(rgba[..., :3], placement.width, placement.height, spec.resize)
    square = photo
    if (placement.width, placement.height) != (size, size):
        square = np.empty((size, size, 3), np.uint8)
        square[:] = _neutral_colour(spec)
        square[placement.y:placement.y + placement.height, placement.x:placement.x + placement.width] = photo
    return ModelInput(normalise(square, spec, scale_max=photo.max()), photo, placement)


def _neutral_colour(spec: ModelSpec) -> np.ndarray:
    mean = np.asarray(spec.mean) * (255 if spec.scale_by_max else 1)
    return np.clip(np.rint(mean), 0, 255).astype(np.uint8)


def normalise(rgb: np.ndarray, spec: ModelSpec, scale_max: float | None = None) -> np.ndarray:
    """(S, S, 3) uint8 -> (1, 3, S, S) float32 with the model's normalisation.

    `scale_max` is the maximum that `scale_by_max` divides by (default: of `rgb`).
    """
    x = rgb.astype(np.float64)
    if spec.scale_by_max:
        x /= max(float(x.max() if scale_max is None else scale_max), 1.0)  # all black stays 0, not NaN
    x -= np.asarray(spec.mean)
    x /= np.asarray(spec.std)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)
