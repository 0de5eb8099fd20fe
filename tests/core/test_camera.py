"""The camera conventions of DESIGN.md §3, pinned."""

import math

import numpy as np
import pytest

from super_gui.core import camera as cam
from super_gui.errors import UserInputError

W, H = 3000, 4000


def _frontal_head(d=0.3):
    """A few head points in capture camera space for a frontal face with E at (0, 0, d)."""
    E = np.array([0.0, 0.0, d])
    nose_tip = E + np.array([0.0, 0.045, -0.025])  # below and in front of E
    ear = E + np.array([0.075, 0.03, 0.09])
    return E, nose_tip, ear


def test_focal_px_formula_and_inverse():
    f = cam.focal_px_from_35mm(26.0, W, H)
    assert f == pytest.approx(26.0 * 5000.0 / 43.27)
    assert cam.focal_35mm_from_px(f, W, H) == pytest.approx(26.0)
    intr = cam.Intrinsics.from_35mm(26.0, W, H)
    assert (intr.cx, intr.cy) == ((W - 1) / 2, (H - 1) / 2)
    assert intr.focal_35mm == pytest.approx(26.0)


def test_capture_focal_priorities():
    assert cam.capture_focal(28.0, 4.2, "Apple", "iPhone", user_focal_35mm=50.0) == cam.CaptureFocal(50.0, "user")
    assert cam.capture_focal(28.0, 4.2, "Apple", "iPhone") == cam.CaptureFocal(28.0, "exif-35mm")
    assert cam.capture_focal(None, 50.0, "SONY", "ILCE-7M3") == cam.CaptureFocal(50.0, "exif-focal-length")
    assert cam.capture_focal(None, 30.0, "Canon", "Canon EOS 90D") == cam.CaptureFocal(48.0, "exif-focal-length")
    # An unknown sensor cannot be converted: fall back to the phone default, and say so.
    assert cam.capture_focal(None, 4.2, "Acme", "Phone") == cam.CaptureFocal(26.0, "default")
    assert cam.capture_focal(None, None) == cam.CaptureFocal(26.0, "default")
    with pytest.raises(UserInputError):
        cam.capture_focal(None, None, user_focal_35mm=0.5)


def test_project_unproject_round_trip():
    intr = cam.Intrinsics.from_35mm(26.0, W, H)
    pts = np.array([[0.01, -0.02, 0.3], [0.1, 0.05, 0.5]])
    px = intr.project(pts)
    back = intr.unproject(px, pts[:, 2])
    np.testing.assert_allclose(back, pts, atol=1e-12)
    # x right, y down: a point right of and below the axis lands right of and below the centre.
    assert px[0, 0] > intr.cx and px[0, 1] < intr.cy and px[1, 1] > intr.cy


def test_scaled_intrinsics_match_resized_image():
    intr = cam.Intrinsics.from_35mm(26.0, W, H)
    half = intr.scaled(0.25)
    assert (half.width, half.height) == (750, 1000)
    p = np.array([[0.02, 0.03, 0.4]])
    # A pixel centre at x maps to (x + 0.5) * s - 0.5 in the resized image.
    np.testing.assert_allclose(half.project(p), (intr.project(p) + 0.5) * 0.25 - 0.5, atol=1e-9)
    assert half.focal_35mm == pytest.approx(26.0, rel=1e-3)


def test_capture_distance_from_iris_and_yaw_correction():
    intr = cam.Intrinsics.from_35mm(26.0, W, H)
    d = 0.3
    ipd_px = intr.focal_px * 0.063 / d
    assert cam.capture_distance_from_iris(ipd_px, intr.focal_px) == pytest.approx(d)
    # Turned 30 deg, the eyes look closer together: without the correction d would be 15% too far.
    seen = ipd_px * math.cos(math.radians(30))
    assert cam.capture_distance_from_iris(seen, intr.focal_px, 30.0) == pytest.approx(d)
    assert cam.capture_distance_from_iris(seen, intr.focal_px, -30.0) == pytest.approx(d)


def test_dolly_zoom_keeps_points_at_E_depth_and_changes_others():
    intr = cam.Intrinsics.from_35mm(26.0, W, H)
    E, nose, ear = _frontal_head(0.3)
    E = E + np.array([0.03, -0.02, 0.0])  # off axis: still pinned
    same_depth = E + np.array([0.05, 0.07, 0.0])
    vc = cam.virtual_camera(intr, 26.0, E, np.eye(3), cam.View(focal_35mm=85.0))
    assert vc.dolly_shift_m == pytest.approx(0.3 * 85 / 26 - 0.3)
    assert vc.transform(E[None])[0, 2] == pytest.approx(0.3 * 85 / 26)
    for p in (E, same_depth):
        np.testing.assert_allclose(vc.project(p[None]), intr.project(p[None]), atol=1e-9)
    # The nose (nearer than E) shrinks toward E's pixel: less "big nose" with a longer lens.
    before = np.linalg.norm(intr.project(nose[None]) - intr.project(E[None]))
    after = np.linalg.norm(vc.project(nose[None]) - vc.project(E[None]))
    assert after < before
    # Same focal changes nothing.
    vc0 = cam.virtual_camera(intr, 26.0, E, np.eye(3), cam.View(focal_35mm=26.0))
    np.testing.assert_allclose(vc0.project(np.stack([nose, ear])), intr.project(np.stack([nose, ear])), atol=1e-9)
    assert cam.View(focal_35mm=26.0).is_identity(26.0) and cam.View().is_identity(26.0)


def test_positive_yaw_moves_nose_right_and_positive_pitch_moves_it_up():
    intr = cam.Intrinsics.from_35mm(26.0, W, H)
    E, nose, _ = _frontal_head(0.3)
    p0 = intr.project(nose[None])[0]
    right = cam.virtual_camera(intr, 26.0, E, np.eye(3), cam.View(yaw_deg=15)).project(nose[None])[0]
    left = cam.virtual_camera(intr, 26.0, E, np.eye(3), cam.View(yaw_deg=-15)).project(nose[None])[0]
    up = cam.virtual_camera(intr, 26.0, E, np.eye(3), cam.View(pitch_deg=10)).project(nose[None])[0]
    assert right[0] > p0[0] + 20 and left[0] < p0[0] - 20
    assert up[1] < p0[1] - 20


def test_head_rotation_pivot_and_order():
    E = np.array([0.0, 0.0, 0.3])
    pivot = cam.neck_pivot(E, np.eye(3))
    np.testing.assert_allclose(pivot, [0.0, 0.07, 0.37])
    # The pivot is fixed in the head: for a head already turned, it follows the face's own axes.
    turned = cam.HeadPose(30.0, 0.0, 0.0).rotation
    np.testing.assert_allclose(cam.neck_pivot(E, turned), E + 0.07 * turned[:, 1] + 0.07 * turned[:, 2])
    vc = cam.virtual_camera(cam.Intrinsics.from_35mm(26, W, H), 26.0, E, np.eye(3), cam.View(yaw_deg=20, pitch_deg=10))
    np.testing.assert_allclose(vc.transform(pivot[None]), pivot[None], atol=1e-12)  # the pivot does not move
    np.testing.assert_allclose(vc.rotation, cam.rotation_pitch(10) @ cam.rotation_yaw(20))  # yaw first, then pitch
    assert not np.allclose(vc.rotation, cam.rotation_yaw(20) @ cam.rotation_pitch(10))
    # Torso points (weight 0) do not turn; the neck (0.5) goes half way.
    chest = np.array([[0.0, 0.25, 0.4]])
    np.testing.assert_allclose(vc.transform(chest, np.array([0.0])), chest)
    half = vc.transform(chest, np.array([0.5]))
    np.testing.assert_allclose(half, 0.5 * (vc.transform(chest, np.array([1.0])) + chest))


def test_head_pose_decomposition_round_trip_and_edit_adds_angles():
    for y, p, r in [(0, 0, 0), (20, -10, 5), (-35, 15, -8), (10, 25, 3)]:
        pose = cam.HeadPose(y, p, r)
        back = cam.HeadPose.from_rotation(pose.rotation)
        assert (back.yaw_deg, back.pitch_deg, back.roll_deg) == pytest.approx((y, p, r), abs=1e-9)
    # A frontal face edited by yaw/pitch measures exactly the asked angles.
    edited = cam.HeadPose.from_rotation(cam.head_edit_rotation(15, -10) @ np.eye(3))
    assert (edited.yaw_deg, edited.pitch_deg, edited.roll_deg) == pytest.approx((15, -10, 0), abs=1e-9)
    # The face's backward axis of a +yaw pose points away from the camera and to the left: the nose
    # (along -z of the face) points right.
    assert cam.HeadPose(20, 0, 0).rotation[:, 2] @ np.array([1.0, 0, 0]) < 0
