import numpy as np

from bgremove.models import MODELS
from bgremove.postprocess import adjust_alpha, alpha_for_photo, compose, mask_from_output
from bgremove.preprocess import model_input
from bgremove.refine import settle

ISNET, U2NETP = MODELS["isnet-medium"], MODELS["u2netp"]


def test_isnet_output_is_truncated_like_a_uint8array_store():
    raw = np.zeros((1, 1, 1024, 1024), np.float32)
    raw[0, 0, 0, :5] = [0.5, 1.0, 0.999, np.nan, 0.0]
    mask = mask_from_output(raw, ISNET)
    assert mask.shape == (1024, 1024) and mask.dtype == np.uint8
    assert mask[0, :5].tolist() == [127, 255, 254, 0, 0]


def test_u2netp_output_is_min_max_stretched():
    raw = np.full((1, 1, 320, 320), 0.2, np.float32)
    raw[0, 0, 0, 0], raw[0, 0, 0, 1] = 0.6, 0.4
    mask = mask_from_output(raw, U2NETP)
    assert mask[0, 0] == 255 and mask[0, 1] == 127 and mask[5, 5] == 0


def test_constant_output_gives_empty_mask():
    assert not mask_from_output(np.full((320, 320), 3.0, np.float32), U2NETP).any()


def test_mask_is_resized_back_to_the_photo():
    rgba = np.zeros((200, 300, 4), np.uint8)
    mask = np.zeros((1024, 1024), np.uint8)
    mask[:, 512:] = 255
    full = alpha_for_photo(mask, model_input(rgba, ISNET), rgba, ISNET, "bilinear")
    assert full.shape == (200, 300) and full[0, 0] == 0 and full[0, 299] == 255


def test_letterboxed_mask_is_cropped_before_resizing():
    rgba = np.zeros((100, 300, 4), np.uint8)
    prepared = model_input(rgba, ISNET, "letterbox")
    mask = np.zeros((1024, 1024), np.uint8)
    mask[341:682, 512:] = 255  # right half of the photo's band; the padding says nothing
    full = alpha_for_photo(mask, prepared, rgba, ISNET, "bilinear")
    assert full.shape == (100, 300) and full[:, :140].max() == 0 and full[:, 160:].min() == 255


def test_guided_upsampling_snaps_the_edge_to_the_photo():
    # A 3000 px wide photo, sharp edge at column 1500; the 1024 px mask has it blurred over 4 model pixels.
    rgba = np.zeros((40, 3000, 4), np.uint8)
    rgba[:, 1500:, :3] = 255
    prepared = model_input(rgba, ISNET)
    soft = np.clip((np.arange(1024) - 510) / 4, 0, 1)
    mask = np.tile(np.rint(soft * 255).astype(np.uint8), (1024, 1))
    plain = alpha_for_photo(mask, prepared, rgba, ISNET, "bilinear")[20] / 255
    guided = alpha_for_photo(mask, prepared, rgba, ISNET, "guided")[20] / 255
    assert np.abs(np.diff(plain)).max() < 0.1, "bilinear spreads the edge over a dozen pixels"
    assert guided[1500] - guided[1499] > 0.5, "guided puts the step where the photo's edge is"
    assert guided[:1450].max() < 0.01 and guided[1550:].min() > 0.99, "away from the edge nothing changes"


def test_guided_upsampling_leaves_faint_haze_far_from_the_edge_alone():
    rgba = np.random.default_rng(3).integers(0, 256, (300, 3000, 4), dtype=np.uint8)
    prepared = model_input(rgba, ISNET, "squash")
    mask = np.zeros((1024, 1024), np.uint8)
    mask[:, :300] = 255
    # Uneven haze over the background, 400 model pixels from the subject's edge.
    mask[:, 700:] = np.random.default_rng(4).integers(10, 50, (1024, 324), dtype=np.uint8)
    plain = alpha_for_photo(mask, prepared, rgba, ISNET, "bilinear")
    guided = alpha_for_photo(mask, prepared, rgba, ISNET, "guided")
    assert np.array_equal(guided[:, 2100:], plain[:, 2100:])
    assert not np.array_equal(guided[:, 850:910], plain[:, 850:910]), "the edge itself is refined"


def test_guided_upsampling_keeps_a_sure_mask_over_a_textured_background():
    # A crisp subject edge with busy texture beside it (grass below a car): the linear model would put
    # the texture into the alpha wherever it may move the mask.
    rgba = np.random.default_rng(5).integers(0, 256, (300, 1500, 4), dtype=np.uint8)
    rgba[:, :750, :3] = (200, 200, 210)
    prepared = model_input(rgba, ISNET, "squash")
    soft = np.clip((514 - np.arange(1024)) / 4, 0, 1)
    mask = np.tile(np.rint(soft * 255).astype(np.uint8), (1024, 1))
    plain = alpha_for_photo(mask, prepared, rgba, ISNET, "bilinear")
    guided = alpha_for_photo(mask, prepared, rgba, ISNET, "guided")
    sure = (plain <= 5) | (plain >= 250)
    assert np.array_equal(guided[sure], plain[sure]), "where the mask is sure, it stands"
    assert not np.array_equal(guided[~sure], plain[~sure]), "where it is unsure, the photo decides"


def test_refinement_takes_over_along_a_ramp_where_the_mask_is_unsure():
    plain = np.array([0, 5, 15, 25, 128, 230, 240, 250, 255], np.uint8)
    assert settle(plain, np.full(9, 0.5)).tolist() == [0, 5, 71, 128, 128, 128, 184, 250, 255]


def photo():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3] = [[[10, 20, 30], [40, 50, 60]], [[70, 80, 90], [100, 110, 120]]]
    rgba[..., 3] = 255
    return rgba


def test_compose_each_output():
    mask = np.array([[0, 255], [100, 200]], np.uint8)
    fg = compose(photo(), mask, "foreground")
    assert np.array_equal(fg[..., :3], photo()[..., :3]) and fg[..., 3].tolist() == [[0, 255], [100, 200]]
    assert compose(photo(), mask, "background")[..., 3].tolist() == [[255, 0], [155, 55]]
    only_mask = compose(photo(), mask, "mask")
    assert only_mask[..., 0].tolist() == mask.tolist() and np.all(only_mask[..., 3] == 255)
    assert np.array_equal(only_mask[..., 0], only_mask[..., 2])


def test_existing_transparency_is_kept():
    rgba = photo()
    rgba[0, 1, 3] = 128
    assert compose(rgba.copy(), np.full((2, 2), 255, np.uint8), "foreground")[0, 1, 3] == 128
    assert compose(rgba.copy(), np.full((2, 2), 128, np.uint8), "foreground")[0, 1, 3] == 64


def test_sensitivity_leaves_alpha_alone_by_default_and_moves_the_edge_otherwise():
    ramp = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert np.array_equal(adjust_alpha(ramp.copy()), ramp)
    assert np.array_equal(adjust_alpha(ramp.copy(), 0.5, 1.0 - 1e-12), ramp), "the table path agrees with the shortcut"
    hard = adjust_alpha(ramp.copy(), 0.5, 0.0)
    assert set(np.unique(hard)) == {0, 255} and hard.ravel()[127] == 0 and hard.ravel()[128] == 255
    keeps_more = adjust_alpha(ramp.copy(), 0.3, 1.0)
    assert np.all(keeps_more >= ramp) and keeps_more.ravel()[77] == 128  # (77/255 - 0.3 + 0.5) * 255 = 127.5
    harder = adjust_alpha(ramp.copy(), 0.5, 0.5).ravel()
    assert harder[64] == 0 and harder[192] == 255 and harder[128] == 128  # ((128/255 - .5) / .5 + .5) * 255 = 128.5, to even
