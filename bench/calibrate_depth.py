"""Calibrate MediaPipe's relative depth against ground truth (the numbers in super_gui/inversion/landmark_depth.py).

Face Mesh's z comes out flattened and bent for close faces: in renders of the Lee Perry-Smith scan
(CC BY 3.0) at 25 cm its nose relief is about right while the jaw and face contour come out 20-40 mm
too shallow and the chin lands behind the eyes; from ~1 m on it flattens the nose by 4-5 mm. This script
renders the scan facing the camera at distances from 25 cm to 2.5 m, at two face sizes in the frame (focal
96 and 72 mm per metre of distance) and under both lightings of bench/scan_render.py, runs super_gui's own
face analysis, and fits, per render, ``true_relief = relief_design(...) @ coef``: a gain on MediaPipe's relief
made metric plus IOD x a low-order field in the landmark's offset (u, v) from E in eye distances (1, v, u^2,
v^2, u^2 v, v^3, and a bump at the nose tip; see super_gui/inversion/landmark_depth.py). The field is even in u (a face is
left/right symmetric) and smooth, so it models how MediaPipe bends depth with perspective, not this one
head's features. Each coefficient is then fitted as a straight line in s = 0.25 m / d (the perspective
strength, 1 at 25 cm) over all renders: the printed table goes into landmark_depth.py. The per-render gains show how
much the lighting alone moves MediaPipe's depth scale (~0.85-1.3 with the key light, ~0.55-0.85 with the
side light), which is why both are pooled.

    .venv/bin/python -m bench.calibrate_depth
"""

from __future__ import annotations

import sys

import numpy as np

from bench import scan_render as sr
from super_gui.core.face import detect_faces
from super_gui.core.native_log import silence_native_logging
from super_gui.inversion.landmark_depth import relief_design

DISTANCES = (0.25, 0.28, 0.30, 0.35, 0.40, 0.45, 0.50, 0.60, 0.80, 1.00, 1.20, 1.50, 2.00, 2.50)
# Focal per metre of distance (two face sizes in the frame: eye distance ~178 px and ~133 px at 768 x 1024)
# and the lightings of bench/scan_render.py: MediaPipe's bias must be fitted across all of them.
FOCALS_PER_M = (96.0, 72.0)
LIGHTS = ("key", "side")
# Frontal only: selfies face the lens, and on turned renders the far cheek's contour landmarks sample the
# surface behind the silhouette, which drags the fitted gain down (0.7-0.85 against 0.9-1.3 frontal).
YAWS = (0.0,)


def samples():
    for d, k, light, yaw in ((d, k, light, yaw) for d in DISTANCES for k in FOCALS_PER_M for light in LIGHTS for yaw in YAWS):
        view = sr.render_scan(768, 1024, k * d, d, yaw_deg=yaw, light=light)
        faces, _, _ = detect_faces(view.image)
        if not faces:
            continue
        lm = faces[0].landmarks
        K = view.K
        h, w = view.depth.shape
        ui = np.clip(np.round(lm[:468, 0]).astype(int), 0, w - 1)
        vi = np.clip(np.round(lm[:468, 1]).astype(int), 0, h - 1)
        ok = view.mask[vi, ui]
        d_true = float(view.head_to_cam[2, 3])
        true_relief = view.depth[vi, ui] - d_true
        A = relief_design(lm, K[0, 0], d_true)[:468]
        yield d, f"{k:.0f}/m {light}", A[ok], true_relief[ok]


def main() -> int:
    if not sr.scan_available():
        print(f"skipped: the head scan is not at {sr.SCAN_DIR}")
        return 0
    silence_native_logging()
    rows = []
    print(f"{'d (m)':>6} {'shot':>11} {'gain':>6} {'rms raw (mm)':>13} {'rms gain-only (mm)':>19} {'rms fitted (mm)':>16}")
    for d, yaw, A, t in samples():
        r = A[:, 0]
        coef, *_ = np.linalg.lstsq(A, t, rcond=None)
        g_only = float(r @ t / (r @ r))
        rms = lambda e: float(np.sqrt(np.mean(e**2)) * 1000)  # noqa: E731
        print(f"{d:6.2f} {yaw:>11} {coef[0]:6.3f} {rms(r - t):13.1f} {rms(g_only * r - t):19.1f} {rms(A @ coef - t):16.1f}")
        rows.append((0.25 / d, coef))
    s = np.array([r[0] for r in rows])
    C = np.array([r[1] for r in rows])
    lines = np.polyfit(s, C, 1)  # (2, 7): slope, intercept per coefficient
    print("\nPaste into super_gui/inversion/landmark_depth.py (_RELIEF_FIT: rows = gain, then the field's coefficients; columns = slope, intercept in s = 0.25/d):")
    print("_RELIEF_FIT = np.array([")
    for k in range(C.shape[1]):
        print(f"    [{lines[0, k]:+.5f}, {lines[1, k]:+.5f}],")
    print("])")
    return 0


if __name__ == "__main__":
    sys.exit(main())
