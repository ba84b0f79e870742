import numpy as np

from bgremove.foreground import estimate_foreground


def test_removes_the_old_background_from_semi_transparent_pixels():
    # A red subject with a soft edge over a green background: I = a * red + (1 - a) * green.
    height, width = 64, 200
    alpha = np.clip((np.arange(width) - 80) / 40, 0, 1)[None, :].repeat(height, 0).astype(np.float32)
    red, green = np.array([220, 30, 30], np.float32), np.array([20, 200, 40], np.float32)
    photo = np.rint(alpha[..., None] * red + (1 - alpha[..., None]) * green).astype(np.uint8)
    estimate = estimate_foreground(photo, np.rint(alpha * 255).astype(np.uint8))
    semi = (alpha > 0.1) & (alpha < 0.9)
    before = np.abs(photo[semi].astype(float) - red).mean()
    after = np.abs(estimate[semi].astype(float) - red).mean()
    assert after < 0.3 * before, (before, after)
    solid = alpha == 1
    assert np.array_equal(estimate[solid], photo[solid]), "opaque pixels keep their colour"
    assert np.array_equal(estimate[alpha == 0], photo[alpha == 0])


def test_nothing_to_do_without_semi_transparency():
    photo = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    alpha = np.zeros((20, 30), np.uint8)
    alpha[:, 15:] = 255
    assert np.array_equal(estimate_foreground(photo, alpha), photo)


def test_faint_haze_far_from_the_subject_keeps_its_colour():
    # A soft edge at column 80..120, and a model's 20% haze over the background from column 300 on.
    height, width = 64, 400
    alpha = np.clip((np.arange(width) - 80) / 40, 0, 1)[None, :].repeat(height, 0)
    alpha = 1 - alpha
    alpha[:, 300:] = 0.2
    photo = np.random.default_rng(2).integers(0, 256, (height, width, 3), dtype=np.uint8)
    estimate = estimate_foreground(photo, np.rint(alpha * 255).astype(np.uint8))
    assert np.array_equal(estimate[:, 300:], photo[:, 300:]), "only tiles along the 50% contour are estimated"
    assert not np.array_equal(estimate[:, 80:120], photo[:, 80:120])
