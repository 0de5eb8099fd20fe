"""core.mesh.interpolate_linear against scipy.interpolate.LinearNDInterpolator (imported here only: the
landmark fit no longer imports it): the same values bit for bit, the same NaN outside the hull."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import LinearNDInterpolator

from super_gui.core.mesh import interpolate_linear


def scipy_on_grid(points: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    jj, ii = np.meshgrid(np.arange(shape[1]), np.arange(shape[0]))  # (as the landmark fit asks)
    return LinearNDInterpolator(points, values)(jj, ii)


@pytest.mark.parametrize("seed", range(40))
def test_the_same_values_bit_for_bit_as_scipy(seed):
    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(8, 160, 2))
    n = int(rng.integers(3, 400))
    if seed % 2:  # a cloud larger than the grid (the hull crosses it) or inside it (NaN around)
        points = rng.uniform(-10, max(h, w) + 10, (n, 2))
    else:
        points = rng.uniform(0, 0.5, (n, 2)) * [w, h] + [w / 4, h / 4]
    values = rng.normal(size=n)
    expected, got = scipy_on_grid(points, values, (h, w)), interpolate_linear(points, values, (h, w))
    assert got.shape == (h, w) and got.dtype == np.float64
    assert np.array_equal(np.isnan(expected), np.isnan(got))
    assert np.array_equal(expected[~np.isnan(expected)], got[~np.isnan(got)])


def test_face_landmarks_like_the_fit_gives(grace_rgb):
    """Real landmarks on a working grid, as the landmark fit interpolates their depth."""
    from super_gui.core.face import detect_faces

    face = detect_faces(grace_rgb)[0][0]
    pts = face.landmarks[:, :2] * 0.37 + 3.3  # (a working grid's scale and offset)
    values = face.landmarks[:, 2].astype(np.float64)
    shape = (int(grace_rgb.shape[0] * 0.37) + 8, int(grace_rgb.shape[1] * 0.37) + 8)
    expected, got = scipy_on_grid(pts, values, shape), interpolate_linear(pts, values, shape)
    assert np.isfinite(got).sum() > 1000
    assert np.array_equal(np.isnan(expected), np.isnan(got))
    assert np.array_equal(expected[~np.isnan(expected)], got[~np.isnan(got)])


def test_too_few_points_or_a_flat_cloud_is_refused_as_scipy_refuses_it():
    from scipy.spatial import QhullError

    for points in (np.zeros((2, 2)), np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])):
        with pytest.raises(QhullError):
            interpolate_linear(points, np.zeros(len(points)), (4, 4))
        with pytest.raises(QhullError):
            scipy_on_grid(points, np.zeros(len(points)), (4, 4))
