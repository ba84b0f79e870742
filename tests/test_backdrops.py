"""New backgrounds: a colour, the photo blurred, an image scaled to cover (backdrops.py)."""
import numpy as np

from bgremove.backdrops import blurred, cover, place_over


def test_place_over_a_colour_blends_by_alpha_and_keeps_opaque_pixels():
    rgba = np.array([[[0, 0, 0, 0], [0, 0, 0, 255], [100, 0, 200, 128]]], np.uint8)
    assert place_over(rgba, (255, 255, 255)).tolist() == [[[255, 255, 255, 255], [0, 0, 0, 255], [177, 127, 227, 255]]]
    clear = np.zeros((300, 5, 4), np.uint8)  # more rows than one band
    assert np.all(place_over(clear, (30, 144, 255)) == [30, 144, 255, 255])


def test_place_over_an_image_takes_its_pixels_where_the_cut_out_is_clear():
    rng = np.random.default_rng(1)
    under = rng.integers(0, 256, (600, 40, 3), np.uint8)
    rgba = np.zeros((600, 40, 4), np.uint8)
    rgba[:, :20] = [10, 20, 30, 255]
    out = place_over(rgba, under)
    assert np.array_equal(out[:, 20:, :3], under[:, 20:]) and np.all(out[:, :20, :3] == [10, 20, 30])
    assert np.all(out[..., 3] == 255)


def test_blur_keeps_the_colours_and_loses_the_detail():
    rng = np.random.default_rng(2)
    noise = rng.integers(0, 256, (900, 1600, 4), np.uint8)
    soft = blurred(noise)
    assert soft.shape == (900, 1600, 3)
    assert abs(soft.mean() - noise[..., :3].mean()) < 2
    assert soft.std() < noise[..., :3].std() / 10


def test_cover_fills_the_frame_and_crops_the_centre():
    wide = np.zeros((100, 400, 3), np.uint8)
    wide[:, 150:250] = 255  # the centre square is white
    out = cover(wide, 50, 50)
    assert out.shape == (50, 50, 3) and out[5:45, 5:45].min() > 240, "a wide image's centre fills a square"
