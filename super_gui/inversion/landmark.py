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

from super_gui.core.analysis import PhotoAnalysis
from super_gui.core.concurrent import Later, numpy_blas_alone, together
from super_gui.core.depth import PersonDepth, WorkGrid, smoothstep
from super_gui.core.face import Face
from super_gui.core.fill import push_pull_fill
from super_gui.core.generated import GeneratedTexture
from super_gui.core.headpose import face_template
from super_gui.core.image_io import Photo
from super_gui.core.qhull import delaunay_class
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
    return delaunay_class()(pts).simplices.astype(np.int32)


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
    # One (h, w) plane per coordinate (the same floats as with (h, w, 3) arrays, in fewer and smaller passes).
    P = ((X - cx) * z / focal_px, (Y - cy) * z / focal_px, z)
    dx = [np.gradient(c, axis=1) for c in P]
    dy = [np.gradient(c, axis=0) for c in P]
    n = (dx[1] * dy[2] - dx[2] * dy[1], dx[2] * dy[0] - dx[0] * dy[2], dx[0] * dy[1] - dx[1] * dy[0])  # dx x dy
    n_len = np.maximum(np.sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]), 1e-12)
    p_len = np.sqrt(P[0] * P[0] + P[1] * P[1] + P[2] * P[2])
    t = [(n[i] / n_len) * (P[i] / p_len) for i in range(3)]
    return np.abs(t[0] + t[2] + t[1]).astype(np.float32)  # (summed in the order numpy's einsum sums three terms)


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
    for k, corners in enumerate(np.round(Lw[tris]).astype(np.int32)):
        cv2.fillConvexPoly(ids, corners, k)
    # Affine map per triangle: working (x, y, 1) -> full-resolution mirror pixel (all triangles in one
    # batched solve, the same LAPACK call per triangle; one at a time only when one of them is degenerate).
    src = np.concatenate([Lw[tris], np.ones((len(tris), 3, 1))], axis=2)
    dst = L[mirror[tris]]
    try:
        with numpy_blas_alone():  # (the ~900 tiny solves: each to a BLAS thread to be scheduled otherwise)
            A = np.linalg.solve(src, dst).transpose(0, 2, 1)
    except np.linalg.LinAlgError:
        A = np.zeros((len(tris), 2, 3))
        for k in range(len(tris)):
            try:
                A[k] = np.linalg.solve(src[k], dst[k]).T
            except np.linalg.LinAlgError:
                A[k] = np.nan
    # Each face pixel through its triangle's map (only the face's pixels: the rest are -1).
    ii, jj = np.nonzero(ids >= 0)
    k = ids[ii, jj]
    jj, ii = jj.astype(np.float64), ii.astype(np.float64)
    fx = A[k, 0, 0] * jj + A[k, 0, 1] * ii + A[k, 0, 2]
    fy = A[k, 1, 0] * jj + A[k, 1, 1] * ii + A[k, 1, 2]
    ok = np.isfinite(fx) & np.isfinite(fy)
    ii, jj = ii[ok].astype(np.intp), jj[ok].astype(np.intp)
    inside = np.zeros((h, w), bool)
    inside[ii, jj] = True
    mx = np.full((h, w), -1, np.float32)
    my = np.full((h, w), -1, np.float32)
    mx[ii, jj], my[ii, jj] = fx[ok], fy[ok]
    return mx, my, inside


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


def mirror_textures(small: np.ndarray, depth: PersonDepth, analysis: PhotoAnalysis,
                    mirror: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> GeneratedTexture:
    """How the renderer completes the face from its mirror side, on the working grid.

    small: (h, w, 3) uint8, the photo on the working grid. Returns the generated texture: its
    ``source_px`` is the full-resolution pixel of each pixel's mirror twin (filled smoothly off the face so
    bilinear lookups stay sane), its ``gain_weight`` the low-frequency colour gain / 2 (rgb) and the
    mirror weight (a). The weight is high where this side was seen badly and its twin well (the far cheek
    of a turned head). ``mirror``: :func:`mirror_maps` of the face on ``depth``'s grid, when made already.
    """
    grid = depth.grid
    intr = analysis.intrinsics
    q = source_quality(depth, intr.focal_px, intr.cx, intr.cy)
    mx, my, inside = mirror if mirror is not None else mirror_maps(analysis.faces.face.landmarks, grid)
    h, w = grid.shape
    wx, wy = grid.from_full_res(mx, my)
    q_twin = cv2.remap(q, wx, wy, cv2.INTER_LINEAR, borderValue=0)
    face = inside & (depth.face_mask > 0)
    # Never along the face's midline: there the twin is the other side of the nose, the philtrum or the
    # lips, and a twin map off by a few pixels doubles a nostril or a lip corner. The far cheek, which a
    # turn brings into view, lies well off the midline.
    weight = smoothstep(0.08, 0.3, q_twin - q) * face * midline_fade(analysis.faces.face, grid)
    # Low-frequency colour match: the twin side is lit differently; keep the lighting of this side.
    mirrored = cv2.remap(small, wx, wy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    good = (face & (q > 0.35) & (q_twin > 0.35)).astype(np.float32)
    # (independent pieces: run together)
    weight, twin, gain = together(
        lambda: cv2.GaussianBlur(weight.astype(np.float32), (0, 0), max(1.0, w / 200.0)) * face,
        lambda: push_pull_fill(np.dstack([mx, my]), inside),
        lambda: colour_gain(small, mirrored, good),
    )
    gain = np.clip(gain, 0.6, 1.6)
    aux = np.dstack([np.clip(gain * 127.5, 0, 255), np.clip(weight * 255.0, 0, 255)])
    return GeneratedTexture(twin.astype(np.float32), np.rint(aux).astype(np.uint8))


GAIN_SIGMA = 1.0 / 25.0  # the colour match's blur, of the working grid's width
GAIN_COARSE_SIGMA = 4.0  # ... made on a grid this many of its pixels per sigma (the gain is that smooth)


def colour_gain(small: np.ndarray, mirrored: np.ndarray, good: np.ndarray) -> np.ndarray:
    """(h, w, 3) float32: the low-frequency gain that gives the mirror twin's colours (``mirrored``, (h, w, 3)
    float32) this side's lighting (``small``, (h, w, 3) uint8): the ratio of the two Gaussian-weighted means
    (sigma GAIN_SIGMA of the width) over ``good`` ((h, w) float32: where both sides were seen well), filled
    smoothly beyond. Blurs this wide (sigma ~23 px, 185 taps) are made on a grid of GAIN_COARSE_SIGMA or more
    pixels per sigma (area average down, the sigma less what averaging down and up add, bilinear up): ~2 ms
    instead of ~130 ms, and the baked gain within one 8-bit level of the full-resolution blurs' wherever the
    mirror is used (2-3 levels on a few pixels at the edge of the well-seen region)."""
    h, w = good.shape
    sigma = max(2.0, w * GAIN_SIGMA)
    k = max(1, int(sigma // GAIN_COARSE_SIGMA))
    cw, ch = -(-w // k), -(-h // k)

    def blur(img: np.ndarray) -> np.ndarray:
        if k == 1:
            return cv2.GaussianBlur(img, (0, 0), sigma)
        img = cv2.resize(img, (cw, ch), interpolation=cv2.INTER_AREA)
        s = np.sqrt(sigma * sigma - (k * k - 1) / 12.0 - k * k / 6.0)  # (less what averaging down and up add)
        img = cv2.GaussianBlur(img, (0, 0), s * cw / w, sigmaY=s * ch / h)
        return cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)

    num = blur(small.astype(np.float32) * good[..., None])
    den = blur(mirrored * good[..., None])
    cover = blur(good) > 0.05
    if not cover.any():
        return np.ones((h, w, 3), np.float32)
    return push_pull_fill((num + 1.0) / (den + 1.0), cover)


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

    @staticmethod
    def warm_up() -> None:
        """Do the first fit's one-time work that needs no photo (SciPy's triangulation and its LAPACK loaded,
        the face's triangles made, the BLAS limits looked up: ~0.1 s of Python's lock), so that a caller with
        time to spare (the editor's head start, waiting for the photo's decode) takes it off the fit."""
        from super_gui.core.concurrent import single_threaded_scipy_blas

        single_threaded_scipy_blas()
        face_triangles()
        with numpy_blas_alone():
            pass

    def invert(
        self,
        photo: Photo,
        analysis: PhotoAnalysis,
        progress: Progress = lambda f, m: None,
        is_cancelled: Callable[[], bool] = lambda: False,
        depth_ready: Callable[[PersonDepth], None] | None = None,
    ) -> Inversion:
        """The inversion of ``analysis``'s face. ``depth_ready(depth)`` (optional) is called with the final
        depth as soon as it is known, so that the caller can build its mesh while the textures are made."""
        timings: dict[str, float] = {}

        def timed(name: str, fn: Callable[[], object]) -> Callable[[], object]:
            def run():
                t0 = time.perf_counter()
                try:
                    return fn()
                finally:
                    timings[name] = time.perf_counter() - t0
            return run

        def stage(fraction: float, message: str) -> None:
            if is_cancelled():
                raise Cancelled()
            progress(fraction, message)

        intr = analysis.intrinsics
        E, R = analysis.eye_midpoint, analysis.face_rotation
        grid = working_region(E, R, intr, WORK_LONG_SIDE)
        W, H = photo.width, photo.height
        h, w = grid.shape
        # The photo on the working grid does not depend on the depth: made beside it. (The full-resolution
        # matte is made when a full-resolution render first asks for it: Inversion.matte.)
        mask = analysis.faces.person_mask
        small = Later(timed("small", lambda: working_photo(photo.rgb, grid)), "landmark small")

        def depth_stage():
            # (first: its solves run on this thread alone, while no other piece of the fit uses NumPy's BLAS)
            mirror = mirror_maps(analysis.faces.face.landmarks, grid)
            person_small = _to_grid(mask, grid, (W, H))
            depth = person_depth(analysis.faces.face.landmarks, intr, analysis.distance_m, E, R, person_small, grid)
            ovals = face_ovals(analysis.faces, grid)
            people = split_people(depth.person, *ovals)
            return dataclasses.replace(depth, edit_weight=spare_others(depth.edit_weight, people[1])), ovals, people, mirror

        try:
            depth, ovals, people, mirror = timed("depth", depth_stage)()
            if depth_ready is not None:
                depth_ready(depth)
        finally:  # (a failure leaves no piece running)
            small_rgb = small.result()
        stage(0.4, "Building the 3D head")
        stage(0.5, "Cutting out the person")
        plate = Later(timed("plate", lambda: background_plate(small_rgb, depth.person, depth.edit_weight, *ovals, people=people)),
                      "landmark plate")
        try:
            generated = timed("generated", lambda: mirror_textures(small_rgb, depth, analysis, mirror))()
            stage(0.75, "Completing the face")
        finally:
            plate_rgba = plate.result()
        stage(0.95, "Filling the background")
        return Inversion("landmark", analysis, depth, photo.rgb, generated, plate_rgba, timings)


def working_photo(rgb: np.ndarray, grid: WorkGrid) -> np.ndarray:
    """(h, w, 3) uint8: the photo ``rgb`` (any dtype) on the working grid (area average of the region)."""
    h, w = grid.shape
    crop = np.ascontiguousarray(to_uint8_strips(rgb[grid.y0 : grid.y1, grid.x0 : grid.x1]))
    # (not kept: the renderer and a mesh export take the photo's own pixels, Inversion.texture)
    return cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)
