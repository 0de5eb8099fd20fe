"""The depth a backend hands over, backend-neutral: the working grid and the person's depth on it.

* :class:`WorkGrid`: the rectangle of the full-resolution photo the edit can touch, sampled at a scale;
* :class:`PersonDepth`: working-grid maps of the whole person (depth in metres, camera space, head weight,
  edit weight, face mask, person matte) and, optionally, the :class:`HeadSkirt` (the hidden side of the
  head behind its outline, which a turn reveals);
* :func:`smoothstep`, the elementwise Hermite step the backends' maps are made with.

An inversion backend fills these in (the landmark backend's relief fit, head proxy and skirt are in
:mod:`super_gui.inversion.landmark_depth`); the mesh (:mod:`super_gui.core.mesh`) reads them. Pure numpy;
no Qt, no GL, no backend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WorkGrid:
    """The working region: a rectangle of the full-resolution photo sampled at ``scale``.

    Working pixel (i, j) (row, column) sits at full-resolution pixel
    ``(x0 + (j + 0.5) / scale - 0.5, y0 + (i + 0.5) / scale - 0.5)``.
    """

    x0: int
    y0: int
    x1: int  # exclusive
    y1: int
    scale: float

    @property
    def shape(self) -> tuple[int, int]:
        return max(2, round((self.y1 - self.y0) * self.scale)), max(2, round((self.x1 - self.x0) * self.scale))

    def to_full_res(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Working-grid coordinates (x, y) -> full-resolution pixel coordinates."""
        h, w = self.shape
        return (self.x0 + (x + 0.5) * ((self.x1 - self.x0) / w) - 0.5, self.y0 + (y + 0.5) * ((self.y1 - self.y0) / h) - 0.5)

    def from_full_res(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Full-resolution pixel coordinates (x, y) -> working-grid coordinates."""
        h, w = self.shape
        return ((x - self.x0 + 0.5) * (w / (self.x1 - self.x0)) - 0.5, (y - self.y0 + 0.5) * (h / (self.y1 - self.y0)) - 0.5)

    def full_res_coords(self) -> tuple[np.ndarray, np.ndarray]:
        """(h, w) float64 x and y full-resolution pixel coordinates of the working pixels."""
        h, w = self.shape
        xs, ys = self.to_full_res(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
        return np.meshgrid(xs, ys)


@dataclass(frozen=True)
class HeadSkirt:
    """The part of the head just behind its outline, which the photo does not show but a turn reveals.

    Rings of points go from the head's outline around toward the back of the head; each ring is coloured
    from the photo just inside the outline (the side of the head mirrored forward), so a head turned toward
    the camera keeps its width instead of showing the background where its side should be. In the
    capture view the skirt lies behind the visible head and is hidden by it.

    grid_px (N, 2): working-grid position of each point's outline vertex; positions (N, 3) capture camera
    space (m); source_px (N, 2) full-resolution pixel its colour comes from; triangles (M, 3) into these
    points.
    """

    grid_px: np.ndarray
    positions: np.ndarray
    source_px: np.ndarray
    triangles: np.ndarray


@dataclass(frozen=True)
class PersonDepth:
    """Working-grid maps (all (h, w) float32): depth (m), head weight, edit weight, face mask, person;
    and the head's skirt (the hidden surface just behind its outline)."""

    grid: WorkGrid
    depth_m: np.ndarray
    head_weight: np.ndarray
    edit_weight: np.ndarray
    face_mask: np.ndarray
    person: np.ndarray
    skirt: HeadSkirt | None = None


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at ``e0`` to 1 at ``e1`` (GLSL's smoothstep), elementwise."""
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)
