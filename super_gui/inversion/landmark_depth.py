"""The landmark backend's depth of the whole person in metres, camera space, from the face landmarks and a
head proxy (filling in the backend-neutral :class:`~super_gui.core.depth.PersonDepth`).

* face: the Face Mesh landmarks lifted to 3D with the capture camera; MediaPipe's relative depth is
  flattened and bent for close faces, so it is corrected by :func:`relief_m` (calibrated on ground-truth
  renders by bench/calibrate_depth.py);
* beyond the face oval: an ellipsoid head in the face's own frame, pushed back toward the head centre's
  depth at the person matte's outline (:func:`matte_head_depth`: hair and the top of the head are part of
  the head and turn with it), a neck cylinder and a torso plane behind; the face meets the proxy through
  a smooth offset field pinned to 0 at the outline, and nothing outside the oval comes in front of it, so
  there is neither a step nor a ridge at the oval;
* head weight (1 head, 0 torso, ramps down the neck) and edit weight (1 around the head and neck, 0 at
  the border of the working region and at the photo's own edge, so the edit fades out before the
  untouched photo and a head cut off by the frame stays pinned to it);
* the skirt: the hidden side of the head behind its outline, which a turn reveals.

Pure numpy/scipy/OpenCV on a small working grid; no Qt, no GL.
"""

from __future__ import annotations

import cv2
import numpy as np

from super_gui.core.camera import Intrinsics
from super_gui.core.concurrent import single_threaded_scipy_blas
from super_gui.core.depth import HeadSkirt, PersonDepth, WorkGrid, smoothstep
from super_gui.core.face import FACE_OVAL, IRIS_A, IRIS_B
from super_gui.core.fill import push_pull_fill
from super_gui.core.mesh import interpolate_linear

# Head proxy in the face frame (x face-right, y face-down, z face-backward; origin E), metres.
HEAD_CENTRE = np.array([0.0, -0.015, 0.095])
HEAD_RADII = np.array([0.085, 0.12, 0.11])
NECK_RADIUS = 0.058
NECK_AXIS_Z = 0.070  # the neck's axis passes through the pivot, 0.07 m behind E
CHIN_TO_TORSO = 0.13  # the torso starts this far below the chin
TORSO_BEHIND_E = 0.14


# MediaPipe's relative depth against ground truth, fitted by bench/calibrate_depth.py on renders of the
# Lee Perry-Smith scan (CC BY 3.0) facing the camera from 25 cm to 2.5 m, at two face sizes in the frame (focal
# 96 and 72 mm per metre of distance) and under two lightings: rows are the gain on MediaPipe's relief and
# the coefficients of a low-order correction field (see relief_design); columns are the slope and intercept of
# each as a straight line in s = 0.25 m / d. Close up, MediaPipe keeps the nose about right but bends the rest
# (jaw and face contour too shallow, the chin behind the eyes); from ~1 m on it flattens the nose by 4-5 mm.
# The field is even in u, smooth, and its one local term is a bump at the nose tip, so it corrects how
# MediaPipe bends and flattens depth rather than this one head's features. Its lighting dependence is large
# (the fitted gain is ~0.85-1.3 under a frontal key light and ~0.55-0.85 under a hard side light): the fit
# pools both, so neither is favoured.
_RELIEF_FIT = np.array([
    [+0.55350, +0.60378],
    [+0.04090, +0.03134],
    [+0.00543, -0.00232],
    [-0.10453, +0.19507],
    [-0.02585, -0.14145],
    [-0.15580, +0.01082],
    [-0.01232, +0.05444],
    [+0.12919, -0.05180],
])
_IOD_M = 0.063
NOSE_TIP = 1
_NOSE_SIGMA = 0.35  # eye distances


def relief_design(landmarks_px: np.ndarray, focal_px: float, distance_m: float) -> np.ndarray:
    """(N, 8) the relief model's design matrix: column 0 is MediaPipe's relief made metric,
    ``(z_i - z_E) * d / f``; columns 1-7 are IOD x (1, v, u^2, v^2, u^2 v, v^3, nose bump) with (u, v) the
    landmark's offset from E in eye distances and the bump ``exp(-|(u, v) - nose tip|^2 / (2 * 0.35^2))``."""
    e = 0.5 * (landmarks_px[IRIS_A] + landmarks_px[IRIS_B])
    iod = float(np.linalg.norm(landmarks_px[IRIS_A, :2] - landmarks_px[IRIS_B, :2]))
    u = (landmarks_px[:, 0] - e[0]) / iod
    v = (landmarks_px[:, 1] - e[1]) / iod
    un, vn = u[NOSE_TIP], v[NOSE_TIP]
    bump = np.exp(-((u - un) ** 2 + (v - vn) ** 2) / (2 * _NOSE_SIGMA**2))
    field = np.stack([np.ones_like(u), v, u * u, v * v, u * u * v, v**3, bump], axis=1)
    return np.column_stack([(landmarks_px[:, 2] - e[2]) * distance_m / focal_px, _IOD_M * field])


def relief_m(landmarks_px: np.ndarray, focal_px: float, distance_m: float) -> np.ndarray:
    """(N,) true depth relief (m, relative to E) of the landmarks, from MediaPipe's z:
    ``relief_design(...) @ coef(s)``, each coefficient a straight line in s = 0.25 / d (clamped to the
    calibrated range, 25 cm to 2.5 m)."""
    s = float(np.clip(0.25 / max(distance_m, 1e-3), 0.25 / 2.5, 1.0))
    coef = _RELIEF_FIT[:, 0] * s + _RELIEF_FIT[:, 1]
    return relief_design(landmarks_px, focal_px, distance_m) @ coef


def landmarks_3d(landmarks_px: np.ndarray, intr: Intrinsics, distance_m: float) -> np.ndarray:
    """(478, 3) pixel landmarks with MediaPipe z -> (478, 3) camera-space points, metres (E at depth d)."""
    return intr.unproject(landmarks_px[:, :2], distance_m + relief_m(landmarks_px, intr.focal_px, distance_m))


def working_region(E: np.ndarray, R: np.ndarray, intr: Intrinsics, long_side: int) -> WorkGrid:
    """The rectangle the edit can touch: head, neck and shoulders around E, clipped to the photo."""
    corners = np.array([[x, y, 0.0] for x in (-0.26, 0.26) for y in (-0.27, 0.36)])
    pts = E + corners @ R.T
    px = intr.project(pts)
    x0, y0 = np.floor(px.min(axis=0)).astype(int)
    x1, y1 = np.ceil(px.max(axis=0)).astype(int) + 1
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(intr.width, x1), min(intr.height, y1)
    scale = min(1.0, long_side / max(x1 - x0, y1 - y0))
    return WorkGrid(int(x0), int(y0), int(x1), int(y1), scale)


class _Rays:
    """The capture rays through the working pixels, (x, y, 1) per pixel, kept as a column and a row: every
    function of them below is made plane by plane from the two, with no (h, w, 3) array (the rays through a
    640 px grid as (h, w, 3) float64 arrays took ~0.1 s of the fit in temporaries)."""

    def __init__(self, grid: WorkGrid, intr: Intrinsics):
        h, w = grid.shape
        xs, ys = grid.to_full_res(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
        self.xs, self.ys = xs, ys  # full-resolution pixel coordinates of the columns and rows
        self.x = ((xs - intr.cx) / intr.focal_px)[None, :]  # (1, w)
        self.y = ((ys - intr.cy) / intr.focal_px)[:, None]  # (h, 1)

    def dot(self, u: np.ndarray, offset: float = 0.0) -> np.ndarray:
        """(h, w): ray . ``u`` + ``offset``."""
        return self.x * u[0] + (self.y * u[1] + (u[2] + offset))


def _ray_ellipsoid(rays: _Rays, centre: np.ndarray, R: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Depth (z) of the front hit of rays from the origin on an ellipsoid (centre, axes R's columns, radii).
    Misses get the depth of the ray's closest approach, which meets the hits continuously at the silhouette."""
    o = -(centre @ R) / radii  # origin in the ellipsoid's unit-sphere frame
    v = [rays.dot(R[:, k] / radii[k]) for k in range(3)]  # the rays in that frame
    a = v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
    b = v[0] * o[0] + v[1] * o[1] + v[2] * o[2]
    c = float(o @ o) - 1.0
    disc = b * b - a * c
    t_hit = (-b - np.sqrt(np.maximum(disc, 0.0))) / a
    return np.where(disc > 0, t_hit, -b / a)  # (times the rays' z, 1)


HEAD_DEPTH_RATIO = HEAD_RADII[2] / HEAD_RADII[0]  # the head's front-to-centre depth per metre of half-width
MAX_HEAD_HALF_WIDTH_M = 0.16  # wider runs of the matte (hair over the shoulders, a raised hand) are clamped
# Beyond the face oval its offset from the head proxy fades out over this many face widths (Gaussian), where
# no outline pins it down (down the neck, toward a cropped edge of the photo).
FACE_BLEND = 0.3
EDGE_PIN_M = 0.03  # over this much (at E's depth) the edit fades to nothing at the photo's edge
# Above the eyes the edit fades out between these heights (m, face frame), inside the working region's top
# (working_region: 0.27 m): a tall bun or a hat still moves whole, but someone standing behind the head,
# whom the person matte joins to it, no longer moves with it up to the region's edge and stops there in a
# straight seam.
TOP_FADE_M = (0.20, 0.25)
RIM_U = 0.99  # where the modelled cut through the head stops turning away (of its half-width)


def matte_head_depth(person: np.ndarray, grid: "WorkGrid", intr: Intrinsics, E: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth (m) of the head as the person matte outlines it: (h, w) depth and (h, w) bool where it applies.

    Each row of the working grid is a horizontal cut through the head: the run of the matte that contains the
    head's vertical axis spans the head (hair included) at that height. The cut is modelled as a half-ellipse
    whose half-width is the run's (measured on the plane through the head centre, smoothed over rows) and
    whose depth is HEAD_DEPTH_RATIO times that: so the surface reaches the head centre's depth at the matte's
    outline, where the real head turns away from the camera, whatever the hair's size. (On the head scan at
    1 m the fixed ellipsoid alone left the sides of the head 25-30 mm too shallow.) The caller only ever lets
    it push the head back, never forward.
    """
    h, w = person.shape
    inside = person > 0.5
    centre = E + R @ HEAD_CENTRE
    zc = float(centre[2])
    # The head's vertical axis in the working grid: its column at every row.
    ends = intr.project(np.stack([centre - 0.25 * R[:, 1], centre + 0.25 * R[:, 1]]))
    gx, gy = grid.from_full_res(ends[:, 0], ends[:, 1])
    rows = np.arange(h, dtype=np.float64)
    t = (rows - gy[0]) / (gy[1] - gy[0]) if abs(gy[1] - gy[0]) > 1e-6 else np.zeros(h)
    axis = np.clip(np.round(gx[0] + t * (gx[1] - gx[0])).astype(int), 0, w - 1)
    cols = np.arange(w)
    # Each row whose axis pixel is inside: the run of the matte around it, from the last pixel outside left of
    # the axis to the first one outside at or right of it (the photo's edge where there is none).
    have = inside[rows.astype(int), axis]
    before = cols[None, :] < axis[:, None]
    lo = np.where(~inside & before, cols[None, :], -1).max(axis=1)
    hi = np.where(~inside & ~before, cols[None, :], w).min(axis=1)
    left = np.where(have, lo + 0.5, np.nan)
    right = np.where(have, hi - 0.5, np.nan)
    if not have.any():
        return np.zeros((h, w), np.float32), np.zeros((h, w), bool)
    # Metres across, on the plane through the head centre (x of full-resolution pixels at depth zc).
    to_m = lambda gxs: (grid.to_full_res(gxs, np.zeros_like(gxs))[0] - intr.cx) * zc / intr.focal_px  # noqa: E731
    xl, xr = to_m(np.where(have, left, 0.0)), to_m(np.where(have, right, 0.0))
    half = np.clip(0.5 * (xr - xl), 1e-3, MAX_HEAD_HALF_WIDTH_M)
    mid = 0.5 * (xr + xl)
    # Smooth over rows (normalised, so rows without a run do not pull toward zero): matte edges are noisy.
    sigma = max(1.0, 0.015 * h)
    wgt = have.astype(np.float64)
    blur = lambda a: cv2.GaussianBlur((a * wgt)[:, None], (1, 0), sigma)[:, 0] / np.maximum(cv2.GaussianBlur(wgt[:, None], (1, 0), sigma)[:, 0], 1e-6)  # noqa: E731
    half, mid = blur(half), blur(mid)
    x_m = to_m(cols.astype(np.float64))
    u = (x_m[None, :] - mid[:, None]) / np.maximum(half[:, None], 1e-3)
    # The cut stops short of vertical at the outline (u <= RIM_U): a wall of triangles along the outline would
    # be torn, and a turn would open a jagged gap there.
    depth = zc - HEAD_DEPTH_RATIO * half[:, None] * np.sqrt(1.0 - np.clip(u * u, 0.0, RIM_U**2))
    applies = have[:, None] & (cols[None, :] >= np.floor(left)[:, None]) & (cols[None, :] <= np.ceil(right)[:, None])
    return depth.astype(np.float32), applies


def person_depth(
    landmarks_px: np.ndarray,
    intr: Intrinsics,
    distance_m: float,
    E: np.ndarray,
    R: np.ndarray,
    person_mask: np.ndarray,
    grid: WorkGrid,
) -> PersonDepth:
    """Depth, head weight and edit weight of the person on ``grid``.

    person_mask: (h, w) float32 in [0, 1] on the grid. E, R: eye midpoint and face frame (camera space).
    """
    h, w = grid.shape
    rays = _Rays(grid, intr)

    # Proxy solids, all in the face frame, so a turned or tilted head gets a turned proxy.
    d_head = _ray_ellipsoid(rays, E + R @ HEAD_CENTRE, R, HEAD_RADII)
    d_matte, on_matte = matte_head_depth(person_mask, grid, intr, E, R)
    # The matte's cut only ever pushes the head back (toward its outline's depth), never forward: hair or a
    # collar that widens a row must not pull the surface in front of the ellipsoid head.
    d_head = np.where(on_matte, np.maximum(d_matte, d_head), d_head)
    neck_centre = E + R @ np.array([0.0, 0.0, NECK_AXIS_Z])
    d_neck = _ray_ellipsoid(rays, neck_centre, R, np.array([NECK_RADIUS, 10.0, NECK_RADIUS * 0.9]))
    # Face-frame height of each pixel's point on E's depth plane (for zones and weights).
    y_face = rays.dot(distance_m * R[:, 1], -float(E @ R[:, 1]))

    pts = landmarks_3d(landmarks_px, intr, distance_m)
    chin_y = float((pts[152] - E) @ R[:, 1])
    torso = distance_m + TORSO_BEHIND_E
    w_head = 1.0 - smoothstep(chin_y - 0.01, chin_y + 0.03, y_face)
    w_torso = smoothstep(chin_y + 0.04, chin_y + CHIN_TO_TORSO, y_face)
    neck = np.maximum(d_neck, distance_m)  # the neck never comes in front of the eyes
    proxy = w_head * d_head + (1 - w_head) * ((1 - w_torso) * neck + w_torso * torso)

    # Face depth from the landmarks, interpolated over the mesh (eyes and mouth included).
    wx, wy = grid.from_full_res(landmarks_px[:, 0], landmarks_px[:, 1])
    single_threaded_scipy_blas()  # (the triangulation's ~900 tiny solves: each to a spinning BLAS thread otherwise)
    d_face = interpolate_linear(np.stack([wx, wy], axis=1), pts[:, 2], (h, w))  # (LinearNDInterpolator's values)
    oval = np.stack([wx[list(FACE_OVAL)], wy[list(FACE_OVAL)]], axis=1).astype(np.int32)
    face_mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(face_mask, [oval], 1)
    face = (face_mask > 0) & np.isfinite(d_face)

    # Meet the proxy without a step and without a tear: the face-minus-proxy offset is interpolated smoothly
    # (push-pull) between the face, where it is known, and the person's outline, where it is 0 so that the
    # outline lies where the proxy puts it (at the head's silhouette depth). Hair beside the cheek thus stays
    # one surface with the face; a steep carry tore the face from its hair when the head turned.
    inside = person_mask > 0.5
    rim = inside & ~face & (cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2) == 0)
    known = face | rim
    offset = push_pull_fill(np.where(face, d_face - proxy, 0.0), known)
    face_px = max(4.0, float(np.linalg.norm([wx[234] - wx[454], wy[234] - wy[454]])))
    dist = cv2.distanceTransform((~face).astype(np.uint8), cv2.DIST_L2, 5)
    fade = np.exp(-((dist / (FACE_BLEND * face_px)) ** 2))
    # A head is convex: beyond the face oval nothing lies in front of the oval's own depth (hair falling
    # forward aside). Where the proxy would (a narrow proxy beside a wide face), it would hide the face's
    # edge behind a ridge when the head turns: the oval's depth, carried outward, is the floor.
    edge = push_pull_fill(np.where(face, d_face, 0.0), face)
    depth = np.where(face, d_face, np.maximum(proxy + offset * fade, edge)).astype(np.float32)
    # Beyond the outline (the soft edge of the matte, the background) the depth carries the outline's on
    # flat: triangles that straddle the outline must not stand up as a wall when the head turns.
    if inside.any():
        depth = np.where(inside, depth, push_pull_fill(np.where(inside, depth, 0.0), inside)).astype(np.float32)

    # Head weight from the face-frame height of each surface point: 1 above the chin, 0 down the neck.
    y_surf = depth * rays.dot(R[:, 1]) - float(E @ R[:, 1])
    head_w = 1.0 - smoothstep(chin_y + 0.005, chin_y + 0.085, y_surf)
    # Edit weight: only the head changes (DESIGN.md §1). It is 1 on the head, fades out down the neck
    # before the shoulders and sideways beyond the hair, so the torso and background stay put.
    x_surf = depth * rays.dot(R[:, 0]) - float(E @ R[:, 0])
    down = 1.0 - smoothstep(chin_y + 0.02, chin_y + 0.075, y_surf)
    up = smoothstep(-TOP_FADE_M[1], -TOP_FADE_M[0], y_surf)
    side = 1.0 - smoothstep(0.10, 0.15, np.abs(x_surf))
    # A head cut off by the photo's edge stays pinned there: what lies beyond the frame was never
    # photographed, so moving the edge inward would uncover a void (a flat cap over cropped hair).
    xs, ys = rays.xs, rays.ys
    to_edge = np.minimum(np.minimum(xs + 0.5, intr.width - 0.5 - xs)[None, :], np.minimum(ys + 0.5, intr.height - 0.5 - ys)[:, None])
    pinned = smoothstep(0.0, EDGE_PIN_M * intr.focal_px / distance_m, to_edge)
    edit_w = down * up * side * pinned
    skirt = head_skirt(depth, head_w, intr, E, R, person_mask, grid, chin_y)
    return PersonDepth(
        grid,
        depth,
        head_w.astype(np.float32),
        edit_w.astype(np.float32),
        face.astype(np.float32),
        person_mask.astype(np.float32),
        skirt,
    )


SKIRT_SWEEP_DEG = 70.0  # how far behind the outline the skirt reaches: a head longer than wide, turned 30 deg, shows ~45 deg of it
SKIRT_RINGS = 7
SKIRT_ABOVE_CHIN_M = 0.04  # no skirt along the jaw and neck (it would stand out behind the neck)
SKIRT_INSET_M = 0.005  # the skirt's colour is read at least this far inside the outline
SKIRT_MIRROR = 0.25  # how far the skirt's colour source follows a mirror of the sweep across the outline


def head_skirt(
    depth: np.ndarray,
    head_w: np.ndarray,
    intr: Intrinsics,
    E: np.ndarray,
    R: np.ndarray,
    person_mask: np.ndarray,
    grid: WorkGrid,
    chin_y: float,
) -> HeadSkirt | None:
    """The skirt behind the head's outline (see :class:`HeadSkirt`), or None when no outline is usable.

    Each outline point o of the head (above the chin, not on the photo's edge) sweeps around an ellipse
    toward the back of the head: in the face frame, its offset from the head's axis shrinks as cos(a)
    while it moves back by r_b sin(a) (r_b: the rest of the head's depth behind o), for a from 0 to
    SKIRT_SWEEP_DEG. Its colour is taken at cos(a) of the way in from the axis at o's depth: the photo just
    inside the outline, as if the side of the head were mirrored across it.
    """
    h, w = depth.shape
    mask = (person_mask > 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    step = max(2, int(round(max(h, w) / 160.0)))  # outline points about every 0.6 % of the region
    on_edge_x = (grid.x0 == 0, grid.x1 == intr.width)
    on_edge_y = (grid.y0 == 0, grid.y1 == intr.height)
    angles = np.radians(np.linspace(0.0, SKIRT_SWEEP_DEG, SKIRT_RINGS + 1))
    centre_y = HEAD_CENTRE[1]
    back = HEAD_CENTRE[2] + HEAD_RADII[2]
    positions, sources, grid_pts, triangles = [], [], [], []
    n = 0
    for c in contours:
        c = c[:, 0, :].astype(np.float64)
        if len(c) < 8:
            continue
        c = c[::step]
        xi, yi = np.clip(np.round(c[:, 0]).astype(int), 0, w - 1), np.clip(np.round(c[:, 1]).astype(int), 0, h - 1)
        z = depth[yi, xi].astype(np.float64)
        fx, fy = grid.to_full_res(c[:, 0], c[:, 1])
        p = intr.unproject(np.stack([fx, fy], axis=1), z) - E
        local = p @ R  # face frame
        border = (
            ((c[:, 0] <= 1) & on_edge_x[0])
            | ((c[:, 0] >= w - 2) & on_edge_x[1])
            | ((c[:, 1] <= 1) & on_edge_y[0])
            | ((c[:, 1] >= h - 2) & on_edge_y[1])
        )
        use = (head_w[yi, xi] > 0.5) & (local[:, 1] < chin_y - SKIRT_ABOVE_CHIN_M) & ~border & (local[:, 2] > 0.0)
        if use.sum() < 2:
            continue
        m = len(c)
        # Ring points for every outline point (unused ones are dropped below with their triangles).
        axis = np.stack([np.zeros(m), np.full(m, centre_y)], axis=1)
        radial = local[:, :2] - axis
        r_back = np.clip(back - local[:, 2], 0.03, 0.15)
        unit = radial / np.maximum(np.linalg.norm(radial, axis=1, keepdims=True), 1e-6)
        ring_pos, ring_src = [], []
        for a in angles:
            q = np.empty((m, 3))
            q[:, :2] = axis + radial * np.cos(a)
            q[:, 2] = local[:, 2] + r_back * np.sin(a)
            ring_pos.append(q @ R.T + E)
            # Colour from inside the outline (the matte's soft edge and the background stay out of it), read
            # ever further in as the skirt sweeps back, but only SKIRT_MIRROR of the way a true mirror across
            # the outline would go: a full mirror copies an ear or a glasses arm onto the revealed side
            # (a doubled ear), while this keeps the outline's own colours and grain.
            front = np.empty_like(q)
            front[:, :2] = axis + radial * (1.0 - SKIRT_MIRROR * (1.0 - np.cos(a))) - unit * SKIRT_INSET_M
            front[:, 2] = local[:, 2]
            ring_src.append(intr.project(front @ R.T + E))
        ring_pos = np.stack(ring_pos)  # (rings, m, 3)
        ring_src = np.stack(ring_src)
        # Quads between neighbouring outline points that are both used (the contour is closed).
        i = np.arange(m)
        j = (i + 1) % m
        ok = use[i] & use[j]
        k = np.arange(SKIRT_RINGS)
        ii, kk = np.meshgrid(i[ok], k, indexing="ij")
        jj = np.repeat(j[ok][:, None], SKIRT_RINGS, axis=1)
        ii, jj, kk = ii.ravel(), jj.ravel(), kk.ravel()
        idx = lambda ring, pt: n + ring * m + pt  # noqa: E731
        triangles.append(np.stack([idx(kk, ii), idx(kk, jj), idx(kk + 1, ii)], axis=1))
        triangles.append(np.stack([idx(kk, jj), idx(kk + 1, jj), idx(kk + 1, ii)], axis=1))
        positions.append(ring_pos.reshape(-1, 3))
        sources.append(ring_src.reshape(-1, 2))
        grid_pts.append(np.tile(c, (SKIRT_RINGS + 1, 1)))
        n += (SKIRT_RINGS + 1) * m
    if not triangles:
        return None
    tri = np.concatenate(triangles)
    pos, src, gp = np.concatenate(positions), np.concatenate(sources), np.concatenate(grid_pts)
    used = np.unique(tri)
    remap = -np.ones(len(pos), np.int64)
    remap[used] = np.arange(len(used))
    return HeadSkirt(gp[used].astype(np.float32), pos[used].astype(np.float32), src[used].astype(np.float32), remap[tri].astype(np.int32))
