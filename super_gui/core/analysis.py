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
from super_gui.core.headpose import PoseFit, fit_head_pose, pose_toward_camera
from super_gui.core.image_io import Photo
from super_gui.core.strips import to_uint8_strips
from super_gui.errors import Cancelled, UserInputError

Progress = Callable[[float, str], None]
DISTANCE_RANGE_CM = (10.0, 2000.0)  # capture distances a user may give


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


def check_distance(distance_cm: float | None) -> None:
    """Refuse a capture distance the user gave that no photo could have (:data:`DISTANCE_RANGE_CM`)."""
    lo, hi = DISTANCE_RANGE_CM
    if distance_cm is not None and not (math.isfinite(distance_cm) and lo <= distance_cm <= hi):
        raise UserInputError(f"A capture distance of {distance_cm:g} cm is not plausible ({lo:g}-{hi:g} cm).")


def photo_focal(photo: Photo, capture_focal_35mm: float | None = None) -> CaptureFocal:
    """The capture focal length of ``photo``: the user's, EXIF's or the phone default (one per photo)."""
    meta = photo.meta
    return capture_focal(meta.focal_length_35mm, meta.focal_length_mm, meta.make, meta.model, capture_focal_35mm)


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
    check_distance(distance_cm)
    focal = photo_focal(photo, capture_focal_35mm)
    progress(0.05, "Finding faces")
    t = time.perf_counter()
    faces = analyze_faces(to_uint8_strips(photo.rgb), face_index, name=photo.path.name)
    timings["faces"] = time.perf_counter() - t
    timings.update({f"faces.{k}": v for k, v in faces.timings_s.items()})
    if is_cancelled():
        raise Cancelled()
    return analyze_face(photo, faces, focal, distance_cm=distance_cm, progress=progress, timings=timings)


def analyze_face(
    photo: Photo,
    faces: FaceAnalysis,
    focal: CaptureFocal,
    *,
    distance_cm: float | None = None,
    progress: Progress = no_progress,
    timings: dict[str, float] | None = None,
) -> PhotoAnalysis:
    """The pose and distance of the face ``faces.chosen`` of ``photo`` (its faces already found: a group
    photo's faces are found once and each analysed here, a few milliseconds each)."""
    timings = {} if timings is None else timings
    check_distance(distance_cm)
    intr = Intrinsics.from_35mm(focal.focal_35mm, photo.width, photo.height)
    progress(0.6, "Estimating head pose")
    t = time.perf_counter()
    fit = fit_head_pose(faces.face.landmarks, intr)
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
