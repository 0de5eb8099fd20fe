"""The landmark backend's pieces run side by side (core.concurrent) and give what they give one at a time."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from super_gui.app.pipeline import fit_face
from super_gui.core.analysis import analyze_photo
from super_gui.core.image_io import load_photo
from super_gui.core.mesh import build_mesh
from super_gui.inversion import landmark
from super_gui.inversion.landmark import LandmarkBackend, face_triangles, mirror_maps
from super_gui.inversion.landmark_depth import working_region


def _one_triangle_at_a_time(landmarks_px, grid):
    """mirror_maps' affine maps, solved per triangle (what it did before the batched solve)."""
    from super_gui.core.headpose import face_template

    L = landmarks_px[:, :2]
    Lw = np.stack(grid.from_full_res(L[:, 0], L[:, 1]), axis=1)
    tris, mirror = face_triangles(), face_template().mirror
    A = np.zeros((len(tris), 2, 3))
    for k, t in enumerate(tris):
        try:
            A[k] = np.linalg.solve(np.c_[Lw[t], np.ones(3)], L[mirror[t]]).T
        except np.linalg.LinAlgError:
            A[k] = np.nan
    return A


@pytest.fixture(scope="module")
def analysed(tmp_path_factory, grace_rgb):
    from tests.conftest import save

    photo = load_photo(save(grace_rgb, tmp_path_factory.mktemp("pieces") / "grace.png"))
    return photo, analyze_photo(photo)


def test_mirror_maps_batched_solve_is_the_per_triangle_solve(analysed, monkeypatch):
    photo, a = analysed
    grid = working_region(a.eye_midpoint, a.face_rotation, a.intrinsics, landmark.WORK_LONG_SIDE)
    lm = a.faces.face.landmarks.copy()
    seen = {}
    real_solve = np.linalg.solve

    def solve(src, dst):
        if src.ndim == 3:
            seen["batched"] = real_solve(src, dst).transpose(0, 2, 1)
        return real_solve(src, dst)

    monkeypatch.setattr(np.linalg, "solve", solve)
    mirror_maps(lm, grid)
    assert np.array_equal(seen["batched"], _one_triangle_at_a_time(lm, grid))
    # A degenerate triangle (three landmarks on one point) fails the batch: solved one at a time, it alone is
    # marked NaN (its pixels are not 'inside') and every other map stays what it was.
    t = face_triangles()[10]
    lm[t[1], :2] = lm[t[2], :2] = lm[t[0], :2]
    mx, my, inside = mirror_maps(lm, grid)
    assert np.isfinite(mx).all() and inside.any() and (mx[~inside] == -1).all()


def test_invert_hands_over_its_depth_early_and_gives_what_it_gave_whole(analysed):
    photo, a = analysed
    handed = []
    inv = LandmarkBackend().invert(photo, a, depth_ready=handed.append)
    assert len(handed) == 1 and handed[0] is inv.depth
    again = LandmarkBackend().invert(photo, a)
    for name in ("depth_m", "head_weight", "edit_weight", "face_mask", "person"):
        assert np.array_equal(getattr(inv.depth, name), getattr(again.depth, name)), name
    assert np.array_equal(inv.matte, again.matte) and np.array_equal(inv.plate, again.plate)
    assert np.array_equal(inv.generated.source_px, again.generated.source_px)
    assert np.array_equal(inv.generated.gain_weight, again.generated.gain_weight)
    assert {"depth", "small", "generated", "plate"} <= set(inv.timings_s)


def test_a_previews_matte_is_the_full_resolution_matte_at_its_size(analysed):
    # A preview takes its matte from the analysis's mask at its own size, never making the full-resolution
    # one; it must still be what the full-resolution matte shows at that size.
    photo, a = analysed
    inv = LandmarkBackend().invert(photo, a)
    g = inv.depth.grid
    for scale in (0.37, 0.61, 0.93):  # (a preview is never larger than the photo)
        W, H = round(photo.width * scale), round(photo.height * scale)
        box = (int(g.x0 * scale), int(g.y0 * scale), min(W, int(np.ceil(g.x1 * scale))), min(H, int(np.ceil(g.y1 * scale))))
        got = inv.matte_at(W, H, box)
        whole = np.zeros((photo.height, photo.width), np.uint8)  # (the full-resolution matte in its place)
        whole[g.y0 : g.y1, g.x0 : g.x1] = inv.matte
        want = cv2.resize(whole, (W, H), interpolation=cv2.INTER_AREA)[box[1] : box[3], box[0] : box[2]]
        assert got.shape == want.shape and got.dtype == np.uint8
        diff = np.abs(got.astype(int) - want)[2:-2, 2:-2]  # (the matte's crop edge: zeros beyond it in 'whole')
        assert diff.mean() < 0.3 and np.percentile(diff, 99.5) <= 6, (scale, diff.mean(), diff.max())
        assert (got > 128).mean() > 0.05  # (a person is there)
    assert inv.matte is inv.matte  # (made once, then kept)


class _NoEarlyDepth:
    """A backend whose invert has no ``depth_ready`` (as EG3D's): fit_face builds the mesh after it."""

    name = "landmark"

    def invert(self, photo, analysis, progress=lambda f, m: None, is_cancelled=lambda: False):
        return LandmarkBackend().invert(photo, analysis, progress, is_cancelled)


def test_fit_face_builds_the_mesh_beside_the_textures_or_after_them(analysed):
    photo, a = analysed
    side_by_side = fit_face(photo, a, LandmarkBackend(), {}, None)
    after = fit_face(photo, a, _NoEarlyDepth(), {}, None)
    alone = build_mesh(side_by_side.inversion.depth, a.intrinsics)
    for p in (side_by_side, after):
        for field in dataclasses.fields(alone):
            assert np.array_equal(getattr(p.mesh, field.name), getattr(alone, field.name)), field.name
        assert p.timings_s["mesh"] > 0
