"""Cameras, head pose and the two view edits (dolly zoom, head rotation about the neck).

Conventions (DESIGN.md §3), pinned by ``tests/core/test_camera.py``:

* metres; OpenCV pinhole camera space: x right, y down, z forward; pixel origin top-left, principal
  point at the image centre unless known;
* ``f_px = f35 * hypot(W, H) / 43.27`` (35 mm-equivalent focal length to pixels);
* ``E`` is the 3D midpoint of the two eye (iris) centres; the capture distance ``d`` is E's depth;
* dolly zoom: the virtual camera keeps the capture orientation, moves back along its optical axis so E's
  depth becomes ``d * f35' / f35`` and uses ``f35'``: points at E's depth keep their pixel;
* head edit: ``R_edit = R_pitch @ R_yaw`` about the camera's axes, about a neck pivot 0.07 m behind and
  0.07 m below E in the face's own axes; +yaw moves the nose toward the image's right edge, +pitch lifts
  the chin (nose moves up);
* head pose: the face frame (columns: face right, face down, face backward) is
  ``R_pitch(pitch) @ R_yaw(yaw) @ R_roll(roll)``, so a pose edit adds to the measured yaw and pitch.
  +roll turns the face clockwise in the image.

Pure functions on numpy arrays; no Qt, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

FULL_FRAME_DIAGONAL_MM = 43.27
DEFAULT_CAPTURE_FOCAL_MM = 26.0  # a typical phone front camera, 35 mm-equivalent
INTERPUPILLARY_M = 0.063  # adult mean interpupillary distance
NECK_PIVOT_BACK_M = 0.07
NECK_PIVOT_DOWN_M = 0.07
UNDISTORT_FOCAL_MM = 85.0  # the one-click "Undistort" preset: a portrait lens

FocalSource = Literal["user", "exif-35mm", "exif-focal-length", "default"]

# 35 mm crop factors of cameras whose EXIF gives FocalLength but not FocalLengthIn35mmFilm. Keyed by a
# lower-case substring of "make model". Values from the makers' published 35 mm equivalents.
_KNOWN_CROP_FACTORS: tuple[tuple[str, float], ...] = (
    ("canon eos 5d", 1.0),
    ("canon eos r5", 1.0),
    ("canon eos r6", 1.0),
    ("nikon d8", 1.0),  # D800/D810/D850
    ("nikon z 6", 1.0),
    ("nikon z 7", 1.0),
    ("ilce-7", 1.0),  # Sony A7 family
    ("canon eos 80d", 1.6),
    ("canon eos 90d", 1.6),
    ("ilce-6", 1.5),  # Sony A6000 family
    ("nikon d7", 1.5),
    ("fujifilm x-t", 1.5),
    ("olympus", 2.0),
    ("om digital", 2.0),
    ("panasonic dc-g", 2.0),
)


CAPTURE_FOCAL_RANGE_MM = (5.0, 1200.0)  # 35 mm-equivalent capture focal lengths taken from EXIF or the user


@dataclass(frozen=True)
class CaptureFocal:
    """The capture lens as a 35 mm-equivalent focal length and where that number came from. ``note`` says
    why an EXIF value was not used (implausible), else None."""

    focal_35mm: float
    source: FocalSource
    note: str | None = None


def plausible_focal(focal_35mm: float | None) -> bool:
    """Whether a 35 mm-equivalent focal length lies in :data:`CAPTURE_FOCAL_RANGE_MM` (NaN and inf do not)."""
    lo, hi = CAPTURE_FOCAL_RANGE_MM
    return focal_35mm is not None and math.isfinite(focal_35mm) and lo <= focal_35mm <= hi


def capture_focal(
    exif_focal_35mm: float | None,
    exif_focal_mm: float | None,
    make: str | None = None,
    model: str | None = None,
    user_focal_35mm: float | None = None,
) -> CaptureFocal:
    """Pick the capture focal: the user's value, else EXIF 35 mm, else EXIF focal x known crop, else 26 mm.

    An EXIF value outside :data:`CAPTURE_FOCAL_RANGE_MM` (a crafted or broken file: 0, 1e6, 1e300) is ignored
    and named in ``note``; the user's value outside it is refused.
    """
    lo, hi = CAPTURE_FOCAL_RANGE_MM
    if user_focal_35mm is not None:
        if not plausible_focal(user_focal_35mm):
            from super_gui.errors import UserInputError

            raise UserInputError(f"A capture focal length of {user_focal_35mm:g} mm is not plausible ({lo:g}-{hi:g} mm).")
        return CaptureFocal(float(user_focal_35mm), "user")
    ignored = []
    if exif_focal_35mm is not None:
        if plausible_focal(exif_focal_35mm):
            return CaptureFocal(float(exif_focal_35mm), "exif-35mm")
        ignored.append(f"EXIF FocalLengthIn35mmFilm {exif_focal_35mm:g} mm")
    if exif_focal_mm is not None:
        name = f"{make or ''} {model or ''}".lower()
        for key, crop in _KNOWN_CROP_FACTORS:
            if key in name:
                f35 = float(exif_focal_mm) * crop if math.isfinite(exif_focal_mm) else float("nan")
                if plausible_focal(f35) and exif_focal_mm > 0:
                    return CaptureFocal(f35, "exif-focal-length")
                ignored.append(f"EXIF FocalLength {exif_focal_mm:g} mm (x{crop:g})")
                break
    note = None
    if ignored:
        note = (f"{' and '.join(ignored)} ignored: not a plausible lens ({lo:g}-{hi:g} mm, 35 mm-equivalent); "
                f"using the {DEFAULT_CAPTURE_FOCAL_MM:g} mm default (--capture-focal sets it)")
    return CaptureFocal(DEFAULT_CAPTURE_FOCAL_MM, "default", note)


def focal_px_from_35mm(focal_35mm: float, width: int, height: int) -> float:
    """35 mm-equivalent focal length (mm) to pixels for a ``width`` x ``height`` image."""
    return float(focal_35mm) * math.hypot(width, height) / FULL_FRAME_DIAGONAL_MM


def focal_35mm_from_px(focal_px: float, width: int, height: int) -> float:
    """Inverse of :func:`focal_px_from_35mm`."""
    return float(focal_px) * FULL_FRAME_DIAGONAL_MM / math.hypot(width, height)


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics with square pixels. ``cx, cy`` in pixels (pixel centres at integer + 0.5 are
    not used: pixel (0, 0) is the top-left pixel's centre, as OpenCV does)."""

    focal_px: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_35mm(cls, focal_35mm: float, width: int, height: int) -> "Intrinsics":
        return cls(focal_px_from_35mm(focal_35mm, width, height), (width - 1) / 2.0, (height - 1) / 2.0, width, height)

    @property
    def focal_35mm(self) -> float:
        return focal_35mm_from_px(self.focal_px, self.width, self.height)

    @property
    def K(self) -> np.ndarray:
        """(3, 3) float64 camera matrix."""
        return np.array([[self.focal_px, 0.0, self.cx], [0.0, self.focal_px, self.cy], [0.0, 0.0, 1.0]])

    def scaled(self, factor: float) -> "Intrinsics":
        """The same camera for the image resized by ``factor`` (pixel centres kept consistent)."""
        w, h = max(1, round(self.width * factor)), max(1, round(self.height * factor))
        sx, sy = w / self.width, h / self.height
        return Intrinsics(self.focal_px * sx, (self.cx + 0.5) * sx - 0.5, (self.cy + 0.5) * sy - 0.5, w, h)

    def with_focal_35mm(self, focal_35mm: float) -> "Intrinsics":
        return Intrinsics(focal_px_from_35mm(focal_35mm, self.width, self.height), self.cx, self.cy, self.width, self.height)

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) camera-space points (z > 0) -> (N, 2) pixels."""
        p = np.asarray(points, dtype=np.float64)
        z = p[:, 2]
        return np.stack([self.focal_px * p[:, 0] / z + self.cx, self.focal_px * p[:, 1] / z + self.cy], axis=1)

    def unproject(self, pixels: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """(N, 2) pixels and (N,) depths (z, metres) -> (N, 3) camera-space points."""
        px = np.asarray(pixels, dtype=np.float64)
        z = np.asarray(depth, dtype=np.float64)
        return np.stack([(px[:, 0] - self.cx) * z / self.focal_px, (px[:, 1] - self.cy) * z / self.focal_px, z], axis=1)


def capture_distance_from_iris(ipd_px: float, focal_px: float, yaw_deg: float = 0.0) -> float:
    """Depth of E (m) from the iris distance in pixels, with the 63 mm interpupillary prior.

    A head turned by ``yaw`` shows its eye line foreshortened by ``cos(yaw)``, so the raw estimate
    ``f * 0.063 / ipd`` would come out too far by ``1 / cos(yaw)``.
    """
    if ipd_px <= 0:
        raise ValueError("ipd_px must be positive")
    return focal_px * INTERPUPILLARY_M * math.cos(math.radians(yaw_deg)) / ipd_px


# --- rotations (camera axes) -------------------------------------------------------------------


def rotation_yaw(yaw_deg: float) -> np.ndarray:
    """(3, 3) rotation about the camera's y axis; +yaw sends a vector pointing at the camera to +x."""
    c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    return np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])


def rotation_pitch(pitch_deg: float) -> np.ndarray:
    """(3, 3) rotation about the camera's x axis; +pitch sends a vector pointing at the camera to -y (up)."""
    c, s = math.cos(math.radians(pitch_deg)), math.sin(math.radians(pitch_deg))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]])


def rotation_roll(roll_deg: float) -> np.ndarray:
    """(3, 3) rotation about the camera's z axis; +roll turns the image clockwise (x toward +y)."""
    c, s = math.cos(math.radians(roll_deg)), math.sin(math.radians(roll_deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def head_edit_rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """``R_edit = R_pitch @ R_yaw``: yaw first, then pitch, both about the camera's axes."""
    return rotation_pitch(pitch_deg) @ rotation_yaw(yaw_deg)


@dataclass(frozen=True)
class HeadPose:
    """Orientation of the face relative to the camera, degrees (see the module docstring)."""

    yaw_deg: float
    pitch_deg: float
    roll_deg: float

    @property
    def rotation(self) -> np.ndarray:
        """(3, 3) face frame in camera space: columns face-right, face-down, face-backward."""
        return head_edit_rotation(self.yaw_deg, self.pitch_deg) @ rotation_roll(self.roll_deg)

    @classmethod
    def from_rotation(cls, R: np.ndarray) -> "HeadPose":
        """Decompose ``R = R_pitch(p) @ R_yaw(y) @ R_roll(r)`` (= Rx(-p) Ry(-y) Rz(r))."""
        R = np.asarray(R, dtype=np.float64)
        b = math.asin(float(np.clip(R[0, 2], -1.0, 1.0)))
        a = math.atan2(-R[1, 2], R[2, 2])
        c = math.atan2(-R[0, 1], R[0, 0])
        return cls(yaw_deg=-math.degrees(b), pitch_deg=-math.degrees(a), roll_deg=math.degrees(c))


def neck_pivot(eye_midpoint: np.ndarray, face_rotation: np.ndarray) -> np.ndarray:
    """(3,) neck pivot in camera space: 0.07 m behind and 0.07 m below E along the face's own axes."""
    R = np.asarray(face_rotation, dtype=np.float64)
    return np.asarray(eye_midpoint, dtype=np.float64) + NECK_PIVOT_DOWN_M * R[:, 1] + NECK_PIVOT_BACK_M * R[:, 2]


# --- the virtual camera --------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """What the sliders ask for. ``focal_35mm=None`` means the capture focal (no dolly zoom)."""

    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    focal_35mm: float | None = None

    def is_identity(self, capture_focal_35mm: float) -> bool:
        f = capture_focal_35mm if self.focal_35mm is None else self.focal_35mm
        return self.yaw_deg == 0.0 and self.pitch_deg == 0.0 and abs(f - capture_focal_35mm) < 1e-9


@dataclass(frozen=True)
class VirtualCamera:
    """Everything needed to move capture-camera-space points into the virtual view.

    ``head_transform(X) = R_edit @ (X - pivot) + pivot`` applies to head points (weight 1), torso
    points stay (weight 0), the neck blends linearly; then the dolly zoom adds ``dolly_shift_m`` to z
    and the virtual intrinsics project.
    """

    intrinsics: Intrinsics
    rotation: np.ndarray  # (3, 3) R_edit
    pivot: np.ndarray  # (3,) neck pivot, capture camera space
    dolly_shift_m: float  # d' - d >= 0 for a longer lens

    def transform(self, points: np.ndarray, head_weight: np.ndarray | float = 1.0) -> np.ndarray:
        """(N, 3) capture-space points, (N,) or scalar head weights in [0, 1] -> (N, 3) virtual-camera points."""
        p = np.asarray(points, dtype=np.float64)
        w = np.asarray(head_weight, dtype=np.float64)
        if w.ndim == 1:
            w = w[:, None]
        turned = (p - self.pivot) @ self.rotation.T + self.pivot
        out = w * turned + (1.0 - w) * p
        out[:, 2] += self.dolly_shift_m
        return out

    def project(self, points: np.ndarray, head_weight: np.ndarray | float = 1.0) -> np.ndarray:
        """(N, 3) capture-space points -> (N, 2) pixels in the virtual view."""
        return self.intrinsics.project(self.transform(points, head_weight))


def dolly_zoom(capture: Intrinsics, capture_focal_35mm: float, distance_m: float, focal_35mm: float) -> tuple[Intrinsics, float]:
    """Virtual intrinsics and the backward shift (m) that keep E's depth plane fixed on screen.

    The camera moves back along its optical axis so E's depth becomes ``d * f35' / f35``.
    """
    if focal_35mm <= 0 or capture_focal_35mm <= 0:
        raise ValueError("focal lengths must be positive")
    scale = focal_35mm / capture_focal_35mm
    virtual = Intrinsics(capture.focal_px * scale, capture.cx, capture.cy, capture.width, capture.height)
    return virtual, distance_m * scale - distance_m


def virtual_camera(
    capture: Intrinsics,
    capture_focal_35mm: float,
    eye_midpoint: np.ndarray,
    face_rotation: np.ndarray,
    view: View,
) -> VirtualCamera:
    """The virtual camera for ``view`` given the capture camera and the head's E and orientation."""
    E = np.asarray(eye_midpoint, dtype=np.float64)
    f = capture_focal_35mm if view.focal_35mm is None else view.focal_35mm
    intr, shift = dolly_zoom(capture, capture_focal_35mm, float(E[2]), f)
    return VirtualCamera(intr, head_edit_rotation(view.yaw_deg, view.pitch_deg), neck_pivot(E, face_rotation), shift)
