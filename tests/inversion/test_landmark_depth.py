"""The person's depth on real photos: the head's sides turn away toward its outline, hair included, and a head
cut off by the frame stays pinned to it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from super_gui.core.camera import View
from super_gui.core.image_io import load_photo
from super_gui.app.pipeline import PortraitRenderer, prepare


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory, astronaut_rgb):
    from tests.conftest import save

    return prepare(load_photo(save(astronaut_rgb, tmp_path_factory.mktemp("a") / "astronaut.png")))


def test_nothing_beyond_the_face_oval_stands_in_front_of_it(astronaut):
    # A ridge in front of the face's edge hides it behind a straight cut when the head turns.
    d = astronaut.inversion.depth
    face = d.face_mask > 0
    edge = cv2.dilate(face.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=3).astype(bool) & ~face
    oval_depth = np.percentile(d.depth_m[cv2.dilate(face.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~cv2.erode(face.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)], 5)
    assert d.depth_m[edge & (d.person > 0.5)].min() >= oval_depth - 0.002


def test_the_head_reaches_back_to_its_outline_hair_included(astronaut):
    # Along the eyes' row the surface goes from the face (about E's depth) back toward the head centre's depth
    # at the outline of the hair, where a real head turns away from the camera.
    a = astronaut.analysis
    d = astronaut.inversion.depth
    g = d.grid
    row = int(round(g.from_full_res(0.0, float(a.faces.face.eye_midpoint_px[1]))[1]))
    inside = np.nonzero(d.person[row] > 0.5)[0]
    left, right = inside.min(), inside.max()
    E = a.distance_m
    for col in (left, right):
        assert d.depth_m[row, col] - E > 0.06
    centre = (left + right) // 2
    assert d.depth_m[row, centre] - E < 0.03


def test_a_head_cut_off_by_the_frame_stays_pinned_to_it(tmp_path, grace_rgb):
    from tests.conftest import save

    # The top of the cap is cut off by the frame: tilting the head must not pull it away from the edge and
    # uncover a void above it.
    prepared = prepare(load_photo(save(np.ascontiguousarray(grace_rgb[60:]), tmp_path / "cropped.png")))
    renderer = PortraitRenderer(prepared)
    try:
        out = renderer.render(View(pitch_deg=-15), full=True).image
    finally:
        renderer.release()
    photo = prepared.photo.rgb
    diff = np.abs(out[:3].astype(int) - photo[:3].astype(int)).sum(axis=2)
    # The cap's edges shift by a pixel or so (a few per cent of the row); a void of filled background over
    # the cap changes a third of the row by ~100 levels.
    assert (diff > 30).mean() < 0.12


def test_someone_standing_behind_the_head_is_not_carried_to_the_regions_edge(tmp_path, grace_rgb):
    from tests.conftest import save

    # Another person's face just above the head, joined to it by the person matte (a back row in a group
    # photo): the edit fades out above the head, before the working region's top inside the photo, so nothing
    # there moves with the head and stops at that edge in a straight seam.
    rgb = np.ascontiguousarray(np.pad(grace_rgb, ((260, 0), (0, 0), (0, 0)), mode="edge"))
    prepared = prepare(load_photo(save(rgb, tmp_path / "room_above.png")))
    d = prepared.inversion.depth
    a = prepared.analysis
    assert d.grid.y0 > 0  # (the region's top is inside the photo)
    assert d.edit_weight[:3].max() == 0.0
    head_top = int(round(d.grid.from_full_res(0.0, float(a.faces.face.eye_midpoint_px[1]))[1] - 1.2 * a.faces.face.eye_distance_px * d.grid.scale))
    assert d.edit_weight[max(0, head_top)].max() > 0.99  # (the head itself still moves whole)


def test_the_edge_of_the_moving_region_leaves_no_dark_seam(astronaut):
    # Just outside the triangles a view moves, the pyramid blend once read uncovered (black) texels and drew a
    # thin dark staircase across the neck and chest of every edited photo.
    d = astronaut.inversion.depth
    g = d.grid
    X, Y = np.meshgrid(np.arange(g.x0, g.x1, dtype=np.float32), np.arange(g.y0, g.y1, dtype=np.float32))
    gx, gy = g.from_full_res(X, Y)
    still = cv2.remap(d.edit_weight, gx.astype(np.float32), gy.astype(np.float32), cv2.INTER_LINEAR) < 0.01
    renderer = PortraitRenderer(astronaut)
    try:
        for view in (View(yaw_deg=15), View(pitch_deg=10), View(focal_35mm=85.0)):
            out = renderer.render(view, full=True).image[g.y0 : g.y1, g.x0 : g.x1].astype(int)
            darker = (astronaut.photo.rgb[g.y0 : g.y1, g.x0 : g.x1].astype(int) - out).min(axis=2)
            assert int(((darker > 25) & still).sum()) == 0, view
    finally:
        renderer.release()


def test_the_hidden_side_of_the_head_is_coloured_from_the_head_itself(astronaut):
    # The skirt (what a turn reveals behind the outline) takes its colours from just inside the outline: never
    # from the background, and never from deep inside the head (a mirror copy there doubles an ear).
    d = astronaut.inversion.depth
    sk = d.skirt
    assert sk is not None and len(sk.triangles) > 100
    gx, gy = d.grid.from_full_res(sk.source_px[:, 0], sk.source_px[:, 1])
    inside = cv2.remap(d.person, gx.astype(np.float32), gy.astype(np.float32), cv2.INTER_LINEAR)
    assert np.mean(inside > 0.5) > 0.97
    # distance from each colour source to the grid point on the outline it belongs to, in face widths
    lm = astronaut.analysis.faces.face.landmarks
    face_w = np.linalg.norm(lm[234, :2] - lm[454, :2]) * d.grid.scale
    reach = np.hypot(gx - sk.grid_px[:, 0], gy - sk.grid_px[:, 1]) / face_w
    assert np.percentile(reach, 99) < 0.2
