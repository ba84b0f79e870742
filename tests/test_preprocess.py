import numpy as np

from bgremove.models import MODELS
from bgremove.preprocess import model_input


def test_isnet_normalisation_is_pixel_minus_128_over_256():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 0, 128, 255, 9  # alpha is ignored
    tensor = model_input(rgba, MODELS["isnet-medium"])
    assert tensor.shape == (1, 3, 1024, 1024) and tensor.dtype == np.float32
    assert np.all(tensor[0, 0] == -0.5) and np.all(tensor[0, 1] == 0.0) and np.all(tensor[0, 2] == 0.49609375)


def test_isnet_input_is_nchw_of_the_squashed_photo():
    rgba = np.zeros((2, 8, 4), np.uint8)
    rgba[:, :4, 0] = 255  # left half red, a wide photo squashed to a square
    tensor = model_input(rgba, MODELS["isnet-small"])
    assert np.all(tensor[0, 0, :, :384] == 127 / 256) and np.all(tensor[0, 0, :, 512:] == -0.5)
    assert np.all(tensor[0, 1:] == -0.5)


def test_u2netp_uses_imagenet_statistics_on_image_over_max():
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., :3] = 200  # max is 200, so every pixel becomes 1.0 before mean/std
    tensor = model_input(rgba, MODELS["u2netp"])
    assert tensor.shape == (1, 3, 320, 320)
    expected = [(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225]
    np.testing.assert_allclose(tensor[0, :, 160, 160], expected, rtol=1e-6)


def test_black_image_does_not_divide_by_zero():
    tensor = model_input(np.zeros((5, 5, 4), np.uint8), MODELS["u2netp"])
    assert np.all(np.isfinite(tensor))
