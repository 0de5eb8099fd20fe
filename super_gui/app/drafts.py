"""How the frames shown while a slider moves (drag frames) are drawn: their meshes and their resolution.

A drag frame is replaced by the settled frame as soon as the slider is let go, so it trades detail the eye
cannot follow in motion for the time between a slider move and its picture:

* its resolution is never more than the photo has on screen (a 1024 px preview shown 740 px high is
  drawn 0.75 as large: :func:`screen_ratio`), and it is lowered further, down to half the preview's
  (3/8 while even that would take twice the budget), while frames take longer than a budget: on a busy or
  slow computer the picture softens during a drag instead of lagging behind the mouse (:class:`DraftPace`);
* its meshes are coarser lattices of the same depth (:func:`draft_meshes`): software GL sets up every
  triangle on one thread and shades small triangles in mostly empty pixel blocks, so on llvmpipe a drag
  frame of the settled mesh (~16k moving triangles) spent as long on its triangles as on its pixels.
"""

from __future__ import annotations

import math

from super_gui.core.mesh import PersonMesh, build_mesh, lattice_step

DRAFT_LATTICE = 2.0  # the drag frame's person mesh: this many times the settled mesh's lattice step
VISIBILITY_LATTICE = 4.0  # its 1/4-resolution visibility pass's mesh
RATIO_STEP = 1.0 / 16.0  # resolutions are multiples of this fraction of the preview's
MIN_RATIO = 0.5  # the pace lowers the resolution no further ...
BUSY_MIN_RATIO = 0.375  # ... unless a frame there would take twice the budget (a busy computer): then to this
SCREEN_MIN_RATIO = 0.25  # a photo shown small is drawn no smaller than this
BUDGET_S = 0.008  # a drag frame's drawing time the pace aims at
PACE_SMOOTHING = 0.3  # weight of the newest frame in the running cost per pixel


def screen_ratio(screen_scale: float, preview: float) -> float:
    """The resolution to draw drag frames at, as a fraction of the preview's: the smallest multiple of
    ``RATIO_STEP`` (at least ``SCREEN_MIN_RATIO``) that still gives every screen pixel its own frame pixel, for
    a photo shown at ``screen_scale`` device pixels per photo pixel with a preview of ``preview`` pixels
    per photo pixel."""
    need = screen_scale / preview
    return min(1.0, max(SCREEN_MIN_RATIO, math.ceil(need / RATIO_STEP - 1e-6) * RATIO_STEP))


class DraftPace:
    """Keeps drag frames within ``BUDGET_S``: it learns the drawing time per output pixel from each frame
    (:meth:`record`) and gives the resolution the next frame can have (:meth:`ratio`)."""

    def __init__(self, budget_s: float = BUDGET_S):
        self.budget_s = budget_s
        self._cost: float | None = None  # seconds per output pixel, smoothed
        self._pixels_at_one: float | None = None  # the last frame's window, in pixels at ratio 1

    def ratio(self, wanted: float) -> float:
        """The resolution for the next frame: ``wanted`` (the screen's), or less while frames are slow."""
        if self._cost is None or self._pixels_at_one is None or not math.isfinite(self.budget_s):
            return wanted
        at_one = self._cost * self._pixels_at_one  # seconds for a frame at ratio 1
        fit = math.sqrt(self.budget_s / at_one)
        floor = MIN_RATIO if at_one * MIN_RATIO ** 2 <= 2 * self.budget_s else BUSY_MIN_RATIO
        return min(wanted, max(floor, math.floor(fit / RATIO_STEP + 1e-6) * RATIO_STEP))

    def record(self, seconds: float, pixels: int, ratio: float) -> None:
        """A frame of ``pixels`` output pixels at ``ratio`` took ``seconds`` to draw."""
        if pixels <= 0:
            return
        cost = seconds / pixels
        self._cost = cost if self._cost is None else (1 - PACE_SMOOTHING) * self._cost + PACE_SMOOTHING * cost
        self._pixels_at_one = pixels / (ratio * ratio)


def draft_meshes(depth, intrinsics) -> tuple[PersonMesh, PersonMesh]:
    """The drag frame's person mesh and its visibility mesh, from the depth the settled mesh was made of.
    (A still coarser person mesh for frames drawn smaller saves little: on Grace Hopper at half the
    preview's resolution, twice the lattice again saved ~15 % of the frame and moved the glasses' edges
    as far as 50 levels.)"""
    step = lattice_step(depth)
    return (build_mesh(depth, intrinsics, fine_px=DRAFT_LATTICE * step),
            build_mesh(depth, intrinsics, fine_px=VISIBILITY_LATTICE * step))
