"""Camera, head pose and lighting of the head-scan renders (``bench/scan_render.py``): the pinhole intrinsics
(``f_px = f35 * hypot(W, H) / 43.27``, principal point at the image centre), the head's turn about the neck pivot
(``edit_rotation``, ``head_to_cam_matrix``), the near and far clip distances, the default mid-grey backdrop and the
two lightings ("key" and "side", ``LIGHTS``). Moved out of bench/scan_render.py unchanged; the conventions are in
that module's docstring.
"""
from __future__ import annotations

import numpy as np

PIVOT_BACK_M = 0.07      # neck pivot behind E (head +z)
PIVOT_DOWN_M = 0.07      # neck pivot below E (head +y)
NEAR_M, FAR_M = 0.05, 10.0
BACKGROUND = 128

# light, in camera coordinates, pointing from the surface toward the light: a key light just above-left of the
# camera (a "headlight" that still models the face), plus ambient.
_LIGHT_DIR = np.array([-0.35, -0.45, -1.0])
_AMBIENT, _DIFFUSE = 0.38, 0.72
# The quality benchmark's second lighting: a harder key from the image's right and lower, less fill.
LIGHTS = {
    "key": (_LIGHT_DIR, _AMBIENT, _DIFFUSE),
    "side": (np.array([0.8, -0.1, -0.6]), 0.22, 0.95),
}


# --------------------------------------------------------------------------------------------------------------
# Cameras
# --------------------------------------------------------------------------------------------------------------

def intrinsics(width: int, height: int, focal_35mm: float) -> np.ndarray:
    """K for a W x H image: f_px = f35 * hypot(W, H) / 43.27, principal point at the image centre."""
    f = float(focal_35mm) * float(np.hypot(width, height)) / 43.27
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def _rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])


def _rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1.0, 0], [-s, 0, c]])


def edit_rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """R_edit = R_pitch @ R_yaw about the camera axes. +yaw: nose toward image right; +pitch: chin up."""
    return _rot_x(-np.radians(pitch_deg)) @ _rot_y(-np.radians(yaw_deg))


def head_to_cam_matrix(distance_m: float, yaw_deg: float = 0.0, pitch_deg: float = 0.0) -> np.ndarray:
    """4x4 head->camera: E at (0, 0, d) when frontal; the head turns about the neck pivot P (DESIGN.md §3)."""
    R = edit_rotation(yaw_deg, pitch_deg)
    P = np.array([0.0, PIVOT_DOWN_M, PIVOT_BACK_M])
    P_cam = np.array([0.0, 0.0, float(distance_m)]) + P
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = P_cam - R @ P
    return T
