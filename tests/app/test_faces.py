"""Every face of a photo (app.faces, app.group): each usable face fitted on its own, several edited faces in one
image (each face's pixels its own edit's, nothing outside them changed, nearer faces over farther ones), and
the single-face path unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from super_gui.app.faces import faces_to_edit, find_faces
from super_gui.app.group import FaceRenderers
from super_gui.app.pipeline import PortraitRenderer, prepare
from super_gui.core.camera import UNDISTORT_FOCAL_MM, View
from super_gui.core.image_io import load_photo
from super_gui.errors import UserInputError
from tests.conftest import four_faces, overlapping_faces, save, three_faces

UNDISTORT = View(focal_35mm=UNDISTORT_FOCAL_MM)


@pytest.fixture(scope="module")
def four(tmp_path_factory, grace_rgb):
    """The four-face photo, its faces (all fitted) and a renderer for them (module-wide: fitting takes seconds)."""
    path = save(four_faces(grace_rgb), tmp_path_factory.mktemp("four") / "four.png")
    faces = find_faces(load_photo(path))
    faces.prepare_all()
    renderers = FaceRenderers()
    yield faces, renderers
    renderers.release()


def changed(image: np.ndarray, original: np.ndarray) -> np.ndarray:
    return (image != original).any(axis=2)


def test_the_faces_are_found_once_and_each_is_fitted_as_a_single_face_run_would(four):
    faces, _ = four
    assert len(faces.faces.faces) == 4 and faces.usable == (0, 1, 2, 3)
    assert faces.default == 1 and faces.faces.ambiguous  # the largest; the others are nearly as big
    assert faces_to_edit(faces, None) == [1] and faces_to_edit(faces, "all") == [0, 1, 2, 3]
    assert faces_to_edit(faces, (2, 0)) == [2, 0]
    with pytest.raises(UserInputError, match="given twice"):
        faces_to_edit(faces, (2, 2))
    with pytest.raises(UserInputError, match="does not exist"):
        faces_to_edit(faces, (0, 7))
    p = faces.prepare(2)
    assert faces.prepare(2) is p  # fitted once
    alone = prepare(faces.photo, face_index=2)
    assert alone.analysis.faces.chosen == p.analysis.faces.chosen == 2
    assert alone.analysis.distance_m == p.analysis.distance_m
    assert np.array_equal(alone.mesh.positions, p.mesh.positions)
    # Nearer faces (larger copies: their eyes are farther apart) are laid last.
    order = faces.farthest_first(faces.usable)
    sizes = [faces.faces.faces[i].eye_distance_px for i in order]
    assert sizes == sorted(sizes) and order[-1] == 1


def test_four_faces_undistorted_in_one_image_change_each_face_and_nothing_else(four):
    faces, renderers = four
    photo = faces.photo
    edits = [(faces.prepare(i), UNDISTORT) for i in faces.usable]
    group = renderers.render(edits, full=True).image
    assert group.shape == photo.rgb.shape and group.dtype == photo.rgb.dtype
    moved = changed(group, photo.rgb)
    singles = [renderers.render([e], full=True).image for e in edits]
    owns = [changed(single, photo.rgb) for single in singles]
    for k, (p, _) in enumerate(edits):
        x0, y0, x1, y1 = p.analysis.faces.face.bbox
        face = np.zeros_like(moved)
        face[int(y0) : int(y1), int(x0) : int(x1)] = True
        assert (moved & face).sum() > 0.5 * face.sum(), "the face was not undistorted"
        alone = owns[k] & ~np.logical_or.reduce([o for j, o in enumerate(owns) if j != k])
        assert np.array_equal(group[alone], singles[k][alone])  # where only this face's edit reaches: exactly its edit
    assert not (moved & ~np.logical_or.reduce(owns)).any()  # outside every edited region: the input, bit for bit


def test_consecutive_group_drag_frames_differ_only_inside_the_dragged_faces_windows(four):
    """(The editor repaints only those windows between two drag frames.)"""
    faces, renderers = four
    still = [(faces.prepare(i), UNDISTORT) for i in (0, 2)]  # other faces with settled edits of their own
    dragged = faces.prepare(1)
    frames = [renderers.render([(dragged, View(yaw, 0.0, 40.0)), *still], draft=True) for yaw in (4.0, 16.0)]
    inside = np.zeros(frames[0].image.shape[:2], bool)
    for f in frames:
        x, y, w, h = (round(v * f.scale) for v in f.window)
        inside[y : y + h, x : x + w] = True
    between = changed(frames[0].image, frames[1].image)
    assert between[inside].sum() > 1000 and not between[~inside].any()


def test_an_edit_fades_to_the_photo_inside_its_window_leaving_no_straight_seam(four):
    # The window pasted into the photo must hold every pixel the edit changes: where a soft matte reaches
    # far from the head, the background plate shows beyond the moving vertices, and a window that cut it
    # off left a straight seam. At the window's border inside the photo crop, the paste weight is 0.
    faces, renderers = four
    for i in range(len(faces.faces.faces)):
        r = renderers.renderer(faces.prepare(i))
        cw, ch = r.scene.size(r.preview_scale)
        ox, oy = r.scene.origin(r.preview_scale)
        for view in (View(15.0, 0.0, 85.0), View(-15.0, 8.0, 50.0), UNDISTORT):
            crop, (x, y), _ = r.render_window(view)
            a = crop[..., 3]
            x, y = x - ox, y - oy
            border = ([a[:, 0]] if x > 0 else []) + ([a[0, :]] if y > 0 else []) + \
                     ([a[:, -1]] if x + a.shape[1] < cw else []) + ([a[-1, :]] if y + a.shape[0] < ch else [])
            assert border and max(int(b.max()) for b in border) == 0, (i, view)


def test_one_edited_face_is_the_single_face_render_byte_for_byte(four, grace_jpg):
    faces, renderers = four
    p = faces.prepare(3)
    view = View(8.0, -4.0, 60.0)
    others_untouched = [(faces.prepare(i), View()) for i in (0, 1)]
    for full in (False, True):
        a = renderers.render([(p, view), *others_untouched], full=full).image
        b = renderers.renderer(p).render(view, full=full).image
        assert np.array_equal(a, b)
    # A photo of one face: the group renderer and the portrait renderer give the same bytes.
    single = prepare(load_photo(grace_jpg))
    r = PortraitRenderer(single)
    fr = FaceRenderers()
    try:
        from super_gui.app.drafts import DraftPace

        for renderer in (r, fr.renderer(single)):  # drag frames at the resolution asked for, not each pace's
            renderer.pace = DraftPace(budget_s=float("inf"))
        for view in (UNDISTORT, View(12.0, 0.0, None), View(-10.0, 8.0, 50.0)):
            for kw in ({}, {"draft": True}, {"full": True}):
                assert np.array_equal(fr.render([(single, view)], **kw).image, r.render(view, **kw).image), (view, kw)
    finally:
        fr.release()
        r.release()


def test_a_nearer_face_is_laid_over_a_farther_one_where_their_edits_overlap(tmp_path, grace_rgb):
    photo = load_photo(save(overlapping_faces(grace_rgb), tmp_path / "overlap.png"))
    faces = find_faces(photo)
    assert faces.usable == (0, 1)
    far, near = faces.prepare_all()
    assert far.analysis.distance_m > near.analysis.distance_m
    fr = FaceRenderers()
    try:
        edits = [(near, UNDISTORT), (far, UNDISTORT)]
        H, W = photo.height, photo.width
        crops, alphas = {}, {}
        for p, v in edits:
            crop, (ox, oy), _ = fr.renderer(p).render_window(v, full=True)
            rgb, a = np.zeros((H, W, 3), np.uint8), np.zeros((H, W), np.uint8)
            rgb[oy : oy + crop.shape[0], ox : ox + crop.shape[1]] = crop[..., :3]
            a[oy : oy + crop.shape[0], ox : ox + crop.shape[1]] = crop[..., 3]
            crops[id(p)], alphas[id(p)] = rgb, a
        both = (alphas[id(near)] == 255) & (alphas[id(far)] == 255)
        assert both.sum() > 100, "the two edits do not overlap: the test would prove nothing"
        assert (crops[id(near)][both] != crops[id(far)][both]).any()
        group = fr.render(edits, full=True).image
        assert np.array_equal(group[both], crops[id(near)][both])  # the nearer face wins
        only_far = (alphas[id(far)] > 0) & (alphas[id(near)] == 0)
        assert np.array_equal(group[only_far], crops[id(far)][only_far])
        untouched = (alphas[id(far)] == 0) & (alphas[id(near)] == 0)
        assert np.array_equal(group[untouched], photo.rgb[untouched])
        # The order is by distance, not by the order of the edits.
        assert np.array_equal(fr.render(edits[::-1], full=True).image, group)
    finally:
        fr.release()


def test_a_new_capture_camera_keeps_the_faces_and_the_fits_it_does_not_change(tmp_path, grace_rgb):
    faces = find_faces(load_photo(save(three_faces(grace_rgb), tmp_path / "three.png")))
    a, b = faces.prepare(0), faces.prepare(1)
    other = faces.with_capture(None, {1: 150.0})
    assert other.faces is faces.faces  # not found again
    assert other.prepared(0) is a and other.prepared(1) is None
    assert other.prepare(1).analysis.distance_m == pytest.approx(1.5)
    assert faces.with_capture(40.0, None).prepared(0) is None  # another focal: every face is fitted again
    assert b.analysis.distance_source == "iris"


def test_a_face_whose_person_is_not_found_is_refused_in_a_sentence(tmp_path, grace_rgb, monkeypatch):
    import super_gui.app.pipeline as pipeline
    from super_gui.core.mesh import PersonMesh

    real = pipeline.build_mesh
    monkeypatch.setattr(pipeline, "build_mesh", lambda depth, intr: PersonMesh(
        **{k: v[:0] if isinstance(v, np.ndarray) and v.ndim else v for k, v in vars(real(depth, intr)).items()}))
    faces = find_faces(load_photo(save(three_faces(grace_rgb), Path(tmp_path) / "three.png")))
    with pytest.raises(UserInputError, match="cannot tell the person of face 2 of three.png from the background"):
        faces.prepare(2)
