"""Work only where it is needed: cut an image into square tiles, keep those that touch a mask.

Refinement and colour estimation matter only along the subject's edge, a small
part of a photo. Stacking just those tiles (with a halo for the filters'
reach) into one (T, size + 2 * halo, size + 2 * halo, ...) array keeps the
work vectorised while its cost follows the edge's length, not the photo's area.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .filters import dilate


@dataclass(frozen=True)
class Tiles:
    rows: np.ndarray    # (T,) tile row indices
    cols: np.ndarray    # (T,) tile column indices
    size: int
    halo: int
    shape: tuple[int, int]  # (H, W) of the image they cover

    def __len__(self) -> int:
        return len(self.rows)

    def batches(self, count: int):
        """These tiles, at most `count` at a time: bounds the temporaries of per-pixel work."""
        for start in range(0, len(self), count):
            part = slice(start, start + count)
            yield Tiles(self.rows[part], self.cols[part], self.size, self.halo, self.shape)


def covering(mask: np.ndarray, size: int, halo: int) -> Tiles:
    """The tiles of a (H, W) bool mask that hold at least one True pixel."""
    return from_grid(hits(mask, size), size, halo, mask.shape)


def hits(mask: np.ndarray, size: int) -> np.ndarray:
    """(rows, cols) bool: which size x size tiles of a (H, W) bool mask hold at least one True pixel."""
    return _per_tile(np.logical_or, mask, size)


def _per_tile(op: np.ufunc, mask: np.ndarray, size: int) -> np.ndarray:
    """op (logical or / and) reduced over each size x size tile, the last ones cut off by the border.

    Rows first, whole tiles as a view, so that no padded copy of a 12-megapixel mask is made; the
    (rows, W) result is small enough to pad with op's identity.
    """
    height, width = mask.shape
    full = height - height % size
    across = op.reduce(mask[:full].reshape(-1, size, width), axis=1)
    if full < height:
        across = np.concatenate([across, op.reduce(mask[full:], axis=0, keepdims=True)])
    tw = -(-width // size)
    padded = np.full((len(across), tw * size), op.identity, bool)
    padded[:, :width] = across
    return op.reduce(padded.reshape(len(across), tw, size), axis=2)


def near_contour(alpha: np.ndarray, wanted: np.ndarray, size: int) -> np.ndarray:
    """(rows, cols) bool: tiles holding a `wanted` pixel within one tile of the (H, W) uint8 alpha's 50% contour.

    Refinement matters along the subject's edge. A faint haze of soft pixels far from it, which some
    photos' backgrounds get all over, would cost as much as the edge itself and hold no hair.
    """
    solid = alpha > 127
    edge = hits(solid, size) & ~_per_tile(np.logical_and, solid, size)
    return hits(wanted, size) & dilate(edge, 1)


def from_grid(hit: np.ndarray, size: int, halo: int, shape: tuple[int, int]) -> Tiles:
    """The tiles marked in a (rows, cols) bool grid, for an image of `shape` (H, W)."""
    rows, cols = np.nonzero(hit)
    return Tiles(rows, cols, size, halo, tuple(shape))


def gather(array: np.ndarray, tiles: Tiles) -> np.ndarray:
    """(H, W, ...) -> (T, size + 2 halo, size + 2 halo, ...), edges replicated outside the image."""
    size, halo = tiles.size, tiles.halo
    height, width = tiles.shape
    span = np.arange(-halo, size + halo)
    ys = np.clip(tiles.rows[:, None] * size + span, 0, height - 1)
    xs = np.clip(tiles.cols[:, None] * size + span, 0, width - 1)
    return array[ys[:, :, None], xs[:, None, :]]


def scatter(dest: np.ndarray, values: np.ndarray, tiles: Tiles) -> None:
    """Write the tiles' interiors (values: (T, size + 2 halo, ...)) back into dest (H, W, ...)."""
    size, halo = tiles.size, tiles.halo
    height, width = tiles.shape
    for i, (r, c) in enumerate(zip(tiles.rows, tiles.cols)):
        y0, x0 = r * size, c * size
        h, w = min(size, height - y0), min(size, width - x0)
        dest[y0:y0 + h, x0:x0 + w] = values[i, halo:halo + h, halo:halo + w]


def pixels(tiles: Tiles) -> tuple[np.ndarray, np.ndarray]:
    """Image coordinates (ys, xs) of every pixel of every tile, halo included: (T, n, 1) and (T, 1, n)."""
    span = np.arange(-tiles.halo, tiles.size + tiles.halo)
    ys = tiles.rows[:, None, None] * tiles.size + span[None, :, None]
    xs = tiles.cols[:, None, None] * tiles.size + span[None, None, :]
    return ys, xs
