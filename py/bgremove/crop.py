"""The crop pass: when the subject fills little of the photo, look at it up close.

The model sees every photo at its fixed input size, so a small subject gets
few of its pixels. Running it on the subject's box (plus a margin) gives that
subject the model's whole resolution. The box comes from a quick first look by
a small model (LOCATOR, a tenth of IS-Net's inference time), so that the crop
pass costs about one inference of the model proper, not two; outside the box
the locator's answer stands.
"""
from __future__ import annotations

import numpy as np

LOCATOR = "u2netp"
MARGIN = 0.3     # added on each side, as a share of the box's own size: the model needs context
MAX_AREA = 0.25  # boxes covering more of the photo than this gain too little from a second look
MIN_SIDE = 32    # pixels: smaller boxes are noise, not a subject


def subject_box(alpha: np.ndarray, threshold: float = 0.5) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) of the subject in a (H, W) uint8 alpha, with margin; None when a closer look would not help."""
    solid = alpha > threshold * 255
    rows, cols = np.flatnonzero(solid.any(axis=1)), np.flatnonzero(solid.any(axis=0))
    if rows.size == 0:
        return None
    height, width = alpha.shape
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    dy, dx = round((y1 - y0) * MARGIN), round((x1 - x0) * MARGIN)
    y0, y1 = max(0, y0 - dy), min(height, y1 + dy)
    x0, x1 = max(0, x0 - dx), min(width, x1 + dx)
    if (y1 - y0) * (x1 - x0) > MAX_AREA * height * width or min(y1 - y0, x1 - x0) < MIN_SIDE:
        return None
    return int(y0), int(y1), int(x0), int(x1)


def paste(alpha: np.ndarray, inner: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The locator's (H, W) alpha with the box replaced by the close look's `inner`."""
    y0, y1, x0, x1 = box
    out = alpha.copy()
    out[y0:y1, x0:x1] = inner
    return out
