import numpy as np
import pytest

from bgremove import tiles
from bgremove.filters import box_mean, dilate, erode


def brute_box_mean(x, r):
    out = np.zeros(x.shape, np.float64)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = x[max(0, i - r):i + r + 1, max(0, j - r):j + r + 1].mean(axis=(0, 1))
    return out


@pytest.mark.parametrize("shape,radius", [((9, 13), 2), ((30, 20, 3), 4), ((300, 7), 1), ((5, 5), 9)])
def test_box_mean_is_the_windowed_mean(shape, radius):
    x = np.random.default_rng(radius).random(shape).astype(np.float32)
    np.testing.assert_allclose(box_mean(x, radius), brute_box_mean(x, radius), atol=2e-6)


def test_box_mean_on_stacked_tiles_filters_each_tile_alone():
    x = np.random.default_rng(3).random((4, 11, 12, 2)).astype(np.float32)
    stacked = box_mean(x, 2, axes=(1, 2))
    for t in range(4):
        np.testing.assert_allclose(stacked[t], brute_box_mean(x[t], 2), atol=2e-6)


def test_dilate_and_erode_by_hand():
    mask = np.zeros((7, 7), bool)
    mask[3, 3] = True
    assert dilate(mask, 1).sum() == 9 and dilate(mask, 2)[1:6, 1:6].all()
    assert erode(dilate(mask, 2), 2).sum() == 1


def test_tiles_cover_the_mask_and_round_trip():
    mask = np.zeros((70, 100), bool)
    mask[5, 5] = mask[65, 95] = True
    cover = tiles.covering(mask, 32, 3)
    assert sorted(zip(cover.rows.tolist(), cover.cols.tolist())) == [(0, 0), (2, 2)]
    image = np.arange(70 * 100, dtype=np.float32).reshape(70, 100)
    stacked = tiles.gather(image, cover)
    assert stacked.shape == (2, 38, 38)
    assert stacked[0, 3, 3] == image[0, 0] and stacked[0, 0, 0] == image[0, 0], "edges replicate"
    ys, xs = tiles.pixels(cover)
    assert stacked[1, 5, 7] == image[ys[1, 5, 0], xs[1, 0, 7]] == image[66, 68]
    out = np.zeros_like(image)
    tiles.scatter(out, stacked, cover)
    assert np.array_equal(out[:32, :32], image[:32, :32]) and np.array_equal(out[64:, 64:96], image[64:, 64:96])
    assert out[40, 40] == 0, "untouched outside the tiles"


def test_near_contour_keeps_wanted_tiles_within_one_tile_of_the_50_percent_edge():
    alpha = np.zeros((64, 256), np.uint8)
    alpha[:, :40] = 255          # the subject's edge runs down tile column 1
    wanted = np.ones(alpha.shape, bool)
    wanted[:, 64:96] = False     # nothing to do in tile column 2
    near = tiles.near_contour(alpha, wanted, 32)
    assert near.shape == (2, 8)
    assert near[:, :2].all() and not near[:, 2:].any(), "column 0 and 1 near; 2 unwanted; 3 on, too far"
