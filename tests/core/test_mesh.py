"""The depth-induced mesh: built from any working grid, however many vertices it needs."""

from __future__ import annotations

import numpy as np

from super_gui.core.camera import Intrinsics
from super_gui.core.depth import PersonDepth, WorkGrid
from super_gui.core.mesh import build_mesh, sample_bilinear, triangulate


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


def _signed_areas(pts: np.ndarray, tri: np.ndarray) -> np.ndarray:
    a, b, c = pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]]
    return ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])) / 2.0


def _empty_circumcircles(pts: np.ndarray, tri: np.ndarray) -> bool:
    """No point lies strictly inside any triangle's circumcircle (the Delaunay property), to rounding."""
    a, b, c = (pts[tri[:, k]] for k in range(3))
    d = 2.0 * (a[:, 0] * (b[:, 1] - c[:, 1]) + b[:, 0] * (c[:, 1] - a[:, 1]) + c[:, 0] * (a[:, 1] - b[:, 1]))
    sq = [(v * v).sum(axis=1) for v in (a, b, c)]
    ux = (sq[0] * (b[:, 1] - c[:, 1]) + sq[1] * (c[:, 1] - a[:, 1]) + sq[2] * (a[:, 1] - b[:, 1])) / d
    uy = (sq[0] * (c[:, 0] - b[:, 0]) + sq[1] * (a[:, 0] - c[:, 0]) + sq[2] * (b[:, 0] - a[:, 0])) / d
    r2 = (a[:, 0] - ux) ** 2 + (a[:, 1] - uy) ** 2
    for i in range(0, len(tri), 2000):  # (blocks of triangles against every point)
        dist = (pts[None, :, 0] - ux[i:i + 2000, None]) ** 2 + (pts[None, :, 1] - uy[i:i + 2000, None]) ** 2
        if (dist < r2[i:i + 2000, None] * (1.0 - 1e-9) - 1e-9).any():
            return False
    return True


def test_the_mesh_triangulation_is_a_delaunay_triangulation_covering_the_hull():
    # What build_mesh triangulates: a lattice (cocircular squares), an outline around it, the region's corners.
    from scipy.spatial import Delaunay

    h, w = 300, 240
    ys, xs = np.mgrid[0:h:2.9, 0:w:2.9]
    lattice = np.stack([xs.ravel(), ys.ravel()], axis=1)
    t = np.linspace(0.0, 2.0 * np.pi, 400, endpoint=False)
    outline = np.stack([120 + 80 * np.cos(t), 150 + 110 * np.sin(t)], axis=1)
    corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], np.float64)
    rng = np.random.default_rng(4)
    for pts in (np.concatenate([lattice, outline, corners]), rng.uniform(0, 500, (3000, 2))):
        pts = np.unique(np.round(pts, 2), axis=0)
        tri = triangulate(pts)
        areas = _signed_areas(pts, tri)
        assert tri.dtype == np.int32 and len(np.unique(tri)) == len(pts)  # every point a vertex
        assert (areas > 0).all()  # counter-clockwise with y down, none flat
        assert len(tri) == len(Delaunay(pts).simplices)
        assert abs(areas.sum() - _signed_areas(pts, Delaunay(pts).simplices).__abs__().sum()) < 1e-6 * areas.sum()
        assert _empty_circumcircles(pts, tri)
