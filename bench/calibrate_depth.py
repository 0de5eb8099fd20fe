"""Calibrate MediaPipe's relative depth against ground truth (the numbers in super_gui/core/depth.py).

Face Mesh's z comes out flattened and bent for close faces: in renders of the Lee Perry-Smith scan
(CC BY 3.0) at 25 cm its nose relief is about right while the jaw and face contour come out 20-40 mm
too shallow and the chin lands behind the eyes. This script renders the scan at distances from 25 cm
to 1.2 m (face kept at a similar size in the frame, facing the camera), runs super_gui's own
face analysis, and fits, per render,

    true_relief_i = gain * mp_relief_i + IOD * (c0 + c1 v + c2 u^2 + c3 v^2 + c4 u^2 v + c5 v^3)

where mp_relief_i = (z_i - z_E) * d / f (MediaPipe z made metric), (u, v) = landmark position relative
to E in units of the eye distance (u across, v down) and IOD = 0.063 m. The field is even in u (a face
is left/right symmetric) and low-order, so it models how MediaPipe bends depth with perspective, not
this one head's features. Each coefficient is then fitted as a straight line in s = 0.25 m / d (the
perspective strength, 1 at 25 cm): the printed table goes into depth.py.

    .venv/bin/python -m bench.calibrate_depth
"""

from __future__ import annotations

import sys

import numpy as np

from bench import scan_render as sr
from super_gui.core.face import IRIS_A, IRIS_B, detect_faces, silence_native_logging

DISTANCES = (0.25, 0.28, 0.30, 0.35, 0.40, 0.45, 0.50, 0.60, 0.80, 1.00, 1.20)
# Frontal only: selfies face the lens, and on turned renders the far cheek's contour landmarks sample the
# surface behind the silhouette, which drags the fitted gain down (0.7-0.85 against 0.9-1.3 frontal).
YAWS = (0.0,)


def basis(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(N, 6) the correction field's basis (see the module docstring)."""
    return np.stack([np.ones_like(u), v, u * u, v * v, u * u * v, v**3], axis=1)


def samples():
    for d in DISTANCES:
        f35 = 24.0 * d / 0.25
        for yaw in YAWS:
            view = sr.render_scan(768, 1024, f35, d, yaw_deg=yaw)
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
            z_e = 0.5 * (lm[IRIS_A, 2] + lm[IRIS_B, 2])
            mp_relief = (lm[:468, 2] - z_e) * d_true / K[0, 0]
            true_relief = view.depth[vi, ui] - d_true
            e = 0.5 * (lm[IRIS_A, :2] + lm[IRIS_B, :2])
            iod = np.linalg.norm(lm[IRIS_A, :2] - lm[IRIS_B, :2])
            u = (lm[:468, 0] - e[0]) / iod
            v = (lm[:468, 1] - e[1]) / iod
            yield d, yaw, mp_relief[ok], true_relief[ok], u[ok], v[ok]


def main() -> int:
    if not sr.scan_available():
        print(f"skipped: the head scan is not at {sr.SCAN_DIR}")
        return 0
    silence_native_logging()
    rows = []
    print(f"{'d (m)':>6} {'yaw':>5} {'gain':>6} {'rms raw (mm)':>13} {'rms gain-only (mm)':>19} {'rms fitted (mm)':>16}")
    for d, yaw, r, t, u, v in samples():
        A = np.column_stack([r, 0.063 * basis(u, v)])
        coef, *_ = np.linalg.lstsq(A, t, rcond=None)
        g_only = float(r @ t / (r @ r))
        rms = lambda e: float(np.sqrt(np.mean(e**2)) * 1000)  # noqa: E731
        print(f"{d:6.2f} {yaw:5.0f} {coef[0]:6.3f} {rms(r - t):13.1f} {rms(g_only * r - t):19.1f} {rms(A @ coef - t):16.1f}")
        rows.append((0.25 / d, coef))
    s = np.array([r[0] for r in rows])
    C = np.array([r[1] for r in rows])
    lines = np.polyfit(s, C, 1)  # (2, 7): slope, intercept per coefficient
    print("\nPaste into super_gui/core/depth.py (_RELIEF_FIT: rows = gain, c0..c5; columns = slope, intercept in s = 0.25/d):")
    print("_RELIEF_FIT = np.array([")
    for k in range(C.shape[1]):
        print(f"    [{lines[0, k]:+.5f}, {lines[1, k]:+.5f}],")
    print("])")
    return 0


if __name__ == "__main__":
    sys.exit(main())
