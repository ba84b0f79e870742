import numpy as np

from bgremove.filters import box_mean
from bgremove.matting import matte_in_band


def composite(truth: np.ndarray, subject=(230, 40, 30), backdrop=(20, 60, 220)) -> np.ndarray:
    """A photo whose alpha is exactly `truth` (0..1): one subject colour over one backdrop colour."""
    a = truth[..., None]
    rgb = a * np.asarray(subject, np.float32) + (1 - a) * np.asarray(backdrop, np.float32)
    return np.rint(rgb).astype(np.uint8)


def wisps(shape=(200, 300)) -> np.ndarray:
    """True alpha: a solid disc with fine semi-transparent strands around it, like hair."""
    ys, xs = np.mgrid[:shape[0], :shape[1]].astype(np.float32)
    radius = np.hypot(ys - 100, xs - 150)
    strands = 0.5 + 0.5 * np.sin(np.arctan2(ys - 100, xs - 150) * 40)
    return np.where(radius < 60, 1.0, np.clip((80 - radius) / 20, 0, 1) * strands).astype(np.float32)


def blurred(truth: np.ndarray, radius: int = 6) -> np.ndarray:
    """What a low-resolution model gives: the truth with its detail smoothed away, as uint8."""
    return np.rint(box_mean(box_mean(truth, radius), radius) * 255).astype(np.uint8)


def test_matting_recovers_strands_the_mask_blurred_away():
    truth = wisps()
    mask = blurred(truth)
    matted = matte_in_band(mask, composite(truth))
    band = (mask > 5) & (mask < 250)
    before = np.abs(mask / 255 - truth)[band].mean()
    after = np.abs(matted / 255 - truth)[band].mean()
    assert after < 0.8 * before, (before, after)


def test_only_the_soft_band_changes():
    truth = wisps()
    mask = blurred(truth)
    matted = matte_in_band(mask, composite(truth))
    soft = (mask > 5) & (mask < 250)
    assert np.array_equal(matted[~soft], mask[~soft]), "where the mask is sure, it stands"
    assert not np.array_equal(matted[soft], mask[soft])


def test_a_sure_edge_over_a_textured_background_keeps_the_mask():
    # A crisp subject edge with busy texture beside it (grass below a car): the solve would copy the
    # texture into the alpha wherever it may move the mask.
    photo = np.random.default_rng(2).integers(0, 256, (120, 200, 3), dtype=np.uint8)
    photo[:, :100] = (200, 200, 210)
    mask = np.zeros((120, 200), np.uint8)
    mask[:, :100] = 255
    mask[:, 98:102] = [230, 160, 90, 25]  # the model's edge, soft over a few pixels
    matted = matte_in_band(mask, photo)
    sure = (mask <= 5) | (mask >= 250)
    assert np.array_equal(matted[sure], mask[sure])
    assert not np.array_equal(matted, mask)


def test_where_colours_say_nothing_the_mask_stands():
    truth = wisps()
    mask = blurred(truth)
    grey = np.full(truth.shape + (3,), 128, np.uint8)  # subject and backdrop alike
    matted = matte_in_band(mask, grey)
    assert np.abs(matted.astype(int) - mask).max() <= 1


def test_a_hard_mask_is_returned_unchanged():
    mask = np.zeros((50, 70), np.uint8)
    mask[10:30, 20:40] = 255
    photo = np.random.default_rng(0).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    matted = matte_in_band(mask, photo)
    assert np.array_equal(matted, mask) and matted is not mask


def test_faint_haze_far_from_the_edge_is_left_alone():
    truth = wisps((200, 500))
    mask = blurred(truth)
    mask[:, 350:] = 20  # a model's faint haze over part of the background, far from the subject
    photo = composite(truth)
    photo[:, 350:] = np.random.default_rng(1).integers(0, 256, (200, 150, 3), dtype=np.uint8)
    matted = matte_in_band(mask, photo)
    assert np.array_equal(matted[:, 400:], mask[:, 400:]), "only tiles near the 50% contour are solved"
    assert not np.array_equal(matted[:, :300], mask[:, :300])
