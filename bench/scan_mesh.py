"""Loading the head scan's files (``bench/scan_render.py``): where the asset lives (``SCAN_DIR``: the GLB mesh and
its colour texture, from ../shared/assets), and the raw mesh as the GLB stores it (``_load_raw``: vertices in GLB
units, faces wound outward, smooth normals welded across UV seams, glTF uv and the texture as RGB), loaded once.
Moved out of bench/scan_render.py unchanged.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

SCAN_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "assets" / "leeperrysmith"
GLB_PATH = SCAN_DIR / "LeePerrySmith.glb"
TEXTURE_PATH = SCAN_DIR / "Map-COL.jpg"


@dataclass
class _RawMesh:
    vertices: np.ndarray   # (N,3) float64 GLB units
    normals: np.ndarray    # (N,3) float64 unit, smooth, welded across seams
    faces: np.ndarray      # (M,3) int32
    uv_gl: np.ndarray      # (N,2) float32 glTF uv (v down)
    texture: np.ndarray    # (H,W,3) uint8 RGB


def _smooth_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals, shared by vertices at the same position (UV seams do not show)."""
    _, weld = np.unique(np.round(v, 6), axis=0, return_inverse=True)
    weld = weld.reshape(-1)
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])       # length = 2 * area
    acc = np.zeros((weld.max() + 1, 3))
    for k in range(3):
        np.add.at(acc, weld[f[:, k]], fn)
    n = acc[weld]
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


@functools.lru_cache(maxsize=1)
def _load_raw() -> _RawMesh:
    import trimesh

    loaded = trimesh.load(str(GLB_PATH))
    if isinstance(loaded, trimesh.Scene):
        parts = []
        for node in loaded.graph.nodes_geometry:
            T, name = loaded.graph[node]
            g = loaded.geometry[name].copy()
            g.apply_transform(T)
            parts.append(g)
        mesh = parts[0] if len(parts) == 1 else trimesh.util.concatenate(parts)
    else:
        mesh = loaded
    v = np.asarray(mesh.vertices, dtype=np.float64)
    f = np.asarray(mesh.faces, dtype=np.int32)
    uv = np.asarray(mesh.visual.uv, dtype=np.float64).copy()
    uv[:, 1] = 1.0 - uv[:, 1]             # trimesh flips glTF's v on load; undo it (back to the file's values)
    # make the winding outward (the normal at the nose tip must point along the nose, +z in the GLB)
    n = _smooth_normals(v, f)
    tip = int(np.argmax(v[:, 2]))
    if n[tip, 2] < 0:
        f = f[:, ::-1].copy()
        n = -n
    tex = cv2.imread(str(TEXTURE_PATH), cv2.IMREAD_COLOR)
    if tex is None:
        raise FileNotFoundError(TEXTURE_PATH)
    tex = np.ascontiguousarray(tex[:, :, ::-1])
    return _RawMesh(v, n, f, uv.astype(np.float32), tex)
