"""PNG's filtered scanlines (png_rows.py): undoing the "up" filter gives the image back, band after band."""
import numpy as np

from bgremove import png_rows


def test_scanlines_are_the_rows_filtered_up_and_cover_the_image_once():
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (1000, 601, 4), np.uint8)  # several bands, an odd width
    stride = 601 * 4 + 1
    data = np.empty(1000 * stride, np.uint8)
    offsets = []
    for offset, band in png_rows.scanlines(rgba):
        offsets.append(offset)
        data[offset:offset + band.size] = band.ravel()
    assert len(offsets) > 1 and offsets == sorted(offsets) and offsets[0] == 0
    rows = data.reshape(1000, stride)
    assert np.all(rows[:, 0] == png_rows.UP)
    undone = np.cumsum(rows[:, 1:], axis=0, dtype=np.uint64) % 256  # each byte plus every byte above it
    assert np.array_equal(undone.astype(np.uint8).reshape(1000, 601, 4), rgba)
