"""The ``landmark`` inversion backend: CPU only, offline, fast.

Geometry: :mod:`super_gui.inversion.landmark_depth` (face landmarks lifted with calibrated relief, a head
proxy, the torso). Generated texture: the face completed from its mirror side where the photo saw it badly
(foreshortened cheek of a turned head), colour-matched in the low frequencies; the rest is the photo.
Background plate: :mod:`super_gui.inversion.plate` (the edited head filled in with texture from the
surrounding background, never over other people).

Progress is reported through ``progress(fraction, message)``; ``is_cancelled()`` is polled between
stages and :class:`super_gui.errors.Cancelled` raised.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Callable

import cv2
import numpy as np
from scipy.spatial import Delaunay

from super_gui.core.analysis import PhotoAnalysis
from super_gui.core.depth import PersonDepth, WorkGrid, smoothstep
from super_gui.core.face import Face
from super_gui.core.fill import push_pull_fill
from super_gui.core.generated import GeneratedTexture
from super_gui.core.headpose import face_template
from super_gui.core.image_io import Photo
from super_gui.core.strips import to_uint8_strips
from super_gui.errors import Cancelled
from super_gui.inversion.base import Inversion, Progress
from super_gui.inversion.landmark_depth import person_depth, working_region
from super_gui.inversion.plate import background_plate, face_ovals, split_people

WORK_LONG_SIDE = 640


@functools.lru_cache(maxsize=1)
def face_triangles() -> np.ndarray:
    """(T, 3) triangles over the 468 face landmarks (Delaunay of the frontal template: eyes and mouth
    are covered too, which mirror-warping needs)."""
    pts = face_template().points_m[:468, :2]
    return Delaunay(pts).simplices.astype(np.int32)


def _grid_maps(grid: WorkGrid) -> tuple[np.ndarray, np.ndarray]:
    X, Y = grid.full_res_coords()
    return X.astype(np.float32), Y.astype(np.float32)


def _to_grid(img: np.ndarray, grid: WorkGrid, src_size: tuple[int, int]) -> np.ndarray:
    """Sample an image covering the whole photo (any resolution) on the working grid."""
    X, Y = _grid_maps(grid)
    sw, sh = src_size
    ih, iw = img.shape[:2]
    mx = (X + 0.5) * (iw / sw) - 0.5
    my = (Y + 0.5) * (ih / sh) - 0.5
    return cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def source_quality(depth: PersonDepth, focal_px: float, cx: float, cy: float) -> np.ndarray:
    """(h, w) cosine between the surface normal and the capture ray, from the depth map."""
    X, Y = depth.grid.full_res_coords()
    z = depth.depth_m.astype(np.float64)
    P = np.stack([(X - cx) * z / focal_px, (Y - cy) * z / focal_px, z], axis=-1)
    dx = np.gradient(P, axis=1)
    dy = np.gradient(P, axis=0)
    n = np.cross(dx, dy)
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    ray = P / np.linalg.norm(P, axis=-1, keepdims=True)
    return np.abs(np.einsum("...i,...i", n, ray)).astype(np.float32)


def mirror_maps(landmarks_px: np.ndarray, grid: WorkGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each working pixel on the face, the full-resolution pixel of its mirror twin.

    Returns map_x, map_y ((h, w) float32, full-resolution pixels) and inside ((h, w) bool). Each face
    triangle is mapped affinely onto the triangle of the mirrored landmarks.
    """
    h, w = grid.shape
    L = landmarks_px[:, :2]
    Lw = np.stack(grid.from_full_res(L[:, 0], L[:, 1]), axis=1)
    tris = face_triangles()
    mirror = face_template().mirror
    ids = np.full((h, w), -1, np.int32)
    for k, t in enumerate(tris):
        cv2.fillConvexPoly(ids, np.round(Lw[t]).astype(np.int32), k)
    # Affine map per triangle: working (x, y, 1) -> full-resolution mirror pixel.
    A = np.zeros((len(tris), 2, 3))
    for k, t in enumerate(tris):
        src = np.c_[Lw[t], np.ones(3)]
        dst = L[mirror[t]]
        try:
            A[k] = np.linalg.solve(src, dst).T
        except np.linalg.LinAlgError:
            A[k] = np.nan
    inside = ids >= 0
    jj, ii = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    a = A[np.maximum(ids, 0)]
    mx = a[..., 0, 0] * jj + a[..., 0, 1] * ii + a[..., 0, 2]
    my = a[..., 1, 0] * jj + a[..., 1, 1] * ii + a[..., 1, 2]
    inside &= np.isfinite(mx) & np.isfinite(my)
    return np.where(inside, mx, -1).astype(np.float32), np.where(inside, my, -1).astype(np.float32), inside


MIRROR_MIDLINE = (0.6, 1.0)  # the mirror weight rises from 0 to 1 between these distances from the midline (IODs)


def midline_fade(face: Face, grid: WorkGrid) -> np.ndarray:
    """(h, w) float32 on the working grid: 0 within MIRROR_MIDLINE[0] eye distances of the face's midline (the
    line through the nose bridge and the chin), rising smoothly to 1 at MIRROR_MIDLINE[1]."""
    h, w = grid.shape
    lm = face.landmarks
    p = np.stack(grid.from_full_res(lm[[168, 152], 0], lm[[168, 152], 1]), axis=1)
    iod = max(1e-3, face.eye_distance_px * grid.scale)
    axis = p[1] - p[0]
    normal = np.array([-axis[1], axis[0]]) / max(1e-6, float(np.linalg.norm(axis)))
    jj, ii = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    off = np.abs((jj - p[0, 0]) * normal[0] + (ii - p[0, 1]) * normal[1]) / iod
    return smoothstep(MIRROR_MIDLINE[0], MIRROR_MIDLINE[1], off).astype(np.float32)


def mirror_textures(small: np.ndarray, depth: PersonDepth, analysis: PhotoAnalysis) -> GeneratedTexture:
    """How the renderer completes the face from its mirror side, on the working grid.

    small: (h, w, 3) uint8, the photo on the working grid. Returns the generated texture: its
    ``source_px`` is the full-resolution pixel of each pixel's mirror twin (filled smoothly off the face so
    bilinear lookups stay sane), its ``gain_weight`` the low-frequency colour gain / 2 (rgb) and the
    mirror weight (a). The weight is high where this side was seen badly and its twin well (the far cheek
    of a turned head).
    """
    grid = depth.grid
    intr = analysis.intrinsics
    q = source_quality(depth, intr.focal_px, intr.cx, intr.cy)
    mx, my, inside = mirror_maps(analysis.faces.face.landmarks, grid)
    h, w = grid.shape
    wx, wy = grid.from_full_res(mx, my)
    q_twin = cv2.remap(q, wx, wy, cv2.INTER_LINEAR, borderValue=0)
    face = inside & (depth.face_mask > 0)
    # Never along the face's midline: there the twin is the other side of the nose, the philtrum or the
    # lips, and a twin map off by a few pixels doubles a nostril or a lip corner. The far cheek, which a
    # turn brings into view, lies well off the midline.
    weight = smoothstep(0.08, 0.3, q_twin - q) * face * midline_fade(analysis.faces.face, grid)
    weight = cv2.GaussianBlur(weight.astype(np.float32), (0, 0), max(1.0, w / 200.0)) * face
    # Low-frequency colour match: the twin side is lit differently; keep the lighting of this side.
    mirrored = cv2.remap(small, wx, wy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    good = (face & (q > 0.35) & (q_twin > 0.35)).astype(np.float32)
    sigma = max(2.0, w / 25.0)
    num = cv2.GaussianBlur(small.astype(np.float32) * good[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(mirrored * good[..., None], (0, 0), sigma)
    cover = cv2.GaussianBlur(good, (0, 0), sigma)
    gain = push_pull_fill((num + 1.0) / (den + 1.0), cover > 0.05) if (cover > 0.05).any() else np.ones((h, w, 3), np.float32)
    gain = np.clip(gain, 0.6, 1.6)
    aux = np.dstack([np.clip(gain * 127.5, 0, 255), np.clip(weight * 255.0, 0, 255)])
    twin = push_pull_fill(np.dstack([mx, my]), inside)
    return GeneratedTexture(twin.astype(np.float32), np.rint(aux).astype(np.uint8))


def spare_others(edit_weight: np.ndarray, others: np.ndarray) -> np.ndarray:
    """(h, w) float32: the edit weight with every other person (``others``, (h, w) bool, from
    :func:`~super_gui.inversion.plate.split_people`) held still: their pixels never move with the edited head.
    The edge is feathered over ~1 % of the grid so the edited head's own weight does not step."""
    if not others.any():
        return edit_weight
    soft = cv2.GaussianBlur(others.astype(np.float32), (0, 0), max(1.0, 0.01 * max(others.shape)))
    return (edit_weight * (1.0 - np.maximum(soft, others))).astype(np.float32)


class LandmarkBackend:
    """Face Mesh + head proxy inversion (the default)."""

    name = "landmark"

    def invert(
        self,
        photo: Photo,
        analysis: PhotoAnalysis,
        progress: Progress = lambda f, m: None,
        is_cancelled: Callable[[], bool] = lambda: False,
    ) -> Inversion:
        timings: dict[str, float] = {}

        def stage(name: str, fraction: float, message: str, t0: float) -> None:
            timings[name] = time.perf_counter() - t0
            if is_cancelled():
                raise Cancelled()
            progress(fraction, message)

        t = time.perf_counter()
        intr = analysis.intrinsics
        E, R = analysis.eye_midpoint, analysis.face_rotation
        grid = working_region(E, R, intr, WORK_LONG_SIDE)
        W, H = photo.width, photo.height
        person_small = _to_grid(analysis.faces.person_mask, grid, (W, H))
        depth = person_depth(analysis.faces.face.landmarks, intr, analysis.distance_m, E, R, person_small, grid)
        ovals = face_ovals(analysis.faces, grid)
        people = split_people(depth.person, *ovals)
        depth = dataclasses.replace(depth, edit_weight=spare_others(depth.edit_weight, people[1]))
        stage("depth", 0.4, "Building the 3D head", t)

        t = time.perf_counter()
        crop = np.ascontiguousarray(to_uint8_strips(photo.rgb[grid.y0 : grid.y1, grid.x0 : grid.x1]))
        mask = analysis.faces.person_mask
        # Person matte at full resolution over the crop (bilinear from the analysis scale).
        fx, fy = mask.shape[1] / W, mask.shape[0] / H
        to_mask = np.array([[fx, 0.0, (grid.x0 + 0.5) * fx - 0.5], [0.0, fy, (grid.y0 + 0.5) * fy - 0.5]])
        matte = cv2.warpAffine(
            mask, to_mask, (grid.x1 - grid.x0, grid.y1 - grid.y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
        )
        # (in place: at 100 MP each float32 temporary of the crop would be ~340 MB)
        matte = np.clip(np.rint(np.multiply(matte, 255.0, out=matte), out=matte), 0, 255, out=matte).astype(np.uint8)
        h, w = grid.shape
        small = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)
        del crop  # (not kept: the renderer and a mesh export take the photo's own pixels, Inversion.texture)
        stage("matte", 0.5, "Cutting out the person", t)

        t = time.perf_counter()
        generated = mirror_textures(small, depth, analysis)
        stage("generated", 0.75, "Completing the face", t)

        t = time.perf_counter()
        plate = background_plate(small, depth.person, depth.edit_weight, *ovals, people=people)
        stage("plate", 0.95, "Filling the background", t)
        return Inversion("landmark", analysis, depth, photo.rgb, matte, generated, plate, timings)
