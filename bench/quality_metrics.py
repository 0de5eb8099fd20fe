"""The measures of the quality benchmark (``bench/quality.py``): landmark error over the target's inter-ocular
distance, PSNR / SSIM inside the head region, the head silhouette's IoU, pieces and background islands against the
backdrop colour (the outline score), the 2D similarity baseline (Umeyama) and the head pose reading behind the
pose and turn errors. Moved out of bench/quality.py unchanged.
"""

from __future__ import annotations

import cv2
import numpy as np

from bench.quality_cases import H, W


def face_oval_indices() -> np.ndarray:
    import mediapipe as mp

    return np.array(sorted({i for e in mp.solutions.face_mesh.FACEMESH_FACE_OVAL for i in e}))


def iod(lm: np.ndarray) -> float:
    return float(np.linalg.norm(lm[468, :2] - lm[473, :2]))


def head_region(target_mask: np.ndarray, target_lm: np.ndarray | None, oval: np.ndarray) -> np.ndarray:
    if target_lm is None:
        return target_mask.copy()
    hull = cv2.convexHull(np.round(target_lm[oval, :2]).astype(np.int32))
    reg = np.zeros(target_mask.shape, np.uint8)
    cv2.fillConvexPoly(reg, hull, 1)
    r = max(1, int(round(0.6 * iod(target_lm))))
    reg = cv2.dilate(reg, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return (reg > 0) & target_mask


def landmark_error(cand_lm: np.ndarray | None, target_lm: np.ndarray | None) -> float:
    if cand_lm is None or target_lm is None:
        return float("nan")
    return float(np.mean(np.linalg.norm(cand_lm[:468, :2] - target_lm[:468, :2], axis=1)) / iod(target_lm))


def psnr_ssim(cand: np.ndarray, target: np.ndarray, region: np.ndarray) -> tuple[float, float]:
    from skimage.metrics import structural_similarity

    a, b = cand.astype(np.float64), target.astype(np.float64)
    mse = float(np.mean((a[region] - b[region]) ** 2))
    psnr = float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)
    _, smap = structural_similarity(cand, target, channel_axis=2, data_range=255, full=True)
    return psnr, float(np.mean(smap[region]))


def silhouette(image: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    """(H, W) bool: pixels that are not the flat backdrop colour (the head, as the image shows it)."""
    d = np.linalg.norm(image.astype(np.float32) - np.array(background, np.float32), axis=2)
    return d > 45.0


def outline_score(ours: np.ndarray, target_mask: np.ndarray, background: tuple[int, int, int],
                  target_lm: np.ndarray | None) -> dict:
    """IoU of our head silhouette with the true render's, above the target's chin (the editor holds the neck
    and torso still, the scan render turns them), and the number of separate pieces of head and of background
    islands enclosed by the head there (components of at least 6 px)."""
    sil = silhouette(ours, background)
    rows = H if target_lm is None else int(min(H, target_lm[152, 1] + 0.15 * iod(target_lm)))
    ours_r, true_r = sil[:rows], target_mask[:rows]
    union = int((ours_r | true_r).sum())
    iou = float((ours_r & true_r).sum() / union) if union else float("nan")
    n, _, stats, _ = cv2.connectedComponentsWithStats(ours_r.astype(np.uint8), connectivity=8)
    pieces = int((stats[1:, cv2.CC_STAT_AREA] >= 6).sum())
    n, lab, stats, _ = cv2.connectedComponentsWithStats((~ours_r).astype(np.uint8), connectivity=4)
    islands = 0
    for k in range(1, n):
        x, y, w, h, area = stats[k]
        touches = x == 0 or y == 0 or x + w >= W or y + h >= rows
        islands += int(area >= 6 and not touches)
    return {"iou": iou, "pieces": pieces, "islands": islands}


def similarity_2d(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(2, 3) least-squares similarity (rotation, uniform scale, translation) taking src onto dst (Umeyama)."""
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    U, S, Vt = np.linalg.svd(d.T @ s / len(src))
    D = np.diag([1.0, np.sign(np.linalg.det(U @ Vt))])
    R = U @ D @ Vt
    scale = float(np.trace(np.diag(S) @ D) / np.mean(np.sum(s ** 2, axis=1)))
    A = np.zeros((2, 3))
    A[:, :2] = scale * R
    A[:, 2] = md - scale * R @ ms
    return A


def pose_of(lm: np.ndarray | None, focal_35mm: float):
    from super_gui.core.camera import Intrinsics
    from super_gui.core.headpose import fit_head_pose

    if lm is None:
        return None
    return fit_head_pose(lm, Intrinsics.from_35mm(focal_35mm, W, H)).pose


def pose_error(p_cand, p_in, asked: tuple[float, float]) -> tuple[float, float, float]:
    """(error, dyaw, dpitch)."""
    if p_cand is None or p_in is None:
        return float("nan"), float("nan"), float("nan")
    dy, dp = p_cand.yaw_deg - p_in.yaw_deg, p_cand.pitch_deg - p_in.pitch_deg
    return max(abs(dy - asked[0]), abs(dp - asked[1])), dy, dp
