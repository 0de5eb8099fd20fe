"""Depth-induced mesh: the person's depth map turned into triangles in capture camera space.

Vertices are denser on the face than elsewhere (Delaunay over an adaptive point set, so there are no
T-junction cracks), unprojected with the capture camera; triangles are dropped outside the person and
flagged *torn* across depth discontinuities; texture coordinates are the source pixel positions.
Per-vertex attributes drive the renderer: head weight (rotation), edit weight (how far the vertex
follows the virtual camera rather than staying at its source pixel) and source-view quality (cosine
between the surface normal and the ray that photographed it).

Exports GLB, OBJ and PLY with the photo as texture (trimesh). No Qt, no GL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from super_gui.core.camera import Intrinsics
from super_gui.core.depth import PersonDepth

TEAR_DEPTH_M = 0.035  # a triangle spanning more depth than this (and steeper than TEAR_SLOPE) is torn
TEAR_SLOPE = 4.0  # depth change per unit of lateral extent
SKIRT_QUALITY = -1.0  # the quality that marks the skirt's vertices (the head's hidden side)


@dataclass(frozen=True)
class PersonMesh:
    """Triangles in capture camera space (metres) with per-vertex attributes (all float32).

    positions (N, 3); source_px (N, 2) full-resolution pixel of each vertex; head_weight, edit_weight,
    quality (N,); normals (N, 3) unit, facing the camera; triangles (M, 3) int32; torn (M,) bool.
    The head's skirt (:class:`~super_gui.core.depth.HeadSkirt`) comes last, its vertices marked by
    quality = SKIRT_QUALITY.
    """

    positions: np.ndarray
    source_px: np.ndarray
    normals: np.ndarray
    head_weight: np.ndarray
    edit_weight: np.ndarray
    quality: np.ndarray
    triangles: np.ndarray
    torn: np.ndarray

    @property
    def n_vertices(self) -> int:
        return int(self.positions.shape[0])

    @property
    def n_triangles(self) -> int:
        return int(self.triangles.shape[0])


def _sample_points(depth: PersonDepth, fine_px: float, coarse_px: float) -> np.ndarray:
    """(N, 2) working-grid points (x, y): a fine lattice on and around the face, a coarse one elsewhere
    on the person, plus the person's outline so the silhouette is followed closely."""
    h, w = depth.depth_m.shape
    person = (depth.person > 0.5).astype(np.uint8)
    near_face = cv2.dilate((depth.face_mask > 0).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=max(1, int(fine_px * 3)))
    pts = []
    for step, region in ((fine_px, near_face), (coarse_px, person & (1 - near_face))):
        ys, xs = np.mgrid[0 : h : step, 0 : w : step]
        xs, ys = xs.ravel(), ys.ravel()
        keep = region[np.clip(ys.round().astype(int), 0, h - 1), np.clip(xs.round().astype(int), 0, w - 1)] > 0
        pts.append(np.stack([xs[keep], ys[keep]], axis=1))
    contours, _ = cv2.findContours(person, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    for c in contours:
        c = c[:, 0, :].astype(np.float64)
        pts.append(c[:: max(1, int(fine_px))])
    # The region's corners keep the triangulation's hull simple.
    pts.append(np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], dtype=np.float64))
    p = np.concatenate(pts).astype(np.float64)
    return np.unique(np.round(p, 2), axis=0)


def sample_bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``img`` sampled bilinearly at the points (x, y) (any number: cv2.remap takes at most 32767 columns, so
    the points are laid out as rows of 1024)."""
    n = len(x)
    cols = 1024
    rows = max(1, -(-n // cols))
    mx = np.zeros(rows * cols, np.float32)
    my = np.zeros(rows * cols, np.float32)
    mx[:n], my[:n] = x, y
    out = cv2.remap(img.astype(np.float32), mx.reshape(rows, cols), my.reshape(rows, cols), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(rows * cols, *img.shape[2:])[:n]


def vertex_normals(positions: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(N, 3) area-weighted vertex normals, oriented toward the camera (negative z)."""
    v = positions.astype(np.float64)
    t = triangles
    fn = np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, t[:, k], fn)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    flip = np.einsum("ij,ij->i", n, v) > 0  # must face the camera at the origin
    n[flip] *= -1
    return n


_INSIDE_EPS = 100 * np.finfo(np.float64).eps  # SciPy's tolerance on barycentric coordinates (qhull.pyx: eps)
# Pixels tried around each triangle's bounding box: the tolerance above reaches ~1e-14 of a triangle's size
# beyond its edges (~1e-12 px), far less than this.
_BOX_MARGIN_PX = 1e-6


def interpolate_linear(points: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(h, w) float64: ``values`` ((N,)) at ``points`` ((N, 2): x, y) interpolated linearly over their
    Delaunay triangles (``scipy.spatial.Delaunay``) at every pixel (x = column, y = row) of ``shape``; NaN
    outside their hull. What ``scipy.interpolate.LinearNDInterpolator(points, values)`` gives on that pixel
    grid, bit for bit: the same triangles, the same barycentric coordinates (from the triangulation's own
    ``transform``, summed in the same order), the same tolerance, the same sum. (Only a pixel on an edge
    shared by two triangles, to within that tolerance, may take the other triangle's value, which differs
    by rounding.) Without importing ``scipy.interpolate``: ~0.2-0.3 s of Python's lock on the way to the
    editor's first preview."""
    from super_gui.core.qhull import delaunay_class

    h, w = shape
    pts = np.ascontiguousarray(points, np.float64).reshape(-1, 2)
    vals = np.asarray(values, np.float64).ravel()
    out = np.full(h * w, np.nan)
    tri = delaunay_class()(pts)
    simplices, transform = tri.simplices, tri.transform  # (S, 3); (S, 3, 2): T^-1 rows, then the origin r
    if len(simplices) == 0:
        return out.reshape(h, w)
    corners = pts[simplices]
    m = _BOX_MARGIN_PX
    x0 = np.clip(np.ceil(corners[..., 0].min(axis=1) - m), 0, w).astype(np.int64)
    x1 = np.clip(np.floor(corners[..., 0].max(axis=1) + m) + 1, 0, w).astype(np.int64)
    y0 = np.clip(np.ceil(corners[..., 1].min(axis=1) - m), 0, h).astype(np.int64)
    y1 = np.clip(np.floor(corners[..., 1].max(axis=1) + m) + 1, 0, h).astype(np.int64)
    bw = np.maximum(x1 - x0, 0)
    n = bw * np.maximum(y1 - y0, 0)
    # Every pixel of every triangle's bounding box, in one flat run: k its triangle, (x, y) the pixel.
    k = np.repeat(np.arange(len(simplices)), n)
    j = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    x = x0[k] + j % np.maximum(bw[k], 1)
    y = y0[k] + j // np.maximum(bw[k], 1)
    t = transform[k]
    dx, dy = x - t[:, 2, 0], y - t[:, 2, 1]
    c0 = t[:, 0, 0] * dx + t[:, 0, 1] * dy  # (qhull.pyx _barycentric_inside: c[i] += T[i, j] * (x[j] - r[j]))
    c1 = t[:, 1, 0] * dx + t[:, 1, 1] * dy
    c2 = 1.0 - c0 - c1
    lo, hi = -_INSIDE_EPS, 1.0 + _INSIDE_EPS
    inside = (lo <= c0) & (c0 <= hi) & (lo <= c1) & (c1 <= hi) & (lo <= c2) & (c2 <= hi)  # (NaN: a flat triangle)
    s = simplices[k[inside]]
    v = c0[inside] * vals[s[:, 0]] + c1[inside] * vals[s[:, 1]] + c2[inside] * vals[s[:, 2]]  # (interpnd.pyx's order)
    out[y[inside] * w + x[inside]] = v
    return out.reshape(h, w)


def lattice_step(depth: PersonDepth) -> float:
    """The settled mesh's lattice step on ``depth``'s working grid (in grid pixels, near the face)."""
    h, w = depth.depth_m.shape
    return max(2.0, max(h, w) / 220.0)


# Subdiv2D's outer triangle, in extents of the points beyond their box: far enough that the triangles along
# the hull are all made (at 0, slivers between nearly collinear hull points are missed), near enough for
# its float32 vertices.
_OUTER_REACH = 1000.0


def triangulate(points: np.ndarray) -> np.ndarray:
    """(T, 3) int32: a Delaunay triangulation of the distinct 2-D ``points`` ((N, 2), under ~10^4 in size,
    distinct as float32), each triangle counter-clockwise with y down (as SciPy's). OpenCV's incremental
    Subdiv2D: on the mesh's lattices, whose squares are cocircular, Qhull merges facets at length (~0.14 s
    for 9k points on a 2-core laptop, against ~0.02 s here). Where the result does not cover the points'
    convex hull exactly with every point a vertex, SciPy's (Qhull's) triangulation is returned instead."""
    p = np.ascontiguousarray(points, np.float64).reshape(-1, 2)
    p32 = p.astype(np.float32)
    tri = None
    if len(p) >= 3:
        lo, hi = p32.min(axis=0), p32.max(axis=0)
        reach = _OUTER_REACH * float((hi - lo).max()) + 2.0
        side = int(np.ceil(float((hi - lo).max()) + 2.0 * reach))
        sub = cv2.Subdiv2D((int(np.floor(lo[0] - reach)), int(np.floor(lo[1] - reach)), side, side))
        sub.insert(p32)
        corners = np.ascontiguousarray(sub.getTriangleList(), np.float32).reshape(-1, 3, 2)
        # Each corner back to its point's index: the float32 pair as one 64-bit key, looked up in the sorted keys.
        keys = p32.view(np.uint64).ravel()
        order = np.argsort(keys)
        want = corners.view(np.uint64).reshape(-1, 3)
        idx = order[np.minimum(np.searchsorted(keys[order], want), len(p) - 1)]
        if len(idx) and (keys[idx] == want).all():
            a, b, c = p[idx[:, 0]], p[idx[:, 1]], p[idx[:, 2]]
            cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
            idx[cross < 0] = idx[cross < 0][:, [0, 2, 1]]
            hull = cv2.convexHull(p32.reshape(-1, 1, 2))
            area = float(np.abs(cross).sum()) / 2.0
            if len(np.unique(idx)) == len(p) and abs(area - cv2.contourArea(hull)) <= 1e-5 * max(1.0, area):
                tri = idx
    if tri is None:
        from super_gui.core.qhull import delaunay_class  # (SciPy's, without the rest of scipy.spatial)

        tri = delaunay_class()(p).simplices
    return np.ascontiguousarray(tri, np.int32)


def build_mesh(depth: PersonDepth, intr: Intrinsics, *, fine_px: float | None = None) -> PersonMesh:
    """Triangulate ``depth`` (a working grid over the person) into a :class:`PersonMesh`."""
    h, w = depth.depth_m.shape
    if fine_px is None:
        fine_px = lattice_step(depth)
    coarse_px = 3.0 * fine_px
    pts = _sample_points(depth, fine_px, coarse_px)
    tri = triangulate(pts)
    xs, ys = pts[:, 0], pts[:, 1]
    person = sample_bilinear(depth.person, xs, ys)
    # Keep every triangle that touches the person: the soft matte (drawn with the photo) shapes the
    # silhouette, so the triangles only need to cover it, not follow it in steps.
    cx, cy = pts[tri].mean(axis=1).T
    on = (sample_bilinear(depth.person, cx, cy) > 0.05) | (person[tri].max(axis=1) > 0.3)
    # Delaunay bridges hollows in the outline (between an arm and the head, under a hat brim) with long
    # thin triangles; they are not surface, and drawn they smear the photo across the gap.
    edges = np.linalg.norm(pts[tri] - pts[np.roll(tri, 1, axis=1)], axis=2).max(axis=1)
    on &= edges < 2.5 * coarse_px
    tri = tri[on]
    used = np.unique(tri)
    remap = -np.ones(len(pts), np.int64)
    remap[used] = np.arange(len(used))
    tri = remap[tri].astype(np.int32)
    xs, ys = xs[used], ys[used]

    src = np.stack(depth.grid.to_full_res(xs, ys), axis=1)
    z = sample_bilinear(depth.depth_m, xs, ys)
    pos = intr.unproject(src, z)

    # Tear where the depth jumps: a steep triangle spanning a lot of depth is two surfaces, not one.
    zt = z[tri]
    span = zt.max(axis=1) - zt.min(axis=1)
    lateral = np.linalg.norm(pos[tri][:, :, :2] - pos[tri][:, :, :2].mean(axis=1, keepdims=True), axis=2).max(axis=1)
    torn = (span > TEAR_DEPTH_M) & (span > TEAR_SLOPE * np.maximum(lateral, 1e-6))

    normals = vertex_normals(pos, tri[~torn] if (~torn).any() else tri)
    rays = pos / np.linalg.norm(pos, axis=1, keepdims=True)
    quality = np.clip(-np.einsum("ij,ij->i", normals, rays), 0.0, 1.0)
    head_w = sample_bilinear(depth.head_weight, xs, ys)
    edit_w = sample_bilinear(depth.edit_weight, xs, ys)

    sk = depth.skirt
    if sk is not None and len(sk.triangles):
        # The hidden side of the head: its own vertices, never photographed: quality SKIRT_QUALITY tells
        # the renderer it is head (whatever the matte says at its source pixel) and generated.
        gx, gy = sk.grid_px[:, 0], sk.grid_px[:, 1]
        base = len(pos)
        tri = np.concatenate([tri, sk.triangles + base]).astype(np.int32)
        torn = np.concatenate([torn, np.zeros(len(sk.triangles), bool)])
        pos = np.concatenate([pos, sk.positions])
        src = np.concatenate([src, sk.source_px])
        normals = np.concatenate([normals, vertex_normals(sk.positions, sk.triangles)])
        quality = np.concatenate([quality, np.full(len(sk.positions), SKIRT_QUALITY)])
        head_w = np.concatenate([head_w, sample_bilinear(depth.head_weight, gx, gy)])
        edit_w = np.concatenate([edit_w, sample_bilinear(depth.edit_weight, gx, gy)])
    return PersonMesh(
        positions=pos.astype(np.float32),
        source_px=src.astype(np.float32),
        normals=normals.astype(np.float32),
        head_weight=head_w.astype(np.float32),
        edit_weight=edit_w.astype(np.float32),
        quality=quality.astype(np.float32),
        triangles=tri,
        torn=torn,
    )


def export_mesh(mesh: PersonMesh, texture_rgb8: np.ndarray, texture_origin: tuple[int, int], path: str | os.PathLike) -> None:
    """Write the mesh with ``texture_rgb8`` (an (h, w, 3) uint8 crop of the photo whose top-left pixel is
    ``texture_origin`` in full-resolution pixels) as GLB, OBJ (+ MTL + PNG) or PLY (vertex colours).

    Coordinates are converted from OpenCV camera space (y down, z forward) to the y-up, z-toward-viewer
    convention of glTF/OBJ viewers, in metres. Each file is written atomically; an OBJ is three files named
    after it (``head.obj``, ``head.mtl``, ``head_texture.png``). A run's files are written all or none by
    :meth:`~super_gui.core.outputs.OutputPlan.writing` (through :func:`~super_gui.app.edit.write_mesh`).
    """
    import trimesh
    from PIL import Image

    from super_gui.core.atomic import atomic_path
    from super_gui.core.outputs import mesh_files

    path = Path(path)
    ext = path.suffix.lower()
    if ext not in (".glb", ".obj", ".ply"):
        from super_gui.errors import UserInputError

        raise UserInputError(f"Cannot write a mesh as {path.name}: use a .glb, .obj or .ply file name.")
    faces = mesh.triangles[~mesh.torn]
    verts = mesh.positions.astype(np.float64) * np.array([1.0, -1.0, -1.0])
    faces = faces[:, ::-1]  # the y/z flip mirrors the winding
    th, tw = texture_rgb8.shape[:2]
    u = (mesh.source_px[:, 0] - texture_origin[0] + 0.5) / tw
    v = 1.0 - (mesh.source_px[:, 1] - texture_origin[1] + 0.5) / th
    uv = np.stack([u, v], axis=1)
    if ext == ".ply":
        px = np.clip(np.round(mesh.source_px - np.array(texture_origin)), 0, [tw - 1, th - 1]).astype(int)
        colours = np.concatenate([texture_rgb8[px[:, 1], px[:, 0]], np.full((len(px), 1), 255, np.uint8)], axis=1)
        tm = trimesh.Trimesh(verts, faces, vertex_colors=colours, process=False)
    else:
        material = trimesh.visual.material.SimpleMaterial(image=Image.fromarray(texture_rgb8))
        tm = trimesh.Trimesh(verts, faces, visual=trimesh.visual.TextureVisuals(uv=uv, material=material), process=False)
    if ext == ".obj":
        # Three files named after the mesh (head.obj, head.mtl, head_texture.png: outputs.mesh_files), never
        # trimesh's fixed "material_0.png", which would replace any file of that name in the folder.
        _, material, texture = (p for _, p in mesh_files(path))
        files = trimesh.exchange.obj.export_obj(tm, include_texture=True, return_texture=True, mtl_name=material.name)
        text, extras = files if isinstance(files, tuple) else (files, {})
        mtl = extras.pop(material.name, b"")
        if len(extras) > 1:
            raise RuntimeError(f"trimesh wrote {len(extras)} textures for one material")
        for name, data in extras.items():
            mtl = mtl.replace(name.encode(), texture.name.encode())
            with atomic_path(texture) as tmp:
                tmp.write_bytes(data)
        with atomic_path(material) as tmp:
            tmp.write_bytes(mtl)
        with atomic_path(path) as tmp:
            tmp.write_text(text)
        return
    with atomic_path(path) as tmp:
        tm.export(tmp, file_type=ext[1:])
