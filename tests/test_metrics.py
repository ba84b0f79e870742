import numpy as np
import pytest

from tools import metrics


def square(size=40, lo=10, hi=30):
    alpha = np.zeros((size, size), np.float32)
    alpha[lo:hi, lo:hi] = 1
    return alpha


def test_perfect_prediction_scores_zero():
    truth = square()
    scores = metrics.all_metrics(truth, truth)
    assert scores == {"mae": 0, "mse": 0, "sad": 0, "grad": 0, "edge_mae": 0, "iou": 1}


def test_known_answers_for_a_shifted_square():
    truth, shifted = square(), np.roll(square(), 2, axis=1)  # 2 columns of 20 px wrong on each side
    wrong = 2 * 2 * 20
    assert metrics.sad(shifted, truth) == pytest.approx(wrong / 1000)
    assert metrics.mae(shifted, truth) == pytest.approx(wrong / 1600)
    assert metrics.mse(shifted, truth) == pytest.approx(wrong / 1600)
    assert metrics.iou(shifted, truth) == pytest.approx(360 / 440)
    band = metrics.edge_band(truth, radius=3)
    assert metrics.edge_mae(shifted, truth, radius=3) == pytest.approx(wrong / band.sum())
    assert metrics.gradient_error(shifted, truth) > 0


def test_edge_band_follows_the_true_edge():
    band = metrics.edge_band(square(), radius=2)
    assert band[10, 20] and band[8, 20] and band[12, 20] and not band[20, 20] and not band[2, 2]


def test_colour_error_weighs_semi_transparent_pixels_by_alpha():
    truth = np.array([[0.0, 0.5, 1.0, 0.25]], np.float32)
    true_colour = np.zeros((1, 4, 3), np.uint8)
    rgb = np.zeros((1, 4, 3), np.uint8)
    rgb[0, 1] = 51      # 0.2 off, at alpha 0.5
    rgb[0, 3] = 102     # 0.4 off, at alpha 0.25
    rgb[0, 0] = rgb[0, 2] = 255  # not semi-transparent: ignored
    expected = (0.5 * 0.2 + 0.25 * 0.4) / 0.75
    assert metrics.colour_error(rgb, true_colour, truth) == pytest.approx(expected)


def test_gradient_magnitude_of_a_ramp_is_its_slope():
    ramp = np.tile(np.arange(40, dtype=np.float64) * 0.01, (40, 1))
    assert metrics.gaussian_gradient_magnitude(ramp, 1.4)[20, 20] == pytest.approx(0.01, rel=1e-6)
