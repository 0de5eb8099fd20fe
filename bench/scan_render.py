"""Ground-truth renders of the Lee Perry-Smith head scan with a known camera (quality benchmark).

No Qt. Conventions follow DESIGN.md §3: metres, OpenCV pinhole camera (x right, y down, z forward, camera at the
origin looking down +z), ``f_px = f35 * hypot(W, H) / 43.27``, principal point at the image centre.

Pixel convention: OpenCV's, pixel centres at integer coordinates, so the image centre is ``((W-1)/2, (H-1)/2)``
and pixel (0, 0) covers [-0.5, 0.5]^2. ``ScanView.project`` and the rasteriser use exactly the same mapping.
MediaPipe's normalised landmarks are converted with ``u = x * W - 0.5`` (they measure from the image's left edge).

Head frame (``ScanHead``):
  origin at E, the midpoint of the two eye centres; x toward the image's right when the head faces the camera;
  y down; z from the face backward into the head (the face looks toward -z); scaled so the eye centres are
  exactly 0.063 m apart.

How the frame is found (``_calibrate``, run once, then cached in ``bench/out/``):
  * The GLB is glTF-native: +y up, the face looks toward +z (the nose tip is the vertex of largest z, the crown the
    largest y) and +x is the viewer's right when looking at the face. A 180° rotation about x turns that into the
    head frame above (x kept, y and z negated); a rough scale (0.043 m per model unit) and a rough E (a fixed
    offset from the nose tip) give a first frontal render.
  * MediaPipe Face Mesh (static, refined) runs on that render. "Eye centre" is *defined* as the point of the scan's
    surface (the closed upper lid) under MediaPipe's iris-centre landmark (468 / 473), found by casting the camera
    ray through that pixel onto the mesh (no push back into the eyeball).
  * The frame is then re-fitted: x along the eye-to-eye vector (this removes roll and yaw: both eyes at the same
    depth and height), y = the previous down axis made orthogonal to x (the scan's own pitch is kept: it is
    upright; in a far frontal render MediaPipe's forehead (10) and chin (152) landmarks, put back on the surface,
    lie within 0.6 deg of vertical, and the nose tip is 0.6 mm off the midline), scale so the eyes are 0.063 m
    apart, origin at their midpoint. MediaPipe's iris on a closed lid jitters by ~1 px between renders, so each
    round pools the lid points of 8 renders (0.4-0.9 m, two image offsets); three rounds, the last changing the
    frame by 0.03 deg / 0.2 %. Result: 0.0550 m per GLB unit.

The renderer's parts live beside this module: bench/scan_camera.py (intrinsics, head pose, clip distances, lights),
bench/scan_mesh.py (the asset's paths and the raw GLB mesh and texture) and bench/scan_gl.py (the OpenGL
rasteriser). This module holds the head frame, its calibration and the public render, and re-exports the rest
(``scan_render.intrinsics``, ``.LIGHTS``, ``.SCAN_DIR``... are where they were).

Scan by Lee Perry-Smith, "Infinite, 3D Head Scan", CC BY 3.0 (credit it wherever renders are shown).
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.scan_camera import (BACKGROUND, FAR_M, LIGHTS, NEAR_M, PIVOT_BACK_M, PIVOT_DOWN_M, edit_rotation,
                               head_to_cam_matrix, intrinsics)
from bench.scan_gl import SUPERSAMPLE, _render_raw
from bench.scan_mesh import GLB_PATH, SCAN_DIR, TEXTURE_PATH, _load_raw, _RawMesh

__all__ = [
    "SCAN_DIR", "GLB_PATH", "TEXTURE_PATH", "CACHE_DIR", "EYE_DISTANCE_M", "PIVOT_BACK_M", "PIVOT_DOWN_M", "NEAR_M",
    "FAR_M", "BACKGROUND", "SUPERSAMPLE", "LIGHTS", "intrinsics", "edit_rotation", "head_to_cam_matrix", "ScanHead",
    "ScanView", "scan_available", "detect_landmarks", "IRIS_IMAGE_LEFT", "IRIS_IMAGE_RIGHT", "load_scan",
    "NECK_BLEND_M", "render_scan",
]

CACHE_DIR = Path(__file__).resolve().parent / "out"
_CACHE_VERSION = 5

EYE_DISTANCE_M = 0.063


# --------------------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------------------

@dataclass
class ScanHead:
    """The scan in the head frame (see the module docstring). Loaded once and cached.

    uv: glTF texture coordinates as stored in the file (v down); look the texture up at row (1 - v) * H,
    column u * W, as the asset README says. eye_left / eye_right: eye centres (surface point of the closed lid
    under MediaPipe's iris centre), image-left / image-right when frontal: (-0.0315, 0, 0) and (+0.0315, 0, 0).
    """
    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray
    texture: np.ndarray
    eye_left: np.ndarray
    eye_right: np.ndarray
    normals: np.ndarray = field(repr=False, default=None)          # (N,3) smooth, welded across UV seams
    raw_to_head: np.ndarray = field(repr=False, default=None)      # 4x4 similarity, GLB units -> head frame

    @property
    def eye_centre(self) -> np.ndarray:
        return 0.5 * (self.eye_left + self.eye_right)


@dataclass
class ScanView:
    """One render. Pixels are anti-aliased by 2x supersampling (box filter); ``mask`` is set where at least half
    of a pixel's samples hit the scan and ``depth`` is the mean camera z of those samples (0 elsewhere). The whole
    scan (head, neck, shoulders) turns rigidly with the head pose: the torso is not held still here."""
    image: np.ndarray         # (H,W,3) uint8 RGB over mid-grey
    depth: np.ndarray         # (H,W) float32 camera-space z (m), 0 on background
    mask: np.ndarray          # (H,W) bool scan coverage (head, neck and the shoulders the scan has)
    K: np.ndarray             # (3,3)
    head_to_cam: np.ndarray   # (4,4)

    def project(self, pts_head: np.ndarray) -> np.ndarray:
        """(N,3) head-frame points -> (N,2) pixel coordinates (OpenCV: pixel centres at integers)."""
        p = np.asarray(pts_head, dtype=np.float64).reshape(-1, 3)
        c = p @ self.head_to_cam[:3, :3].T + self.head_to_cam[:3, 3]
        uvw = c @ self.K.T
        return uvw[:, :2] / uvw[:, 2:3]

    def to_camera(self, pts_head: np.ndarray) -> np.ndarray:
        p = np.asarray(pts_head, dtype=np.float64).reshape(-1, 3)
        return p @ self.head_to_cam[:3, :3].T + self.head_to_cam[:3, 3]


def scan_available() -> bool:
    return GLB_PATH.is_file() and TEXTURE_PATH.is_file()


# --------------------------------------------------------------------------------------------------------------
# Calibration of the head frame (orientation, eye centres, scale)
# --------------------------------------------------------------------------------------------------------------

def _raycast(origin: np.ndarray, direction: np.ndarray, tri: np.ndarray) -> np.ndarray | None:
    """Nearest hit of one ray with triangles (M,3,3) (Moller-Trumbore, vectorised)."""
    e1 = tri[:, 1] - tri[:, 0]
    e2 = tri[:, 2] - tri[:, 0]
    p = np.cross(direction, e2)
    det = np.einsum("ij,ij->i", e1, p)
    ok = np.abs(det) > 1e-12
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = origin - tri[:, 0]
    u = np.einsum("ij,ij->i", s, p) * inv
    q = np.cross(s, e1)
    v = (q @ direction) * inv
    t = np.einsum("ij,ij->i", e2, q) * inv
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
    if not hit.any():
        return None
    tt = t[hit].min()
    return origin + tt * direction


@functools.lru_cache(maxsize=1)
def _face_mesh():
    import mediapipe as mp

    return mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=1)


def detect_landmarks(image_rgb: np.ndarray) -> np.ndarray | None:
    """MediaPipe Face Mesh (static, refined): (478,3) with x, y in OpenCV pixels (centres at integers), z as
    MediaPipe gives it scaled by the image width. None if no face."""
    h, w = image_rgb.shape[:2]
    res = _face_mesh().process(np.ascontiguousarray(image_rgb))
    if not res.multi_face_landmarks:
        return None
    lm = res.multi_face_landmarks[0].landmark
    return np.array([[p.x * w - 0.5, p.y * h - 0.5, p.z * w] for p in lm])


IRIS_IMAGE_LEFT = 468     # MediaPipe's "right" iris = the subject's right eye = image left in a photo
IRIS_IMAGE_RIGHT = 473


def _calibrate(raw: _RawMesh, verbose: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Find raw_to_head (4x4 similarity) and the eye centres in the head frame."""
    v = raw.vertices
    # 1. orientation from the glTF axes (y up, face toward +z): 180 deg about x -> x right, y down, z backward.
    R = np.diag([1.0, -1.0, -1.0])
    s = 0.043                                      # rough m per GLB unit
    tip = v[np.argmax(v[:, 2])]                    # nose tip (the most forward vertex)
    E_raw = tip + np.array([0.0, 0.9, -0.7])       # rough: eyes ~4 cm above, ~3 cm behind the nose tip
    info: dict = {"rounds": []}
    W, H, f35 = 768, 1024, 50.0
    # MediaPipe's iris on a closed lid jitters by ~1 px from one render to the next (lid points spread by 1-2 mm, a
    # few % of the eye distance): average the lid points over many renders (distances and image offsets varied).
    # Measured: rms 0.4-0.5 mm about the mean over 16 views; the pooled fit changes by < 0.1 % / 0.05 deg.
    # Round 0 goes from the rough frame to a near-frontal one; rounds 1-2 re-render in the refined frame and their
    # lid points (kept in GLB units, so they are comparable across rounds) are pooled for the final fit.
    views = [(d, off) for d in (0.4, 0.55, 0.7, 0.9) for off in ((0.0, 0.0), (31.0, -23.0))]
    tri_raw = v[raw.faces]
    pooled = []
    for it in range(3):
        raw_to_head = np.eye(4)
        raw_to_head[:3, :3] = s * R
        raw_to_head[:3, 3] = -s * R @ E_raw
        hits = []
        for d, (ox, oy) in (views[::2] if it == 0 else views):
            K = intrinsics(W, H, f35)
            K[0, 2] += ox
            K[1, 2] += oy
            T = head_to_cam_matrix(d) @ raw_to_head
            img, _, _ = _render_raw(T, K, W, H, shade=True)
            lm = detect_landmarks(img)
            if lm is None:
                continue
            Tinv = np.linalg.inv(T)
            o_raw = Tinv[:3, 3]
            pair = []
            for idx in (IRIS_IMAGE_LEFT, IRIS_IMAGE_RIGHT):
                ray = np.linalg.solve(K, np.array([lm[idx, 0], lm[idx, 1], 1.0]))
                d_raw = Tinv[:3, :3] @ ray
                pair.append(_raycast(o_raw, d_raw / np.linalg.norm(d_raw), tri_raw))
            if pair[0] is not None and pair[1] is not None:
                hits.append(pair)
        if len(hits) < 3:
            raise RuntimeError("MediaPipe found no face / iris in most frontal renders of the scan")
        if it > 0:
            pooled.extend(hits)
        use = np.asarray(pooled if it > 0 else hits)      # (views, 2, 3) GLB units
        spread = float(np.sqrt(np.mean(np.sum((use - use.mean(0)) ** 2, axis=2))) * s)
        el, er = use.mean(0)
        if (R @ (er - el))[0] < 0:
            el, er = er, el
        # 2. re-fit: x along the eye line, y = old down axis orthogonalised, z = x cross y
        y_old = R.T @ np.array([0, 1.0, 0])              # rows of R are the head axes in GLB coordinates
        x = (er - el) / np.linalg.norm(er - el)
        y = y_old - x * (x @ y_old)
        y /= np.linalg.norm(y)
        z = np.cross(x, y)
        R_new = np.stack([x, y, z])
        s_new = EYE_DISTANCE_M / np.linalg.norm(er - el)
        dR = np.degrees(np.arccos(np.clip((np.trace(R_new @ R.T) - 1) / 2, -1, 1)))
        ds = abs(s_new / s - 1)
        dE = np.linalg.norm(0.5 * (el + er) - E_raw) * s_new
        info["rounds"].append({"rot_change_deg": float(dR), "scale_change": float(ds), "E_move_m": float(dE),
                               "views": int(len(use)), "rms_spread_m": spread})
        if verbose:
            print(f"calibration round {it}: rotation change {dR:.3f} deg, scale change {100 * ds:.3f} %, "
                  f"E moved {1000 * dE:.2f} mm; {len(use)} views pooled, lid points rms {1000 * spread:.2f} mm")
        R, s, E_raw = R_new, s_new, 0.5 * (el + er)
    raw_to_head = np.eye(4)
    raw_to_head[:3, :3] = s * R
    raw_to_head[:3, 3] = -s * R @ E_raw
    eye_l = raw_to_head[:3, :3] @ el + raw_to_head[:3, 3]
    eye_r = raw_to_head[:3, :3] @ er + raw_to_head[:3, 3]
    info["m_per_unit"] = float(s)
    return raw_to_head, eye_l, eye_r, info


def _cache_key() -> str:
    h = hashlib.sha1()
    h.update(GLB_PATH.read_bytes())
    h.update(str(_CACHE_VERSION).encode())
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def load_scan() -> ScanHead:
    """The scan in the head frame (calibrated once with MediaPipe, then cached in bench/out/)."""
    if not scan_available():
        raise FileNotFoundError(f"head scan not found in {SCAN_DIR}")
    raw = _load_raw()
    key = _cache_key()
    cache = CACHE_DIR / f"scan_head_{key}.npz"
    if cache.is_file():
        z = np.load(cache)
        raw_to_head, eye_l, eye_r = z["raw_to_head"], z["eye_left"], z["eye_right"]
    else:
        raw_to_head, eye_l, eye_r, info = _calibrate(raw)
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, raw_to_head=raw_to_head, eye_left=eye_l, eye_right=eye_r, info=json.dumps(info))
        tmp.replace(cache)
    A = raw_to_head[:3, :3]
    verts = raw.vertices @ A.T + raw_to_head[:3, 3]
    nrm = raw.normals @ (A / np.cbrt(np.linalg.det(A))).T
    return ScanHead(vertices=verts.astype(np.float32), faces=raw.faces.astype(np.int32), uv=raw.uv_gl.copy(),
                    texture=raw.texture, eye_left=np.asarray(eye_l, np.float64),
                    eye_right=np.asarray(eye_r, np.float64), normals=nrm.astype(np.float32),
                    raw_to_head=raw_to_head)


# --------------------------------------------------------------------------------------------------------------
# Public render
# --------------------------------------------------------------------------------------------------------------

# The head's turn fades out down the neck between these heights (m below E, head frame), as the editor's head
# weight does (super_gui/inversion/landmark_depth.py: from just below the chin, ~0.11 m below E, over 8 cm): the torso does
# not turn (DESIGN.md §3).
NECK_BLEND_M = (0.12, 0.20)


def render_scan(width: int, height: int, focal_35mm: float, distance_m: float, yaw_deg: float = 0.0,
                pitch_deg: float = 0.0, *, shade: bool = True, light: str = "key",
                background: tuple[int, int, int] = (BACKGROUND,) * 3, torso_still: bool = True) -> ScanView:
    """Render the scan: E at depth distance_m on the optical axis when frontal, head turned about the neck
    pivot by (yaw, pitch) per DESIGN.md §3; anti-aliased (2x supersampled), over a flat ``background`` (RGB,
    mid-grey by default), lit by one of ``LIGHTS``. With ``torso_still`` (the editor's edit) the turn fades out
    down the neck (NECK_BLEND_M) and the shoulders stay; otherwise the whole scan turns rigidly."""
    head = load_scan()
    K = intrinsics(width, height, focal_35mm)
    h2c = head_to_cam_matrix(distance_m, yaw_deg, pitch_deg)
    blend = {}
    if torso_still and (yaw_deg or pitch_deg):
        blend = {"rest": head_to_cam_matrix(distance_m) @ head.raw_to_head, "head": head.raw_to_head, "neck": NECK_BLEND_M}
    image, depth, mask = _render_raw(h2c @ head.raw_to_head, K, int(width), int(height), shade, light, background, **blend)
    return ScanView(image=image, depth=depth, mask=mask, K=K, head_to_cam=h2c)
