"""From a decoded RGBA photo to the model's input tensor."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .models import ModelSpec
from .resize import resize

RESIZE_POLICIES = ("squash", "letterbox", "fit")
# "fit" keeps the photo's aspect ratio, but squashes rather than let its short side fill less than this
# share of the model's input: the photo always covers most of the square, and a panorama is stretched
# 4/3 times less than squash would. A thin strip starves the model of pixels. Measured on the evaluation
# set: minimum fills of 0.5 to 0.75 all beat squash, 0.75 the most; 0 (plain letterbox) loses on 4:1.
FIT_MIN_FILL = 0.75


@dataclass(frozen=True)
class Placement:
    """Where the photo sits inside the model's square input, in model pixels."""
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class ModelInput:
    """The photo as the model sees it; `tensor` makes the model's input from it."""
    photo: np.ndarray        # (height, width, 3) uint8, resized, unpadded
    placement: Placement
    size: int                # S: the model's input is S x S


def model_input(rgba: np.ndarray, spec: ModelSpec, policy: str = "squash") -> ModelInput:
    """(H, W, 4) uint8 -> the photo resized for the model's S x S input, S = spec.size.

    "squash" stretches the photo to the square, as the reference pipeline does;
    "letterbox" keeps its aspect ratio, centres it and fills the rest of the
    square with the photo mirrored at its edges; "fit" does the same but
    squashes rather than let the photo's short side fill less than
    FIT_MIN_FILL of the square. Mirroring, not a flat colour: a flat band is
    itself a shape the model may cut out or treat as backdrop, and a mirrored
    photo looks to it like more of the same scene (measured on the evaluation
    set: grey bars made letterboxing worse than squashing, mirrored ones better).
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
    return ModelInput(resize(rgba, placement.width, placement.height, spec.resize, channels=3), placement, size)


def tensor(model_input: ModelInput, spec: ModelSpec) -> np.ndarray:
    """The model's (1, 3, S, S) float32 input: the photo placed in the square, the rest mirrored.

    Each RGB channel becomes (x - mean) / std in float64, where x is the pixel
    value, or the pixel over the photo's maximum when `spec.scale_by_max`
    (rembg), stored as float32 in NCHW order.
    """
    photo, p, size = model_input.photo, model_input.placement, model_input.size
    # "symmetric" repeats the edge pixel, then mirrors; wider pads than the photo mirror back and forth.
    square = np.pad(photo, ((p.y, size - p.y - p.height), (p.x, size - p.x - p.width), (0, 0)), mode="symmetric")
    return normalise(square, spec, scale_max=photo.max())


def normalise(rgb: np.ndarray, spec: ModelSpec, scale_max: float | None = None) -> np.ndarray:
    """(S, S, 3) uint8 -> (1, 3, S, S) float32 with the model's normalisation.

    `scale_max` is the maximum that `scale_by_max` divides by (default: of `rgb`).
    """
    scale = 1.0
    if spec.scale_by_max:
        scale = max(float(rgb.max() if scale_max is None else scale_max), 1.0)  # all black stays 0, not NaN
    # A pixel's value depends only on its byte and channel: a 256-entry table per channel, computed in
    # float64 as the formula says, then looked up, writes the planar tensor in one pass per channel
    # (by indexing: np.take is 3x slower in wasm).
    levels = np.arange(256, dtype=np.float64)[:, None] / scale
    table = ((levels - np.asarray(spec.mean)) / np.asarray(spec.std)).astype(np.float32)
    out = np.empty((1, 3) + rgb.shape[:2], np.float32)
    for channel in range(3):
        out[0, channel] = table[rgb[..., channel], channel]
    return out
