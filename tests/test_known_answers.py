"""Known answers for the guided filter's linear model (refine.py) and the matting solve built on it (matting.py).

As in pymatting's tests, each fast float32 computation is checked on a small photo against a plain float64
one written straight from the definitions: LocalLinearModel.fit against a ridge least-squares fit in every
window, then averaged; matting's matrix-free operator against the explicit matting Laplacian of Levin,
Lischinski & Weiss (2008); and matting._solve against numpy.linalg.solve of that explicit system.
"""
import numpy as np
import pytest

from bgremove.matting import PIN, PRIOR, _solve
from bgremove.refine import LocalLinearModel


def low_contrast_photo(shape, seed):
    """Random uint8 colours in a narrow range, so that eps is a sizeable part of each window's covariance."""
    return np.random.default_rng(seed).integers(96, 160, shape + (3,), dtype=np.uint8)


def windows(h, w, radius, shrunk=True):
    """Flat (row-major) pixel indices of the window centred on each pixel, cut at the borders as box_mean cuts
    it; or, unshrunk, only the whole (2r+1)^2 windows, which are Levin et al.'s."""
    for y in range(h):
        for x in range(w):
            rows = np.arange(max(y - radius, 0), min(y + radius, h - 1) + 1)
            cols = np.arange(max(x - radius, 0), min(x + radius, w - 1) + 1)
            if shrunk or len(rows) == len(cols) == 2 * radius + 1:
                yield (rows[:, None] * w + cols).ravel()


def explicit_fit(photo, mask, radius, eps):
    """(h, w, 4): per window, min over (a, b) of sum (a . I_i + b - p_i)^2 + eps |w| |a|^2, the guided filter's
    fit (its (Sigma + eps I) a = cov(I, p) is this ridge's normal equation), then averaged over the windows
    that cover each pixel."""
    h, w = mask.shape
    colours, p = photo.reshape(-1, 3) / 255, mask.ravel().astype(np.float64)
    total, count = np.zeros((h * w, 4)), np.zeros(h * w)
    for idx in windows(h, w, radius):
        n = len(idx)
        rows = np.vstack([np.c_[colours[idx], np.ones(n)], np.c_[np.sqrt(eps * n) * np.eye(3), np.zeros(3)]])
        total[idx] += np.linalg.lstsq(rows, np.r_[p[idx], np.zeros(3)], rcond=None)[0]
        count[idx] += 1
    return (total / count[:, None]).reshape(h, w, 4)


def explicit_laplacian(photo, radius, eps, shrunk=True):
    """Levin et al.'s L_ij = sum over windows k holding i and j of
    delta_ij - (1 + (I_i - mu_k)^T (Sigma_k + eps I)^-1 (I_j - mu_k)) / |w_k|.
    Their eps is per window sum, so it is this eps times |w_k|."""
    h, w = photo.shape[:2]
    colours = photo.reshape(-1, 3) / 255
    laplacian = np.zeros((h * w, h * w))
    for idx in windows(h, w, radius, shrunk):
        n = len(idx)
        z = colours[idx] - colours[idx].mean(axis=0)
        affinity = (1 + z @ np.linalg.solve(z.T @ z / n + eps * np.eye(3), z.T)) / n
        laplacian[np.ix_(idx, idx)] += np.eye(n) - affinity
    return laplacian


def window_sizes(h, w, radius):
    """|w_i| per pixel, which is also how many windows cover it."""
    return np.bincount(np.concatenate(list(windows(h, w, radius))), minlength=h * w)


# Worst |float32 fast - float64 explicit| measured over these cases: fit 2.2e-4 (coefficients up to 3.3),
# filter 6.7e-6, both at radius 1: the float32 error grows as the windows' covariance nears singular (small
# windows, small eps), to 2.3e-3 at radius 1, eps 1e-4. A 10% error in eps moves the fit by 0.007 to 0.09.
CASES = [(1, 1e-3), (2, 1e-4), (3, 1e-2)]


@pytest.mark.parametrize("radius, eps", CASES)
def test_fit_is_each_windows_least_squares_line_averaged(radius, eps):
    photo = low_contrast_photo((9, 11), seed=radius)
    mask = np.random.default_rng(10 + radius).random((9, 11))
    model = LocalLinearModel(photo, radius, eps)
    expected = explicit_fit(photo, mask, radius, eps)
    np.testing.assert_allclose(model.fit(mask), expected, rtol=0, atol=5e-4)
    alpha = np.einsum("hwc,hwc->hw", expected[..., :3], photo / 255) + expected[..., 3]
    np.testing.assert_allclose(model.filter(mask), alpha, rtol=0, atol=2e-5)


def test_fit_on_a_stack_of_tiles_fits_each_tile_on_its_own():
    photos = low_contrast_photo((3, 9, 11), seed=3)
    masks = np.random.default_rng(4).random((3, 9, 11))
    fitted = LocalLinearModel(photos, 2, 1e-3, axes=(1, 2)).fit(masks)
    for photo, mask, fit in zip(photos, masks, fitted):  # measured worst difference 4e-5
        np.testing.assert_allclose(fit, explicit_fit(photo, mask, 2, 1e-3), rtol=0, atol=5e-4)


@pytest.mark.parametrize("radius, eps", CASES)
def test_matting_operator_is_the_laplacian_over_window_sizes(radius, eps):
    photo = low_contrast_photo((9, 11), seed=radius)
    p = np.random.default_rng(20 + radius).random((9, 11))
    product = p - LocalLinearModel(photo, radius, eps).filter(p)
    laplacian = explicit_laplacian(photo, radius, eps)
    sizes = window_sizes(9, 11, radius)
    # p - filter(p) = D^-1 L p, D = diag(|w_i|), at every pixel, border included, once L sums over the same
    # cut-down border windows as box_mean. Measured worst difference 5.2e-6 (a 10% error in eps: 6e-4 or more).
    np.testing.assert_allclose(product, (laplacian @ p.ravel() / sizes).reshape(9, 11), rtol=0, atol=2e-5)
    # L is symmetric but D^-1 L is not, where |w_i| varies: the border rows.
    assert np.abs(laplacian - laplacian.T).max() < 1e-12
    assert np.abs(laplacian / sizes[:, None] - laplacian.T / sizes[None, :]).max() > 0.01


def test_matting_operator_is_levins_laplacian_only_away_from_the_border():
    radius, eps = 1, 1e-3
    photo = low_contrast_photo((9, 11), seed=5)
    p = np.random.default_rng(6).random((9, 11))
    product = p - LocalLinearModel(photo, radius, eps).filter(p)
    levin = (explicit_laplacian(photo, radius, eps, shrunk=False) @ p.ravel()).reshape(9, 11) / (2 * radius + 1) ** 2
    # Pixels 2r or more from the border see whole windows only, so there the two agree (measured 4.5e-6);
    # nearer, Levin et al. drop the cut windows that box_mean keeps: the products differ by up to 0.31 there.
    inner = np.zeros((9, 11), bool)
    inner[2 * radius:-2 * radius, 2 * radius:-2 * radius] = True
    np.testing.assert_allclose(product[inner], levin[inner], rtol=0, atol=2e-5)
    assert np.abs(product - levin)[~inner].max() > 0.01


def test_solve_converges_to_the_direct_solution():
    tiles, n, radius, eps = 3, 8, 2, 1e-4
    rng = np.random.default_rng(7)
    photos = low_contrast_photo((tiles, n, n), seed=8)
    prior = rng.random((tiles, n, n)).astype(np.float32)
    weight = np.where(rng.random((tiles, n, n)) < 0.3, PIN, PRIOR).astype(np.float32)  # known and unknown pixels
    solved = _solve(LocalLinearModel(photos, radius, eps, axes=(1, 2)), prior, weight, iterations=64)
    sizes = window_sizes(n, n, radius)
    for photo, p, w, x in zip(photos, prior, weight, solved):
        system = explicit_laplacian(photo, radius, eps) / sizes[:, None] + np.diag(w.ravel().astype(np.float64))
        expected = np.linalg.solve(system, (w * p).ravel()).reshape(n, n)
        # Measured worst difference 5.4e-6: float32 conjugate gradients, at that floor from about 32 steps.
        np.testing.assert_allclose(x, expected, rtol=0, atol=2e-5)
