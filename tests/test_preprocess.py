import numpy as np

from bgremove import preprocess
from bgremove.models import MODELS
from bgremove.preprocess import model_input


def input_tensor(rgba, model):
    spec = MODELS[model]
    return preprocess.tensor(model_input(rgba, spec), spec)


def test_isnet_normalisation_is_pixel_minus_128_over_256():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 0, 128, 255, 9  # alpha is ignored
    tensor = input_tensor(rgba, "isnet-medium")
    assert tensor.shape == (1, 3, 1024, 1024) and tensor.dtype == np.float32
    assert np.all(tensor[0, 0] == -0.5) and np.all(tensor[0, 1] == 0.0) and np.all(tensor[0, 2] == 0.49609375)


def test_isnet_input_is_nchw_of_the_squashed_photo():
    rgba = np.zeros((2, 8, 4), np.uint8)
    rgba[:, :4, 0] = 255  # left half red, a wide photo squashed to a square
    tensor = input_tensor(rgba, "isnet-small")
    assert np.all(tensor[0, 0, :, :384] == 127 / 256) and np.all(tensor[0, 0, :, 512:] == -0.5)
    assert np.all(tensor[0, 1:] == -0.5)


def test_u2netp_uses_imagenet_statistics_on_image_over_max():
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., :3] = 200  # max is 200, so every pixel becomes 1.0 before mean/std
    tensor = input_tensor(rgba, "u2netp")
    assert tensor.shape == (1, 3, 320, 320)
    expected = [(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225]
    np.testing.assert_allclose(tensor[0, :, 160, 160], expected, rtol=1e-6)


def test_black_image_does_not_divide_by_zero():
    tensor = input_tensor(np.zeros((5, 5, 4), np.uint8), "u2netp")
    assert np.all(np.isfinite(tensor))


def test_letterbox_keeps_the_aspect_ratio_and_pads_with_the_photo_mirrored():
    rgba = np.zeros((100, 300, 4), np.uint8)  # a 3:1 panorama, one grey level per row
    rgba[..., :3] = np.arange(100, dtype=np.uint8)[:, None, None] * 2
    prepared = model_input(rgba, MODELS["isnet-medium"], "letterbox")
    p = prepared.placement
    assert (p.x, p.y, p.width, p.height) == (0, 341, 1024, 341) and prepared.photo.shape == (341, 1024, 3)
    rows = preprocess.tensor(prepared, MODELS["isnet-medium"])[0, 0, :, 500]
    band = rows[341:682]
    np.testing.assert_array_equal(rows[341 - 1 - np.arange(341)], band, "above: the photo upside down")
    np.testing.assert_array_equal(rows[682:][:341], band[::-1], "below: likewise")


def test_fit_keeps_the_aspect_ratio_up_to_a_four_to_three_stretch():
    panorama = model_input(np.zeros((600, 2400, 4), np.uint8), MODELS["isnet-medium"], "fit").placement
    assert (panorama.x, panorama.y, panorama.width, panorama.height) == (0, 128, 1024, 768), "4:1 is stretched 3x, not 4x"
    portrait = model_input(np.zeros((1280, 960, 4), np.uint8), MODELS["isnet-medium"], "fit").placement
    assert (portrait.x, portrait.width, portrait.height) == (128, 768, 1024), "3:4 is not squashed"
