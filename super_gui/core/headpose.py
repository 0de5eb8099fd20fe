"""Head pose of a detected face: perspective-n-point against a metric 3D face template.

The template (``resources/face_template.npz``) holds the 478 Face Mesh landmarks as 3D points in metres
in the head frame (origin at E, x face-right, y face-down, z face-backward, eyes 63 mm apart). It was
measured by ``bench/make_face_template.py``: Face Mesh run on a frontal, far ground-truth render of the
Lee Perry-Smith head scan (CC BY 3.0) and each landmark lifted onto the scan's surface through the
render's depth buffer. It also stores ``mirror``: for each landmark, the index of its left/right twin.

Solving PnP with the real camera's intrinsics uses only the 2D landmarks, so MediaPipe's depth
compression on close faces (DESIGN.md §2) cannot bias the pose.

Two readings of the same orientation: ``PoseFit.rotation`` is the face frame in the camera's axes (what the
head edit composes with), and :func:`pose_toward_camera` is the pose relative to the line of sight from the
camera to the neck pivot: a face looking straight into the lens reads yaw = pitch = 0 wherever it sits in
the frame (with a wide lens, a face at the top of the picture is seen ~15 deg from below). The pivot does
not move when the head is turned, so a head edit of +15 deg yaw reads +15 deg on the edited photo.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from super_gui.core.camera import HeadPose, Intrinsics, neck_pivot
from super_gui.core.resources import resource_path

TEMPLATE_PATH = resource_path("face_template.npz")

# Landmarks that move little with expression: brows, eye corners, nose, cheekbones, forehead, temples.
# Lips and jaw are left out so an open mouth does not tilt the pose.
_RIGID = (
    10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 19, 94,  # midline forehead to nose tip
    33, 133, 263, 362, 130, 359, 243, 463, 226, 446,  # eye corners
    70, 63, 105, 66, 107, 300, 293, 334, 296, 336,  # brows
    234, 454, 127, 356, 93, 323, 116, 345, 123, 352, 50, 280, 205, 425,  # cheeks and temples
    54, 284, 103, 332, 67, 297, 109, 338, 21, 251,  # upper face oval
    48, 278, 64, 294, 98, 327, 2,  # nostrils
)


@dataclass(frozen=True)
class FaceTemplate:
    points_m: np.ndarray  # (478, 3) float64, head frame
    mirror: np.ndarray  # (478,) int


@functools.lru_cache(maxsize=1)
def face_template() -> FaceTemplate:
    data = np.load(TEMPLATE_PATH)
    return FaceTemplate(np.asarray(data["points_m"], dtype=np.float64), np.asarray(data["mirror"], dtype=np.int64))


# SQPnP refuses landmarks whose spread, in units of the focal length, has a variance under 1e-5 (OpenCV's
# POINT_VARIANCE_THRESHOLD): a face that spans under ~0.3 % of the focal length, i.e. a long lens or a far
# face (measured: 632 mm 35 mm-equivalent on the 512 px astronaut, 1163 mm on Grace Hopper; a 40 px eye
# distance on a 100 MP photo fails from ~30 mm). Below twice that, the pose is fitted with EPnP instead,
# which handles the near-orthographic case (the same pose as SQPnP where both work).
_SQPNP_MIN_VARIANCE = 2e-5


@dataclass(frozen=True)
class PoseFit:
    """Head pose and the template's placement: ``X_cam = rotation @ X_head + translation``."""

    pose: HeadPose
    rotation: np.ndarray  # (3, 3)
    translation: np.ndarray  # (3,)
    reprojection_px: float  # rms over the rigid landmarks


def fit_head_pose(landmarks_px: np.ndarray, intrinsics: Intrinsics) -> PoseFit:
    """Pose of the face from its (478, >=2) pixel landmarks and the capture intrinsics: SQPnP, or EPnP for a
    face too small in units of the focal length for SQPnP (:data:`_SQPNP_MIN_VARIANCE`), refined by
    Levenberg-Marquardt."""
    tpl = face_template()
    idx = np.array(_RIGID)
    obj = tpl.points_m[idx]
    img = np.ascontiguousarray(landmarks_px[idx, :2], dtype=np.float64)
    K = intrinsics.K
    normalised = (img - [intrinsics.cx, intrinsics.cy]) / intrinsics.focal_px
    variance = float(np.mean(np.sum((normalised - normalised.mean(axis=0)) ** 2, axis=1)))
    method = cv2.SOLVEPNP_SQPNP if variance >= _SQPNP_MIN_VARIANCE else cv2.SOLVEPNP_EPNP
    ok, rvec, tvec = cv2.solvePnP(obj, img, K, None, flags=method)
    if not ok:  # pragma: no cover - neither fails on 60+ points in general position
        raise RuntimeError("head pose estimation failed")
    rvec, tvec = cv2.solvePnPRefineLM(obj, img, K, None, rvec, tvec)
    R, _ = cv2.Rodrigues(rvec)
    proj, _ = cv2.projectPoints(obj, rvec, tvec, K, None)
    rms = float(np.sqrt(np.mean(np.sum((proj[:, 0] - img) ** 2, axis=1))))
    return PoseFit(HeadPose.from_rotation(R), R, tvec.ravel(), rms)


def line_of_sight_rotation(point: np.ndarray) -> np.ndarray:
    """(3, 3) rotation with zero roll taking the optical axis onto the ray toward ``point`` (camera space)."""
    r = np.asarray(point, dtype=np.float64)
    r = r / np.linalg.norm(r)
    yaw = -np.degrees(np.arcsin(np.clip(r[0], -1.0, 1.0)))
    pitch = np.degrees(np.arctan2(r[1], r[2]))
    return HeadPose(float(yaw), float(pitch), 0.0).rotation


def pose_toward_camera(face_rotation: np.ndarray, eye_midpoint: np.ndarray) -> HeadPose:
    """The head pose relative to the line of sight to the neck pivot (0 = looking into the lens)."""
    pivot = neck_pivot(eye_midpoint, face_rotation)
    return HeadPose.from_rotation(line_of_sight_rotation(pivot).T @ np.asarray(face_rotation, dtype=np.float64))
