"""Matting in the uncertain band: alpha re-solved from the photo's colours where the mask is unsure.

Closed-form matting (Levin, Lischinski & Weiss, "A Closed-Form Solution to
Natural Image Matting", 2008) finds the alpha that is locally a linear function
of colour everywhere, alpha ~ a . I + b, by minimising alpha' L alpha with the
matting Laplacian L. With the large-kernel formulation (He, Sun & Tang, "Fast
Matting Using Large Kernel Matting Laplacian Matrices", 2010) L p is, up to a
constant, p minus the guided filter of p: one product costs a few box filters
and no sparse matrix, so conjugate gradients solve the system in plain NumPy.

The trimap comes from the mask (postprocess gives the guided filter's): its
soft part, grown by GROW pixels, is unknown; elsewhere alpha is pinned to the
mask. The solution is kept only where the mask itself is unsure
(refine.settle): the margin gives the solve room, and a sure mask stands.
Unknown pixels are also pulled towards the mask: gently where their window's
colours vary, firmly where the window is flat and its colours cannot tell
subject from background, so the solve does not smooth away what the network saw
there. The solve runs on the tiles along the edge only (those within a tile of
the mask's 50% contour), each tile on its own with a halo of context, for a few
steps only (fewer when the edges are long: WORK caps the total), so its cost
follows the edges' length, not the photo's size, and stays bounded.
"""
from __future__ import annotations

import numpy as np

from . import tiles
from .filters import dilate
from .refine import SOFT, LocalLinearModel, settle

RADIUS = 5          # window half-size, full-resolution pixels
EPS = 1e-4          # the windows' regulariser, as in the guided filter
GROW = 3            # pixels added around the mask's soft part to make the unknown region
PIN = 100.0         # weight holding known pixels to the mask
PRIOR = 0.1         # weight pulling unknown pixels towards the mask
FLAT = 1e-4         # colour variance below which a window says little, and the mask is held harder
ITERATIONS = 8      # conjugate-gradient steps: started from the mask, most of the gain comes early
# Tile-steps per photo (a 12 MP portrait's edge needs about 4,000): past that, fewer steps per tile,
# down to MIN_ITERATIONS, so a mask with edges all over a busy background costs about what a portrait's does.
WORK = 4000
MIN_ITERATIONS = 2
TILE = 32           # small tiles follow a thin edge closely: the solve's cost is its tiles' area
HALO = 8            # context around each tile, most of a window's reach
TILE_BATCH = 128    # tiles per step: about 35 MB of temporaries


def matte_in_band(alpha: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """Re-solve a (H, W) uint8 alpha where it is soft, from a (H, W, >=3) uint8 photo; returns a new array."""
    soft = (alpha > SOFT[0]) & (alpha < SOFT[1])
    out = alpha.copy()
    if not soft.any():
        return out
    chosen = tiles.from_grid(tiles.near_contour(alpha, soft, TILE), TILE, HALO, alpha.shape)
    iterations = max(MIN_ITERATIONS, min(ITERATIONS, WORK // max(1, len(chosen))))
    for part in chosen.batches(TILE_BATCH):
        # Gathered from the unchanged input, so no tile sees another's result.
        tile_alpha = tiles.gather(alpha, part)
        unknown = dilate(tiles.gather(soft, part), GROW, (1, 2))
        model = LocalLinearModel(tiles.gather(photo[..., :3], part), RADIUS, EPS, (1, 2))
        prior = PRIOR + PIN * FLAT / (FLAT + model.variance)
        solved = _solve(model, tile_alpha.astype(np.float32) / 255, np.where(unknown, prior, PIN).astype(np.float32),
                        iterations)
        tiles.scatter(out, settle(tile_alpha, solved), part)
    return out


def _solve(model: LocalLinearModel, prior: np.ndarray, weight: np.ndarray, iterations: int) -> np.ndarray:
    """(L + W) x = W prior for a stack of tiles (T, n, n), each its own system; W = diag(weight).

    L here is Levin et al.'s Laplacian over each pixel's window count, which the tile's border rows make
    slightly unsymmetric; conjugate gradients still converge on it (tests/test_known_answers.py)."""
    def apply(p):
        return p - model.filter(p) + weight * p

    def per_tile(x):
        return x.sum(axis=(1, 2), keepdims=True)

    x = prior.copy()
    residual = weight * prior - apply(x)
    direction = residual.copy()
    norm = per_tile(residual * residual)
    for _ in range(iterations):
        product = apply(direction)
        # A converged tile has a zero direction: its step is 0, not 0 / 0.
        step = norm / np.maximum(per_tile(direction * product), 1e-30)
        x += step * direction
        residual -= step * product
        new_norm = per_tile(residual * residual)
        direction = residual + (new_norm / np.maximum(norm, 1e-30)) * direction
        norm = new_norm
    return x
