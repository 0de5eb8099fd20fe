"""The correction end to end on real photos: the head turns the asked way, the lens change undistorts,
and everything outside the edited region is the input, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from super_gui.core.camera import View
from super_gui.core.face import analyze_faces
from super_gui.core.headpose import fit_head_pose
from super_gui.core.image_io import load_photo
from super_gui.app.pipeline import PortraitRenderer, check_view, prepare
from super_gui.errors import UserInputError


@pytest.fixture(scope="module")
def grace(tmp_path_factory, grace_rgb):
    from tests.conftest import save

    path = save(grace_rgb, tmp_path_factory.mktemp("g") / "grace.jpg", quality=95)
    photo = load_photo(path)
    prepared = prepare(photo)
    renderer = PortraitRenderer(prepared)
    yield photo, prepared, renderer
    renderer.release()


def _pose(rgb, prepared):
    lm = analyze_faces(np.ascontiguousarray(rgb)).face.landmarks
    return fit_head_pose(lm, prepared.analysis.intrinsics).pose


@pytest.mark.parametrize("yaw,pitch", [(15, 0), (-15, 0), (0, 10), (0, -10)])
def test_head_turns_the_asked_way(grace, yaw, pitch):
    photo, prepared, renderer = grace
    before = _pose(photo.rgb8, prepared)
    out = renderer.render(View(yaw_deg=yaw, pitch_deg=pitch), full=True).image
    after = _pose(out, prepared)
    # The estimator reads some pitch into a pure turn and vice versa, even on true renders: on the head scan
    # (bench/quality.py) a true 25 deg yaw reads -2.7 to +4.4 deg of pitch. The cross-axis tolerance grows
    # with the other axis' turn by that much (0.15 deg per deg).
    assert after.yaw_deg - before.yaw_deg == pytest.approx(yaw, abs=3.0 + 0.15 * abs(pitch))
    assert after.pitch_deg - before.pitch_deg == pytest.approx(pitch, abs=3.0 + 0.15 * abs(yaw))


@pytest.mark.parametrize("yaw", [15, -15])
def test_yaw_turns_the_head_toward_the_asked_side(grace, yaw):
    photo, prepared, renderer = grace
    before = _pose(photo.rgb8, prepared)
    after = _pose(renderer.render(View(yaw_deg=yaw), full=True).image, prepared)
    assert np.sign(after.yaw_deg - before.yaw_deg) == np.sign(yaw)
    assert abs(after.yaw_deg - before.yaw_deg) > 0.6 * abs(yaw)


def test_pitch_tilts_the_head_the_asked_way(grace):
    photo, prepared, renderer = grace
    before = _pose(photo.rgb8, prepared)
    after = _pose(renderer.render(View(pitch_deg=10), full=True).image, prepared)
    assert 6.0 < after.pitch_deg - before.pitch_deg < 16.0


def test_output_has_input_size_and_untouched_pixels_are_identical(grace):
    photo, prepared, renderer = grace
    out = renderer.render(View(yaw_deg=12, pitch_deg=-5), full=True).image
    assert out.shape == photo.rgb.shape and out.dtype == photo.rgb.dtype
    changed = np.any(out != photo.rgb, axis=2)
    assert changed.any()
    # The torso and the corners are far from the head: not one bit differs there.
    h, w = changed.shape
    assert not changed[int(0.85 * h) :].any()
    assert not changed[:, : int(0.08 * w)].any() and not changed[:, int(0.92 * w) :].any()
    # And the edit stays around the head.
    ys, xs = np.nonzero(changed)
    x0, y0, x1, y1 = prepared.analysis.faces.face.bbox
    assert ys.max() < y1 + 1.2 * (y1 - y0)


def test_capture_focal_changes_nothing(grace):
    photo, prepared, renderer = grace
    out = renderer.render(View(focal_35mm=prepared.analysis.focal.focal_35mm), full=True).image
    assert np.array_equal(out, photo.rgb)


def test_longer_lens_widens_the_face_relative_to_the_eyes(grace):
    """Dolly zoom keeps E's depth plane: the eyes keep their spacing while the farther cheeks and ears
    spread out (the face stops looking narrow)."""
    photo, prepared, renderer = grace

    def width_over_ipd(rgb):
        f = analyze_faces(np.ascontiguousarray(rgb)).face
        return np.linalg.norm(f.landmarks[234, :2] - f.landmarks[454, :2]) / f.eye_distance_px

    before = width_over_ipd(photo.rgb8)
    after = width_over_ipd(renderer.render(View(focal_35mm=85.0), full=True).image)
    assert after > before * 1.02


def test_preview_is_scaled_and_matches_full_resolution(grace):
    photo, prepared, renderer = grace
    view = View(yaw_deg=10)
    prev = renderer.render(view)
    assert prev.image.shape[:2] == (round(photo.height * renderer.preview_scale), round(photo.width * renderer.preview_scale))


def test_views_outside_the_sliders_are_refused():
    with pytest.raises(UserInputError, match="Yaw 45"):
        check_view(View(yaw_deg=45), 26.0)
    with pytest.raises(UserInputError, match="Pitch"):
        check_view(View(pitch_deg=-30), 26.0)
    with pytest.raises(UserInputError, match="focal length"):
        check_view(View(focal_35mm=500), 26.0)
    check_view(View(yaw_deg=30, pitch_deg=-20, focal_35mm=200), 26.0)


def test_head_skirt_is_hidden_in_the_photo_and_coloured_from_the_head(grace):
    """The hidden side of the head that a turn reveals: behind the visible head in the capture view (so the
    photo itself is unchanged) and coloured from inside the person (never from the background)."""
    photo, prepared, _ = grace
    depth = prepared.inversion.depth
    sk = depth.skirt
    assert sk is not None and len(sk.triangles) > 100
    intr = prepared.analysis.intrinsics
    g = depth.grid
    h, w = depth.depth_m.shape
    px = intr.project(sk.positions.astype(np.float64))
    gx, gy = g.from_full_res(px[:, 0], px[:, 1])
    gx, gy = np.clip(np.round(gx).astype(int), 0, w - 1), np.clip(np.round(gy).astype(int), 0, h - 1)
    in_front = sk.positions[:, 2] < depth.depth_m[gy, gx] - 0.005
    assert in_front.mean() < 0.02
    sx = np.clip(np.round(sk.source_px[:, 0]).astype(int) - g.x0, 0, g.x1 - g.x0 - 1)
    sy = np.clip(np.round(sk.source_px[:, 1]).astype(int) - g.y0, 0, g.y1 - g.y0 - 1)
    assert np.mean(prepared.inversion.matte[sy, sx] > 128) > 0.97



def test_drag_frames_show_what_the_settled_frame_shows(tmp_path, grace_rgb):
    """The fast frames shown while a slider moves (their own shaders and coarser meshes, the generated texture
    interpolated from the vertices, a precomputed backdrop) match the settled frame the release brings, at a
    preview scale below 1 (a photo larger than the preview), at the preview's resolution and at half of it,
    and leave the photo far from the head as it is."""
    import cv2

    from super_gui.app.drafts import DraftPace
    from tests.conftest import save

    big = cv2.resize(grace_rgb, (grace_rgb.shape[1] * 2, grace_rgb.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
    prepared = prepare(load_photo(save(big, tmp_path / "grace2x.jpg", quality=95)))
    renderer = PortraitRenderer(prepared)
    renderer.pace = DraftPace(budget_s=float("inf"))  # the resolution asked for, however slow this machine is
    try:
        assert renderer.preview_scale < 1.0
        base = renderer.base_image(renderer.preview_scale)
        for view in (View(yaw_deg=15), View(yaw_deg=-20, pitch_deg=8), View(pitch_deg=-10, focal_35mm=85.0)):
            settled = renderer.render(view).image
            for ratio in (1.0, 0.5):
                draft = renderer.render(view, draft=True, draft_ratio=ratio)
                small = cv2.resize(settled, (draft.image.shape[1], draft.image.shape[0]), interpolation=cv2.INTER_LINEAR)
                assert draft.scale == pytest.approx(renderer.preview_scale * ratio, rel=0.01)
                # the coarser meshes move edges (glasses, the outline, the torn hat top) by about a pixel
                diff = np.abs(draft.image.astype(int) - small).max(axis=2)
                # (the frame shifted by one pixel: a mean of 5-9)
                assert diff.mean() < 2.5 and np.percentile(diff, 99) < 56, (view, ratio)
                moved = np.any(draft.image != renderer.draft_base(ratio), axis=2)
                assert 0.05 < moved.mean() < 0.6, (view, ratio)  # the head changed, not the whole picture
                h, w = moved.shape
                assert not moved[int(0.85 * h) :].any() and not moved[:, : int(0.08 * w)].any(), (view, ratio)
            assert np.array_equal(renderer.draft_base(1.0), base)
    finally:
        renderer.release()
