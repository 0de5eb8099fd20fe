"""Measure resources/face_template.npz: the 478 Face Mesh landmarks as metric 3D points in the head frame.

Face Mesh runs on frontal, far (little perspective) ground-truth renders of the Lee Perry-Smith head scan
(CC BY 3.0); each landmark pixel is lifted onto the scan's true surface through the render's depth buffer and
moved into the head frame (origin E, x face-right, y face-down, z face-backward, eyes 63 mm apart). Several
renders (distances, image offsets) are averaged against MediaPipe's jitter. The mirror map pairs each
landmark with its left/right twin: reflect x and solve the assignment that moves points least.

    python -m bench.make_face_template        # needs ../shared/assets/leeperrysmith
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from bench import scan_render as sr

OUT = Path(__file__).resolve().parents[1] / "resources" / "face_template.npz"


def measure() -> tuple[np.ndarray, np.ndarray]:
    samples = []
    for dist, f35 in ((1.5, 120.0), (2.0, 160.0), (2.5, 200.0), (3.0, 240.0)):
        view = sr.render_scan(768, 1024, f35, dist)
        lm = sr.detect_landmarks(view.image)
        if lm is None:
            continue
        h, w = view.depth.shape
        u = np.clip(np.round(lm[:, 0]).astype(int), 0, w - 1)
        v = np.clip(np.round(lm[:, 1]).astype(int), 0, h - 1)
        z = view.depth[v, u]
        K = view.K
        cam = np.stack([(lm[:, 0] - K[0, 2]) * z / K[0, 0], (lm[:, 1] - K[1, 2]) * z / K[1, 1], z], axis=1)
        T = np.linalg.inv(view.head_to_cam)
        head = cam @ T[:3, :3].T + T[:3, 3]
        samples.append(head)
    pts = np.median(np.stack(samples), axis=0)
    mirrored = pts * np.array([-1.0, 1.0, 1.0])
    cost = np.linalg.norm(pts[:, None, :] - mirrored[None, :, :], axis=2)
    _, mirror = linear_sum_assignment(cost)
    return pts, mirror


def main() -> int:
    if not sr.scan_available():
        print(f"skipped: the head scan is not at {sr.SCAN_DIR}")
        return 0
    pts, mirror = measure()
    pairs_ok = np.mean(mirror[mirror] == np.arange(len(mirror)))
    err = np.linalg.norm(pts - pts[mirror] * np.array([-1, 1, 1]), axis=1)
    print(f"landmarks: {len(pts)}, mirror map an involution for {pairs_ok:.1%}, median mirror error {np.median(err) * 1000:.1f} mm")
    print(f"eye distance (iris landmarks): {np.linalg.norm(pts[468] - pts[473]) * 1000:.1f} mm; nose tip {pts[1].round(4)}")
    np.savez(OUT, points_m=pts.astype(np.float32), mirror=mirror.astype(np.int16))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
