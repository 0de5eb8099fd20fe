"""The *analyze* stage: a loaded photo -> faces, capture camera, capture distance and head pose.

Runs once per photo (in the editor's worker thread, or the CLI). No Qt, no file writes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from super_gui.core.camera import CaptureFocal, HeadPose, Intrinsics, capture_distance_from_iris, capture_focal
from super_gui.core.face import FaceAnalysis, analyze_faces
from super_gui.core import headpose
from super_gui.core.headpose import PoseFit, fit_head_pose, pose_toward_camera
from super_gui.core.image_io import Photo
from super_gui.core.strips import to_uint8_strips
from super_gui.errors import Cancelled, UserInputError

Progress = Callable[[float, str], None]
DISTANCE_RANGE_CM = (10.0, 2000.0)  # capture distances a user may give
# SQPnP refuses landmarks whose spread, in units of the focal length, has a variance under 1e-5 (OpenCV's
# POINT_VARIANCE_THRESHOLD): a face that spans under ~0.3 % of the focal length, i.e. a long lens or a far
# face (measured: 632 mm 35 mm-equivalent on the 512 px astronaut, 1163 mm on Grace Hopper; a 40 px eye
# distance on a 100 MP photo fails from ~30 mm). Below twice that, the pose is fitted with EPnP instead,
# which handles the near-orthographic case (the same pose as SQPnP where both work).
_SQPNP_MIN_VARIANCE = 2e-5


def no_progress(fraction: float, message: str) -> None:
    """A progress callback that ignores everything."""


@dataclass(frozen=True)
class PhotoAnalysis:
    """What the analysis knows about the photo's chosen face and its camera (capture camera space)."""

    faces: FaceAnalysis
    focal: CaptureFocal
    intrinsics: Intrinsics  # full-resolution capture camera
    distance_m: float  # depth of E
    distance_source: str  # "iris" or "user"
    pose_fit: PoseFit
    eye_midpoint: np.ndarray  # (3,) E in camera space, metres
    pose: HeadPose  # relative to the line of sight (0, 0, 0 = looking into the lens)
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def face_rotation(self) -> np.ndarray:
        return self.pose_fit.rotation

    def summary(self) -> dict:
        """Plain data for reports and the status bar."""
        p = self.pose
        w, h = self.faces.image_size
        return {
            "image_size": [w, h],
            "faces": len(self.faces.faces),
            "face_index": self.faces.chosen,
            "capture_focal_35mm": round(self.focal.focal_35mm, 2),
            "capture_focal_source": self.focal.source,
            **({"capture_focal_note": self.focal.note} if self.focal.note else {}),
            "capture_focal_px": round(self.intrinsics.focal_px, 2),
            "capture_distance_cm": round(self.distance_m * 100.0, 1),
            "capture_distance_source": self.distance_source,
            "eye_distance_px": round(self.faces.face.eye_distance_px, 1),
            "head_pose_deg": {"yaw": round(p.yaw_deg, 2), "pitch": round(p.pitch_deg, 2), "roll": round(p.roll_deg, 2)},
        "head_pose_camera_axes_deg": {k: round(getattr(self.pose_fit.pose, f"{k}_deg"), 2) for k in ("yaw", "pitch", "roll")},
        }


def analyze_photo(
    photo: Photo,
    *,
    face_index: int | None = None,
    capture_focal_35mm: float | None = None,
    distance_cm: float | None = None,
    progress: Progress = no_progress,
    is_cancelled: Callable[[], bool] = lambda: False,
) -> PhotoAnalysis:
    """Analyse ``photo``: faces, capture focal (EXIF/default/user), pose and distance of the chosen face."""
    timings: dict[str, float] = {}
    lo, hi = DISTANCE_RANGE_CM
    if distance_cm is not None and not (math.isfinite(distance_cm) and lo <= distance_cm <= hi):
        raise UserInputError(f"A capture distance of {distance_cm:g} cm is not plausible ({lo:g}-{hi:g} cm).")
    meta = photo.meta
    focal = capture_focal(meta.focal_length_35mm, meta.focal_length_mm, meta.make, meta.model, capture_focal_35mm)
    intr = Intrinsics.from_35mm(focal.focal_35mm, photo.width, photo.height)
    progress(0.05, "Finding faces")
    t = time.perf_counter()
    faces = analyze_faces(to_uint8_strips(photo.rgb), face_index, name=photo.path.name)
    timings["faces"] = time.perf_counter() - t
    timings.update({f"faces.{k}": v for k, v in faces.timings_s.items()})
    if is_cancelled():
        raise Cancelled()
    progress(0.6, "Estimating head pose")
    t = time.perf_counter()
    fit = _fit_pose(faces.face.landmarks, intr)
    # The eye line is foreshortened by the yaw relative to the line of sight, not to the optical axis.
    E_dir = intr.unproject(faces.face.eye_midpoint_px[None], np.array([1.0]))[0]
    seen = pose_toward_camera(fit.rotation, E_dir * 0.4)
    if distance_cm is not None:
        d, source = distance_cm / 100.0, "user"
    else:
        d = capture_distance_from_iris(faces.face.eye_distance_px, intr.focal_px, seen.yaw_deg)
        source = "iris"
    E = intr.unproject(faces.face.eye_midpoint_px[None], np.array([d]))[0]
    pose = pose_toward_camera(fit.rotation, E)
    timings["pose"] = time.perf_counter() - t
    progress(1.0, "Analysed")
    return PhotoAnalysis(faces, focal, intr, d, source, fit, E, pose, timings)


def _fit_pose(landmarks_px: np.ndarray, intr: Intrinsics) -> PoseFit:
    """:func:`~super_gui.core.headpose.fit_head_pose`, or the same fit started from EPnP where the face is too
    small in units of the focal length for SQPnP (see :data:`_SQPNP_MIN_VARIANCE`)."""
    import cv2

    idx = np.array(headpose._RIGID)
    img = np.ascontiguousarray(landmarks_px[idx, :2], dtype=np.float64)
    normalised = (img - [intr.cx, intr.cy]) / intr.focal_px
    variance = float(np.mean(np.sum((normalised - normalised.mean(axis=0)) ** 2, axis=1)))
    if variance >= _SQPNP_MIN_VARIANCE:
        return fit_head_pose(landmarks_px, intr)
    obj = headpose.face_template().points_m[idx]
    K = intr.K
    ok, rvec, tvec = cv2.solvePnP(obj, img, K, None, flags=cv2.SOLVEPNP_EPNP)
    if not ok:  # pragma: no cover - EPnP does not fail on 60+ points in general position
        raise RuntimeError("head pose estimation failed")
    rvec, tvec = cv2.solvePnPRefineLM(obj, img, K, None, rvec, tvec)
    R, _ = cv2.Rodrigues(rvec)
    proj, _ = cv2.projectPoints(obj, rvec, tvec, K, None)
    rms = float(np.sqrt(np.mean(np.sum((proj[:, 0] - img) ** 2, axis=1))))
    return PoseFit(HeadPose.from_rotation(R), R, tvec.ravel(), rms)
