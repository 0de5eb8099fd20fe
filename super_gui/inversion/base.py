"""The inversion interface (DESIGN.md §2): what every backend returns for one photo.

An inversion turns a photo and its analysis into a 3D person in the capture camera (depth in metres on
a working grid, head and edit weights), the textures the renderer draws (the photo crop with the person
matte, and a generated texture for what the photo cannot supply, :class:`~super_gui.core.generated.GeneratedTexture`),
a background plate, and, where the backend has a generator of its own, a generated image per view
(:meth:`Inversion.generate`, a :class:`~super_gui.core.generated.GeneratedView`). Everything downstream
(mesh, render, blend, export, GUI) uses only this. The ``landmark`` backend (default) builds it
from Face Mesh landmarks and a head proxy on any CPU; an ``eg3d`` backend implements the same interface.
Backends are found by name in :mod:`super_gui.inversion.backends`; this module knows none of them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Protocol

import cv2
import numpy as np

from super_gui.core.analysis import PhotoAnalysis
from super_gui.core.camera import View
from super_gui.core.depth import PersonDepth, WorkGrid
from super_gui.core.generated import GeneratedTexture, GeneratedView
from super_gui.core.image_io import Photo
from super_gui.core.strips import to_uint8_strips

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Inversion:
    """One photo inverted.

    ``texture`` ((H, W, 3) uint8) and ``matte`` ((H, W) uint8) are full-resolution crops of the photo and
    its person matte over the working region ``depth.grid``; ``texture`` is made from ``photo_rgb`` (the
    photo's own pixels, shared) each time it is asked for, not kept: at 100 MP it is ~250 MB, and only a
    mesh export needs it whole (the renderer uploads :attr:`texture_source` a band at a time). ``matte`` is
    made from the analysis's person mask when first asked for, then kept; the renderer never asks for it
    whole: a full-resolution upload takes :meth:`matte_rows` a band at a time, a preview :meth:`matte_at`
    its own size (~0.1 s less of the fit and of the first preview at 12 MP). On the working grid itself ((h, w, ...)):
    ``generated`` is the generated texture, baked once (what to show where the photo saw the surface
    badly, as a resampling of the photo; :meth:`GeneratedTexture.none` where the backend has none);
    ``plate`` (uint8 rgba) is the background with the person filled in (rgb) and where that fill applies (a).
    A backend with a generator of its own also overrides :meth:`generate`.
    """

    backend: str
    analysis: PhotoAnalysis
    depth: PersonDepth
    photo_rgb: np.ndarray
    generated: GeneratedTexture
    plate: np.ndarray
    timings_s: dict

    @functools.cached_property
    def matte(self) -> np.ndarray:
        """(H, W) uint8: the person matte at full resolution over ``depth.grid`` (made once, when first asked for)."""
        g = self.depth.grid
        return self.matte_rows(0, g.y1 - g.y0)

    def matte_rows(self, y0: int, y1: int) -> np.ndarray:
        """Rows ``y0:y1`` of :attr:`matte`, made alone (a full-resolution upload takes the matte a band of rows
        at a time, and can stop between bands; it never needs the whole)."""
        h, w = self.photo_rgb.shape[:2]
        return full_res_matte(self.analysis.faces.person_mask, self.depth.grid, w, h, rows=(y0, y1))

    def matte_at(self, width: int, height: int, box: tuple[int, int, int, int]) -> np.ndarray:
        """(y1 - y0, x1 - x0) uint8: the person matte of the photo shown ``width`` x ``height`` pixels, over
        ``box`` (x0, y0, x1, y1) of those pixels (area-averaged from the analysis's mask where smaller than
        it, bilinear where larger: what the full-resolution matte area-averaged to that size gives, to a level
        or two at the person's edge)."""
        mask = self.analysis.faces.person_mask
        smaller = width * height < mask.shape[0] * mask.shape[1]
        whole = cv2.resize(mask, (width, height), interpolation=cv2.INTER_AREA if smaller else cv2.INTER_LINEAR)
        x0, y0, x1, y1 = box
        return cv2.convertScaleAbs(np.ascontiguousarray(whole[y0:y1, x0:x1]), alpha=255.0)

    @property
    def texture_source(self) -> np.ndarray:
        """The photo's pixels over ``depth.grid`` in the photo's own dtype (a view, no copy)."""
        g = self.depth.grid
        return self.photo_rgb[g.y0 : g.y1, g.x0 : g.x1]

    @property
    def texture(self) -> np.ndarray:
        """(H, W, 3) uint8 crop of the photo over ``depth.grid``, a new array each time."""
        return np.ascontiguousarray(to_uint8_strips(self.texture_source))

    @property
    def origin(self) -> tuple[int, int]:
        return self.depth.grid.x0, self.depth.grid.y0

    def generate(self, view: View) -> GeneratedView | None:
        """The backend's own generated image of the person in ``view`` (output-image pixels; the renderer
        lays it over :attr:`generated` by its alpha, in settled frames only), or None when the generated
        texture drawn through the mesh serves alone (the landmark backend). A GAN backend renders its
        image at the view's camera here; it may be slow (it is asked once per settled view, not per drag
        frame) and is called on the renderer's thread."""
        return None


def full_res_matte(mask: np.ndarray, grid: WorkGrid, width: int, height: int, rows: tuple[int, int] | None = None) -> np.ndarray:
    """(y1 - y0, x1 - x0) uint8: the person matte (``mask``, at the analysis scale of a ``width`` x ``height``
    photo) at full resolution over the working region (bilinear); ``rows``: only those rows (r0, r1) of it."""
    r0, r1 = rows if rows is not None else (0, grid.y1 - grid.y0)
    r1 = min(r1, grid.y1 - grid.y0)
    fx, fy = mask.shape[1] / width, mask.shape[0] / height
    to_mask = np.array([[fx, 0.0, (grid.x0 + 0.5) * fx - 0.5], [0.0, fy, (grid.y0 + r0 + 0.5) * fy - 0.5]])
    matte = cv2.warpAffine(
        mask, to_mask, (grid.x1 - grid.x0, max(0, r1 - r0)), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )
    if float(mask.min()) < 0.0:  # (never: a matte is in [0, 1]; bilinear values stay within the mask's range)
        np.maximum(matte, 0.0, out=matte)
    # x 255, rounded half to even and saturated, in one pass (what np.rint and np.clip give, without three
    # passes over a float32 crop of ~40 MB at 12 MP)
    return cv2.convertScaleAbs(matte, alpha=255.0)


class InversionBackend(Protocol):
    name: str

    def invert(
        self,
        photo: Photo,
        analysis: PhotoAnalysis,
        progress: Progress,
        is_cancelled: Callable[[], bool],
    ) -> Inversion: ...
