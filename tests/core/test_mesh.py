"""The depth-induced mesh: built from any working grid, however many vertices it needs."""

from __future__ import annotations

import numpy as np

from super_gui.core.camera import Intrinsics
from super_gui.core.depth import PersonDepth, WorkGrid
from super_gui.core.mesh import build_mesh, sample_bilinear


def test_sample_bilinear_matches_interpolation_beyond_opencvs_map_limit():
    # cv2.remap refuses maps with a side of 32767 or more; a mesh over a big face has more vertices.
    rng = np.random.default_rng(1)
    img = rng.random((40, 50, 2)).astype(np.float32)
    x = rng.random(70_000) * 49
    y = rng.random(70_000) * 39
    got = sample_bilinear(img, x, y)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    x1, y1 = np.minimum(x0 + 1, 49), np.minimum(y0 + 1, 39)
    want = (img[y0, x0] * (1 - fx) * (1 - fy) + img[y0, x1] * fx * (1 - fy) + img[y1, x0] * (1 - fx) * fy
            + img[y1, x1] * fx * fy)
    assert got.shape == (70_000, 2)
    np.testing.assert_allclose(got, want, atol=0.03)  # OpenCV interpolates with 1/32 steps


def test_a_mesh_with_more_than_32767_vertices_builds():
    h, w = 400, 300
    intr = Intrinsics.from_35mm(26.0, w, h)
    ones = np.ones((h, w), np.float32)
    depth = PersonDepth(WorkGrid(0, 0, w, h, 1.0), 0.4 * ones, ones, ones, ones, ones)
    mesh = build_mesh(depth, intr, fine_px=1.5)
    assert mesh.n_vertices > 32767
    assert np.all(np.isfinite(mesh.positions)) and mesh.positions[:, 2].min() > 0.39
