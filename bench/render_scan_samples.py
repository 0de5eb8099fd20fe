"""Render a contact sheet of ground-truth head-scan views and check them with MediaPipe.

    python -m bench.render_scan_samples          (from the repository root)

Writes bench/out/scan_samples.png (2x2: close wide, far long with the same face size, yaw +25, pitch +10) with the
projected eye centres (green) and MediaPipe's iris landmarks (red) marked, and prints per view: faces found, the
projected-vs-detected iris error in px (and as a fraction of the inter-ocular distance), the render time, and how
MediaPipe's relative depth compares with the true depth (slope of a regression of its z on the true relief).
Also checks the pose signs of DESIGN.md §3 (+yaw: nose to the image right; +pitch: nose up).

Head scan: "Infinite, 3D Head Scan" by Lee Perry-Smith, CC BY 3.0.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import scan_render as sr  # noqa: E402

W, H = 768, 1024
VIEWS = [
    ("a) 0.30 m, 24 mm", dict(focal_35mm=24.0, distance_m=0.30)),
    ("b) 3.0 m, 240 mm", dict(focal_35mm=24.0 * 3.0 / 0.30, distance_m=3.0)),
    ("c) yaw +25, 1 m, 50 mm", dict(focal_35mm=50.0, distance_m=1.0, yaw_deg=25.0)),
    ("d) pitch +10, 1 m, 50 mm", dict(focal_35mm=50.0, distance_m=1.0, pitch_deg=10.0)),
]


def nose_tip(head: sr.ScanHead) -> np.ndarray:
    """The most forward vertex near the midline, in the head frame."""
    v = head.vertices
    near = np.abs(v[:, 0]) < 0.02
    return v[near][np.argmin(v[near][:, 2])].astype(np.float64)


def check_signs(head: sr.ScanHead) -> None:
    tip = nose_tip(head)
    p0 = sr.render_scan(W, H, 50.0, 1.0).project(tip[None])[0]
    py = sr.render_scan(W, H, 50.0, 1.0, yaw_deg=20.0).project(tip[None])[0]
    pp = sr.render_scan(W, H, 50.0, 1.0, pitch_deg=10.0).project(tip[None])[0]
    print(f"nose tip px: frontal ({p0[0]:.1f}, {p0[1]:.1f})  yaw+20 ({py[0]:.1f}, {py[1]:.1f})  "
          f"pitch+10 ({pp[0]:.1f}, {pp[1]:.1f})")
    assert py[0] > p0[0] + 10, "+yaw must move the nose toward the image's right"
    assert pp[1] < p0[1] - 5, "+pitch must move the nose up"
    # the rendered image agrees with project(): the nose tip's depth in the depth buffer matches
    v = sr.render_scan(W, H, 50.0, 1.0, yaw_deg=20.0)
    z_true = v.to_camera(tip[None])[0, 2]
    u, w = np.round(py).astype(int)
    print(f"yaw+20 nose tip: projected depth {z_true:.4f} m, depth buffer {v.depth[w, u]:.4f} m")
    print("pose signs OK")


def depth_slope(view: sr.ScanView, lm: np.ndarray) -> tuple[float, float]:
    """Regress MediaPipe's z (pixels, scaled like x; metric via Z_E / f) on the true relief at the same pixels."""
    u = np.round(lm[:468, 0]).astype(int)
    w = np.round(lm[:468, 1]).astype(int)
    ok = (u >= 0) & (u < W) & (w >= 0) & (w < H)
    ok[ok] &= view.mask[w[ok], u[ok]]
    z_true = view.depth[w[ok], u[ok]].astype(np.float64)
    f = view.K[0, 0]
    z_E = view.to_camera(np.zeros((1, 3)))[0, 2]
    z_mp = lm[:468, 2][ok] * z_E / f
    a = z_true - z_true.mean()
    b = z_mp - z_mp.mean()
    slope = float((a @ b) / (a @ a))
    rms = float(np.sqrt(np.mean((b - slope * a) ** 2)))
    return slope, rms


def main() -> int:
    if not sr.scan_available():
        print(f"head scan not found in {sr.SCAN_DIR}")
        return 1
    t = time.perf_counter()
    head = sr.load_scan()
    print(f"load_scan: {time.perf_counter() - t:.2f} s  (eye centres {head.eye_left} / {head.eye_right}, "
          f"{head.vertices.shape[0]} vertices)")
    check_signs(head)
    # render time at 1024 px long side (warm)
    for size in ((768, 1024), (1024, 1024)):
        ts = []
        for _ in range(5):
            t = time.perf_counter()
            sr.render_scan(*size, 50.0, 1.0)
            ts.append(time.perf_counter() - t)
        print(f"render_scan {size[0]}x{size[1]}: median {1000 * np.median(ts):.1f} ms, min {1000 * min(ts):.1f} ms")

    tiles = []
    eyes = np.stack([head.eye_left, head.eye_right])
    for label, kw in VIEWS:
        t = time.perf_counter()
        view = sr.render_scan(W, H, **kw)
        dt = time.perf_counter() - t
        proj = view.project(eyes)
        iod = float(np.linalg.norm(proj[1] - proj[0]))
        lm = sr.detect_landmarks(view.image)
        tile = np.ascontiguousarray(view.image[:, :, ::-1])
        line = f"{label:26s} render {1000 * dt:5.1f} ms  projected IOD {iod:6.1f} px  "
        if lm is None:
            line += "faces found: 0"
        else:
            det = lm[[sr.IRIS_IMAGE_LEFT, sr.IRIS_IMAGE_RIGHT], :2]
            err = np.linalg.norm(det - proj, axis=1)
            slope, rms = depth_slope(view, lm)
            line += (f"faces found: 1  iris error L {err[0]:.2f} px, R {err[1]:.2f} px "
                     f"({100 * err.mean() / iod:.2f} % IOD)  MediaPipe z / true relief: {slope:.2f} "
                     f"(rms {1000 * rms:.1f} mm)")
            for p in det:
                cv2.circle(tile, tuple(int(round(c)) for c in p), 5, (0, 0, 255), 1, cv2.LINE_AA)
        for p in proj:
            cv2.drawMarker(tile, tuple(int(round(c)) for c in p), (0, 255, 0), cv2.MARKER_CROSS, 9, 1, cv2.LINE_AA)
        print(line)
        cv2.putText(tile, label, (12, 36), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2, cv2.LINE_AA)
        tiles.append(tile)
    sheet = np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])])
    cv2.putText(sheet, '"Infinite, 3D Head Scan" by Lee Perry-Smith, CC BY 3.0', (12, sheet.shape[0] - 14),
                cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    out = Path(__file__).resolve().parent / "out" / "scan_samples.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), sheet)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
