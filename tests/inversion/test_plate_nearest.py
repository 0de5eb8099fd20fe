"""The plate's nearest valid pixel (the PatchMatch field's start) is SciPy's exact Euclidean feature
transform, ties included, without importing SciPy."""

import numpy as np
import pytest
from scipy.ndimage import distance_transform_edt

from super_gui.inversion.plate import _nearest_valid


@pytest.mark.parametrize("seed", range(3))
def test_nearest_valid_is_scipys_ties_included(seed):
    rng = np.random.default_rng(seed)
    for _ in range(200):
        h, w = rng.integers(1, 140, 2)
        valid = rng.random((h, w)) < rng.choice([0.002, 0.02, 0.2, 0.7])
        valid[rng.integers(0, h), rng.integers(0, w)] = True
        _, (ry, rx) = distance_transform_edt(~valid, return_indices=True)
        iy, ix = _nearest_valid(valid)
        assert np.array_equal(iy, ry) and np.array_equal(ix, rx)


def test_nearest_valid_of_nothing_is_scipys():
    _, (ry, rx) = distance_transform_edt(np.ones((3, 4), bool), return_indices=True)
    iy, ix = _nearest_valid(np.zeros((3, 4), bool))
    assert np.array_equal(iy, ry) and np.array_equal(ix, rx)
