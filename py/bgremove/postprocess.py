"""From the model's raw output to the final RGBA image: mask, alpha at full size, colour, outputs."""
from __future__ import annotations

import numpy as np

from .foreground import estimate_foreground
from .matting import matte_in_band
from .models import ModelSpec
from .preprocess import ModelInput
from .refine import refine_in_band
from .resize import resize

OUTPUTS = ("foreground", "background", "mask")
# How the uncertain band of the plainly resized mask is re-estimated from the full-size photo.
REFINE_METHODS = ("none", "guided", "matting")
# The colour of semi-transparent edge pixels: the photo's own, or the subject's estimated colour.
EDGE_COLOURS = ("photo", "estimate")


def mask_from_output(raw: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Raw model output (any shape holding S*S floats) -> (S, S) uint8 mask.

    As the references do: min-max stretch when `spec.minmax_output` (rembg),
    then value * 255 truncated, like a store into a JS Uint8Array; NaN becomes 0.
    """
    m = np.asarray(raw, dtype=np.float32).reshape(spec.size, spec.size)
    if spec.minmax_output:
        lo, hi = m.min(), m.max()
        m = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
    scaled = m.astype(np.float64)
    scaled *= 255.0
    np.nan_to_num(scaled, copy=False, nan=0.0)
    return np.clip(np.trunc(scaled, out=scaled), 0, 255, out=scaled).astype(np.uint8)


def alpha_for_photo(mask: np.ndarray, model_input: ModelInput, rgba: np.ndarray, spec: ModelSpec,
                    refine: str) -> np.ndarray:
    """(S, S) uint8 mask -> (H, W) uint8 alpha for the (H, W, 4) photo.

    The photo's part of the square is cropped out and brought to full size with
    the model's own resampler (the reference pipeline, to the bit in squash
    mode), then refined as `refine` says (see refine_alpha).
    """
    height, width = rgba.shape[:2]
    # uint8 from here on: a quarter of float32's memory and passes at 12 megapixels.
    alpha = resize(_photo_part(mask, model_input), width, height, spec.resize)
    return refine_alpha(alpha, mask, model_input, rgba, refine)


def refine_alpha(alpha: np.ndarray, mask: np.ndarray, model_input: ModelInput, rgba: np.ndarray,
                 refine: str) -> np.ndarray:
    """The plainly resized alpha's uncertain band re-estimated from the photo itself: with a guided
    filter ("guided"), then by solving closed-form matting there ("matting"), or not at all ("none").

    The matting solve starts from the guided estimate, its prior: on both evaluation sets that gave a
    lower edge-band MAE than the plain mask as prior, on every kind of subject (docs/eval.md).
    """
    if refine in ("guided", "matting"):
        alpha = refine_in_band(alpha, _photo_part(mask, model_input).astype(np.float32) / 255,
                               model_input.photo, rgba)
    if refine == "matting":
        alpha = matte_in_band(alpha, rgba)
    return alpha


def _photo_part(mask: np.ndarray, model_input: ModelInput) -> np.ndarray:
    p = model_input.placement
    return mask[p.y:p.y + p.height, p.x:p.x + p.width]


def compose(rgba: np.ndarray, mask: np.ndarray, output: str, edge_colour: str = "photo") -> np.ndarray:
    """Apply a (H, W) uint8 mask to an (H, W, 4) uint8 photo, in place: `rgba` becomes the result.

    foreground: the photo's colour (or with edge_colour="estimate", the subject's
    own colour where the old background showed through its edge) with
    alpha = mask, times any alpha the photo had; background: the photo with the
    mask inverted; mask: the mask as opaque grey. In place because at 12
    megapixels a copy of the photo is 48 MB of wasm memory that never shrinks.
    """
    if output == "mask":
        rgba[..., :3] = mask[..., None]
        rgba[..., 3] = 255
        return rgba
    if output == "foreground" and edge_colour == "estimate":
        estimate_foreground(rgba, mask, out=rgba)
    alpha = mask if output == "foreground" else 255 - mask
    if rgba[..., 3].min() < 255:
        alpha = alpha.astype(np.uint16)  # one temporary, worked on in place
        alpha *= rgba[..., 3]
        alpha += 127
        alpha //= 255
    rgba[..., 3] = alpha
    return rgba


def black_where_clear(rgba: np.ndarray) -> np.ndarray:
    """Colour set to black, in place, where alpha is 0: unseen there, and left as the photo's it made a
    12 MP cut-out's PNG three times larger (our encoders store colour as it is, not premultiplied)."""
    rgba[..., :3] *= rgba[..., 3:] != 0
    return rgba


def adjust_alpha(alpha: np.ndarray, threshold: float = 0.5, softness: float = 1.0) -> np.ndarray:
    """The user's sensitivity control on a (H, W) uint8 alpha, in place: a = clip((a - threshold) / softness
    + 0.5, 0, 1), values in 0..1. threshold moves where the edge falls (lower keeps more of the subject),
    softness < 1 makes it harder, 0 cuts hard at the threshold. The defaults leave alpha as it is."""
    if threshold == 0.5 and softness == 1.0:
        return alpha
    levels = np.arange(256, dtype=np.float64) / 255
    if softness > 0:
        curve = (levels - threshold) / softness + 0.5
    else:
        curve = (levels >= threshold).astype(np.float64)
    table = np.rint(np.clip(curve, 0, 1) * 255).astype(np.uint8)
    alpha[...] = table[alpha]  # a 256-entry lookup: no float copy of a 12 MP alpha
    return alpha
