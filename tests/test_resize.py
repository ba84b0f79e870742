import numpy as np
import pytest

from bgremove.resize import bilinear_resize, lanczos_resize


def reference_bilinear(image, width, height):
    """A line-by-line port of @imgly/background-removal's tensorResizeBilinear loop."""
    src_h, src_w, channels = image.shape
    scale_x, scale_y = src_w / width, src_h / height
    out = np.zeros((height, width, channels), np.uint8)
    for y in range(height):
        for x in range(width):
            src_x, src_y = x * scale_x, y * scale_y
            x1, x2 = max(int(np.floor(src_x)), 0), min(int(np.ceil(src_x)), src_w - 1)
            y1, y2 = max(int(np.floor(src_y)), 0), min(int(np.ceil(src_y)), src_h - 1)
            dx, dy = src_x - x1, src_y - y1
            for c in range(channels):
                p1, p2 = float(image[y1, x1, c]), float(image[y1, x2, c])
                p3, p4 = float(image[y2, x1, c]), float(image[y2, x2, c])
                value = (1 - dx) * (1 - dy) * p1 + dx * (1 - dy) * p2 + (1 - dx) * dy * p3 + dx * dy * p4
                out[y, x, c] = np.floor(value + 0.5)  # Math.round
    return out


def test_upscale_by_hand():
    src = np.array([[0, 100], [200, 255]], np.uint8)
    # Corner-aligned sampling at 0, .5, 1, 1.5: the last column and row repeat the edge.
    assert bilinear_resize(src, 4, 4).tolist() == [
        [0, 50, 100, 100],
        [100, 139, 178, 178],
        [200, 228, 255, 255],
        [200, 228, 255, 255],
    ]


@pytest.mark.parametrize("shape,size", [((37, 53, 3), (64, 64)), ((64, 48, 3), (17, 23)),
                                        ((10, 300, 1), (128, 128)), ((5, 7, 4), (5, 7))])
def test_matches_the_reference_loop_exactly(shape, size):
    image = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    np.testing.assert_array_equal(bilinear_resize(image, *size), reference_bilinear(image, *size))


@pytest.mark.parametrize("size", [(97, 211), (13, 9), (30, 40)])
def test_two_dimensional_masks_match_the_reference_loop(size):
    mask = np.random.default_rng(1).integers(0, 256, (40, 30), dtype=np.uint8)
    mask[:20] = 7  # flat cells take the copying path, the rest are blended
    np.testing.assert_array_equal(bilinear_resize(mask, *size), reference_bilinear(mask[..., None], *size)[..., 0])


def test_first_channels_of_a_photo_and_chunking_agree(monkeypatch):
    from bgremove import resize

    rgba = np.random.default_rng(2).integers(0, 256, (41, 29, 4), dtype=np.uint8)
    expected = reference_bilinear(rgba[..., :3], 53, 31)
    np.testing.assert_array_equal(bilinear_resize(rgba, 53, 31, channels=3), expected)
    np.testing.assert_array_equal(bilinear_resize(rgba[..., :3], 53, 31), expected)  # a strided view
    monkeypatch.setattr(resize, "_CHUNK_VALUES", 53 * 3)  # three rows per step
    np.testing.assert_array_equal(bilinear_resize(rgba, 53, 31, channels=3), expected)


def test_lanczos_keeps_flat_images_flat():
    flat = np.full((50, 80, 3), 77, np.uint8)
    assert np.all(lanczos_resize(flat, 320, 320) == 77)
