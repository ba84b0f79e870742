"""Image and mask resizing, vectorised over NumPy arrays.

`bilinear_resize` is the reference pipeline's own resampler, reproduced to the
bit so that the "squash" path gives the same alpha as @imgly/background-removal.
`lanczos_resize` is rembg's (Pillow's Lanczos), used by the u2net family.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

# Destination values blended per step: bounds the float64 temporaries to a few MB each.
_CHUNK_VALUES = 1 << 16


def bilinear_resize(image: np.ndarray, width: int, height: int, channels: int | None = None) -> np.ndarray:
    """Resize a uint8 image (H, W) or (H, W, C) to (height, width[, channels]).

    Exactly @imgly/background-removal's `tensorResizeBilinear`: destination
    pixel (x, y) samples the source at (x * W / width, y * H / height), corner
    aligned with no half-pixel shift, blends the floor and ceil neighbours
    (clamped to the image) in float64 in the same order of operations, and
    rounds half up. `channels` keeps the first few: pass an RGBA photo whole
    with channels=3 rather than its RGB view, and its pixels move as one
    32-bit word each instead of being copied into words first.
    """
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"expected uint8 (H, W) or (H, W, C), got {image.dtype} {image.shape}")
    src_h, src_w = image.shape[:2]
    x1, x2, dx = _taps(src_w, width)
    y1, y2, dy = _taps(src_h, height)
    if image.ndim == 2:
        return _resize_mask(image, y1, y2, dy, x1, x2, dx)
    channels = image.shape[2] if channels is None else channels
    pixels = _pixel_words(image)
    out = np.empty((height, width, channels), np.uint8)
    step = max(1, _CHUNK_VALUES // width)
    for r0 in range(0, height, step):
        rows = slice(r0, min(height, r0 + step))
        samples = [_pixel_bytes(gather_sorted(pixels, y[rows], x)) for y in (y1, y2) for x in (x1, x2)]
        weights = _weights(dx[None, :], dy[rows, None])
        # One channel at a time: weights shared over a short channel axis make NumPy loop over runs of 3.
        for c in range(channels):
            out[rows, :, c] = _mix([s[..., c] for s in samples], weights)
    return out


def _resize_mask(mask, y1, y2, dy, x1, x2, dx) -> np.ndarray:
    """bilinear_resize of a (H, W) mask, blending only where a cell's four samples differ.

    Where they are equal the reference's weights sum to 1 within a few ulps, so
    it rounds to that value: a mask is flat almost everywhere, and a
    12-megapixel upsample is then mostly copying. A band of rows at a time, so
    that the indices and weights of the blended pixels stay a few MB.
    """
    out = gather_sorted(mask, y1, x1)
    for ys, xs in pixels_where(~_flat_cells(mask), y1, x1):
        ya, yb, xa, xb = y1[ys], y2[ys], x1[xs], x2[xs]
        out[ys, xs] = _mix([mask[ya, xa], mask[ya, xb], mask[yb, xa], mask[yb, xb]], _weights(dx[xs], dy[ys]))
    return out


def _weights(dx, dy) -> tuple:
    """The four samples' weights, as the reference computes them."""
    wx0, wy0 = 1 - dx, 1 - dy
    return wx0 * wy0, dx * wy0, wx0 * dy, dx * dy


def _mix(samples, weights) -> np.ndarray:
    """w1 p1 + w2 p2 + w3 p3 + w4 p4 + 0.5, floored, in the reference's order of operations (float64)."""
    value = weights[0] * samples[0]
    for weight, sample in zip(weights[1:], samples[1:]):
        value += weight * sample
    value += 0.5
    return np.floor(value, out=value)


def gather_sorted(image: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """image[y][:, x] for non-decreasing index arrays (a nearest-neighbour resize, the taps of a bilinear one).

    np.repeat copies runs where fancy indexing and np.take look up every element (several times faster
    in wasm), along the shrinking axis first so that the other has less to copy.
    """
    def rows(a):
        return np.repeat(a, np.bincount(y, minlength=image.shape[0]), axis=0)

    def columns(a):
        return np.repeat(a, np.bincount(x, minlength=image.shape[1]), axis=1)

    return columns(rows(image)) if len(y) * image.shape[1] < len(x) * image.shape[0] else rows(columns(image))


def pixels_where(marks: np.ndarray, y: np.ndarray, x: np.ndarray, band_values: int = _CHUNK_VALUES):
    """The destination pixels (ys, xs) whose source cell (y[ys], x[xs]) is set in the bool `marks`, for
    non-decreasing y and x: yielded a band of rows at a time, so that no full-size mask or index array is
    made. 1-D nonzero: several times faster than 2-D at 12 MP."""
    step = max(1, band_values // len(x))
    for r0 in range(0, len(y), step):
        rows = y[r0:r0 + step]
        # Only the source rows this band reads take part: the whole image's would, with their counts at zero.
        ys, xs = np.divmod(np.flatnonzero(gather_sorted(marks[rows[0]:rows[-1] + 1], rows - rows[0], x)), len(x))
        if ys.size:
            yield ys + r0, xs


def _pixel_words(image: np.ndarray) -> np.ndarray:
    """(H, W, C) uint8 as (H, W) words of 1, 2, 4 or 8 bytes, one per pixel (padded when C is not one of
    those, or the pixels are strided), so that gathers move pixels rather than bytes."""
    size = next((n for n in (1, 2, 4, 8) if n >= image.shape[2]), None)
    if size is None:
        return image  # wider than a word: gathered as (H, W, C)
    if size != image.shape[2] or not image.flags.c_contiguous:
        padded = np.zeros(image.shape[:2] + (size,), np.uint8)
        padded[..., :image.shape[2]] = image
        image = padded
    return image.view(f"u{size}")[..., 0]


def _pixel_bytes(words: np.ndarray) -> np.ndarray:
    """_pixel_words' gathered words back as (rows, W, word size) bytes."""
    return words.view(np.uint8).reshape(words.shape + (words.itemsize,)) if words.ndim == 2 else words


def _flat_cells(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool: the 2x2 cell from (y, x), clamped at the borders, holds one value."""
    below = mask[np.minimum(np.arange(1, mask.shape[0] + 1), mask.shape[0] - 1)]
    right = np.minimum(np.arange(1, mask.shape[1] + 1), mask.shape[1] - 1)
    return (mask == mask[:, right]) & (mask == below) & (below == below[:, right])


def _taps(src: int, dst: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each destination index's lower and upper source index (non-decreasing) and the fraction between."""
    position = np.arange(dst, dtype=np.float64) * (src / dst)
    lower = np.maximum(np.floor(position), 0)
    upper = np.minimum(np.ceil(position), src - 1)
    return lower.astype(np.intp), upper.astype(np.intp), position - lower


def lanczos_resize(image: np.ndarray, width: int, height: int, channels: int | None = None) -> np.ndarray:
    """Resize a uint8 (H, W) or (H, W, 3) image (or an (H, W, C) one's first `channels`) with Pillow's Lanczos
    filter, as rembg does."""
    if channels is not None:
        image = image[..., :channels]
    return np.array(Image.fromarray(np.ascontiguousarray(image)).resize((width, height), Image.Resampling.LANCZOS))


def resize(image: np.ndarray, width: int, height: int, method: str, channels: int | None = None) -> np.ndarray:
    if method == "bilinear":
        return bilinear_resize(image, width, height, channels)
    if method == "lanczos":
        return lanczos_resize(image, width, height, channels)
    raise ValueError(f"unknown resize method {method!r}")
