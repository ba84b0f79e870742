"""Foreground colour estimation: the subject's own colour under its semi-transparent edge.

An edge pixel of the photo is I = alpha * F + (1 - alpha) * B: the subject's
colour F mixed with the old background B. Keeping I as the cut-out's colour
drags B along, a halo on any new background. Blur-fusion (Forte & Pitié,
"Approximate Fast Foreground Colour Estimation", ICIP 2021) estimates F and B
as local alpha-weighted means of the photo, then solves the compositing
equation for the residual, F = F_mean + alpha * (I - alpha * F_mean - (1 - alpha) * B_mean),
twice: with wide means, then with narrow means of that first estimate.

The wide means are smooth, so they are computed at a quarter of the
resolution; the narrow pass runs only on the tiles that hold semi-transparent
pixels near the subject's edge (its 50% contour). The cost follows the length
of that edge, not the photo's size nor how much faint haze its background has.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from . import tiles
from .filters import box_mean

RADIUS = 45       # wide pass, full-resolution pixels
FINE_RADIUS = 3   # narrow pass
SCALE = 4         # the wide means are computed at 1/SCALE resolution
TILE = 32
TILE_BATCH = 128  # tiles per step: about 20 MB of temporaries
# Below 2% alpha a pixel is all but invisible, above 98% its old background is: either way its colour
# is left as it is, and the faint noise models leave over whole backgrounds costs nothing.
VISIBLE_MIX = (0.02, 0.98)
_EPS = 1e-5


def estimate_foreground(photo: np.ndarray, alpha: np.ndarray, out: np.ndarray | None = None, radius: int = RADIUS,
                        fine_radius: int = FINE_RADIUS) -> np.ndarray:
    """Colour of the subject from a (H, W, >=3) uint8 photo and its (H, W) uint8 alpha, written into
    out[..., :3] and returned; `out` is by default a copy of the photo's colour, and may be the photo itself.

    Only pixels with alpha inside VISIBLE_MIX, on tiles along the subject's edge, change; the others keep
    the photo's colour exactly.
    """
    if out is None:
        out = np.array(photo[..., :3])
    semi = _semi_transparent(alpha)
    if not semi.any():
        return out
    chosen = tiles.from_grid(tiles.near_contour(alpha, semi, TILE), TILE, fine_radius, alpha.shape)
    del semi  # a full-size mask, not kept through the wide means' peak
    wide = _wide_means(photo, alpha, radius)
    # A batch of tiles at a time, without hundreds of MB of per-pixel temporaries at 12 megapixels; every
    # batch reads the unchanged photo (tiles overlap by their halo), so all are made before any is written.
    estimates = [(part, _estimate_tiles(photo, alpha, wide, part, fine_radius)) for part in chosen.batches(TILE_BATCH)]
    for part, estimate in estimates:
        tiles.scatter(out[..., :3], estimate, part)
    return out


def _semi_transparent(alpha: np.ndarray) -> np.ndarray:
    return (alpha > VISIBLE_MIX[0] * 255) & (alpha < VISIBLE_MIX[1] * 255)


def _estimate_tiles(photo, alpha, wide, part: tiles.Tiles, fine_radius: int) -> np.ndarray:
    """The colour estimate on these tiles, halo included: (T, n, n, 3) uint8."""
    height, width = alpha.shape
    ys, xs = tiles.pixels(part)
    ys, xs = np.broadcast_arrays(np.clip(ys, 0, height - 1), np.clip(xs, 0, width - 1))
    # The wide means are smooth over tens of pixels: the nearest quarter-resolution sample will do.
    means = wide[np.minimum(ys // SCALE, wide.shape[0] - 1), np.minimum(xs // SCALE, wide.shape[1] - 1)]
    tile_alpha = alpha[ys, xs]
    a = tile_alpha[..., None].astype(np.float32) / 255
    colour = photo[ys, xs, :3]
    image = colour.astype(np.float32) / 255
    f_wide, b_wide = _solve(image, a, means[..., :3], means[..., 3:])
    axes = (1, 2)
    mean_a = box_mean(a, fine_radius, axes)
    f_fine = box_mean(f_wide * a, fine_radius, axes) / (mean_a + _EPS)
    b_fine = box_mean(b_wide * (1 - a), fine_radius, axes) / ((1 - mean_a) + _EPS)
    f, _ = _solve(image, a, f_fine, b_fine)
    estimate = np.clip(np.rint(f * 255), 0, 255).astype(np.uint8)
    keep = ~_semi_transparent(tile_alpha)
    estimate[keep] = colour[keep]
    return estimate


def _solve(image, a, f_mean, b_mean):
    """The compositing equation solved for F around the given means; B passes through."""
    f = f_mean + a * (image - a * f_mean - (1 - a) * b_mean)
    return np.clip(f, 0, 1), b_mean


def _wide_means(photo: np.ndarray, alpha: np.ndarray, radius: int) -> np.ndarray:
    """(h, w, 6) float32 at 1/SCALE resolution, from a (H, W, >=3) uint8 photo and its uint8 alpha.

    The alpha-weighted mean colour (F), then the (1 - alpha)-weighted one (B); a channel at a time, which
    keeps the running sums' temporaries to one plane's.
    """
    small_rgb = _shrink_colour(photo)
    small_alpha = _shrink(alpha).astype(np.float32) / 255
    r = max(1, round(radius / SCALE))
    mean_alpha = box_mean(small_alpha, r)
    means = np.empty(small_alpha.shape + (6,), np.float32)
    for c in range(3):
        channel = small_rgb[..., c].astype(np.float32) / 255
        means[..., c] = box_mean(channel * small_alpha, r) / (mean_alpha + _EPS)
        means[..., 3 + c] = box_mean(channel * (1 - small_alpha), r) / ((1 - mean_alpha) + _EPS)
    return np.clip(means, 0, 1, out=means)


def _shrink(x: np.ndarray) -> np.ndarray:
    """Mean over SCALE x SCALE blocks of a uint8 image, by Pillow's reduce (C, both hosts have it)."""
    return np.asarray(Image.fromarray(x).reduce(SCALE))


def _shrink_colour(photo: np.ndarray) -> np.ndarray:
    """_shrink of a (H, W, >=3) photo's colour. An RGBA photo is read as RGBX where it lies: copying its
    colour out of the strided view takes longer than the reduction itself in wasm."""
    height, width = photo.shape[:2]
    if photo.shape[2] == 4 and photo.flags.c_contiguous:
        image = Image.frombuffer("RGBX", (width, height), photo, "raw", "RGBX", 0, 1)
    else:
        image = Image.fromarray(np.ascontiguousarray(photo[..., :3]))
    return np.asarray(image.reduce(SCALE))[..., :3]
