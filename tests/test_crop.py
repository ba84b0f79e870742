import numpy as np

from bgremove import crop


def test_a_small_subject_gets_a_box_with_margin():
    alpha = np.zeros((400, 800), np.uint8)
    alpha[100:200, 300:400] = 255  # 100 x 100 of 400 x 800
    assert crop.subject_box(alpha) == (70, 230, 270, 430)


def test_large_missing_or_tiny_subjects_get_no_second_pass():
    big = np.zeros((100, 100), np.uint8)
    big[10:90, 10:90] = 255
    tiny = np.zeros((1000, 1000), np.uint8)
    tiny[500:510, 500:510] = 255
    assert crop.subject_box(big) is None
    assert crop.subject_box(np.zeros((50, 50), np.uint8)) is None
    assert crop.subject_box(tiny) is None


def test_paste_replaces_only_the_box():
    alpha = np.full((10, 10), 0.25, np.float32)
    out = crop.paste(alpha, np.ones((4, 3), np.float32), (2, 6, 5, 8))
    assert out[2:6, 5:8].min() == 1 and out.sum() == 12 + 0.25 * 88 and alpha.max() == 0.25
