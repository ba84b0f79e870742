"""New backgrounds behind a cut-out: a solid colour, the photo itself blurred, or another image.

Each is an (H, W, 3) uint8 array (or one colour) that `place_over` composes the cut-out onto.
Pillow does the resampling and blurring (C code on both hosts, no float copies of a 12 MP photo).
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter, ImageOps

# The blur's strength as a share of the photo's longer side: a portrait-mode look that keeps the
# scene's colours and light but none of its detail.
BLUR_SHARE = 0.02
# The blur works on the photo shrunk to at most this many pixels on its longer side, then scaled back:
# a blur this wide has no detail that a smaller copy would lose, and costs a fraction of the work.
_BLUR_WORKING_SIDE = 640
# Rows composed at a time: bounds the float32 temporaries to a few MB at any width.
_BAND_ROWS = 256


def blurred(rgba: np.ndarray) -> np.ndarray:
    """(H, W, >=3) uint8 photo -> (H, W, 3) uint8, blurred with a radius of BLUR_SHARE of its longer side."""
    height, width = rgba.shape[:2]
    image = Image.fromarray(np.ascontiguousarray(rgba[..., :3]), "RGB")
    factor = max(1, max(width, height) // _BLUR_WORKING_SIDE)
    small = image.reduce(factor) if factor > 1 else image
    radius = BLUR_SHARE * max(width, height) / factor
    soft = small.filter(ImageFilter.GaussianBlur(radius))
    return np.asarray(soft.resize((width, height), Image.Resampling.BILINEAR))


def cover(rgba: np.ndarray, width: int, height: int) -> np.ndarray:
    """An (h, w, >=3) uint8 image scaled to cover width x height and cropped to it, centred -> (H, W, 3)."""
    image = Image.fromarray(np.ascontiguousarray(rgba[..., :3]), "RGB")
    return np.asarray(ImageOps.fit(image, (width, height), Image.Resampling.LANCZOS))


def place_over(rgba: np.ndarray, backdrop: np.ndarray | tuple[int, int, int]) -> np.ndarray:
    """Compose an (H, W, 4) uint8 cut-out over a backdrop ((H, W, 3) uint8, or one RGB colour), in place:
    colour = cut-out * a + backdrop * (1 - a), rounded; alpha becomes 255."""
    colour = None if isinstance(backdrop, np.ndarray) else np.asarray(backdrop, np.float32)
    for top in range(0, rgba.shape[0], _BAND_ROWS):
        rows = slice(top, top + _BAND_ROWS)
        band = rgba[rows]
        a = band[..., 3:4].astype(np.float32) / 255.0
        under = colour if colour is not None else backdrop[rows].astype(np.float32)
        mixed = band[..., :3] * a
        mixed += under * (1.0 - a)
        band[..., :3] = np.rint(mixed)
    rgba[..., 3] = 255
    return rgba
