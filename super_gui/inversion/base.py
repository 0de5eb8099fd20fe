"""The inversion interface (DESIGN.md §2): what every backend returns for one photo.

An inversion turns a photo and its analysis into a 3D person in the capture camera (depth in metres on
a working grid, head and edit weights), the textures the renderer draws (the photo crop with the person
matte, and a generated texture for what the photo cannot supply) and a background plate. Everything
downstream (mesh, render, blend, export, GUI) uses only this. The ``landmark`` backend (default) builds it
from Face Mesh landmarks and a head proxy on any CPU; an ``eg3d`` backend implements the same interface.
Backends are found by name in :mod:`super_gui.inversion.backends`; this module knows none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from super_gui.core.analysis import PhotoAnalysis
from super_gui.core.camera import View
from super_gui.core.depth import PersonDepth
from super_gui.core.image_io import Photo
from super_gui.core.strips import to_uint8_strips

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Inversion:
    """One photo inverted.

    ``texture`` ((H, W, 3) uint8) and ``matte`` ((H, W) uint8) are full-resolution crops of the photo and
    its person matte over the working region ``depth.grid``; ``texture`` is made from ``photo_rgb`` (the
    photo's own pixels, shared) each time it is asked for, not kept: at 100 MP it is ~250 MB, and only a
    mesh export needs it whole (the renderer uploads :attr:`texture_source` a band at a time). On the working grid itself ((h, w, ...)):
    ``twin_px`` (float32, 2 channels) and ``mirror_aux`` (uint8 rgba) say how to complete the face from
    its mirror side (the generated image, drawn by the renderer from the photo); ``plate`` (uint8 rgba) is
    the background with the person filled in (rgb) and where that fill applies (a).
    """

    backend: str
    analysis: PhotoAnalysis
    depth: PersonDepth
    photo_rgb: np.ndarray
    matte: np.ndarray
    twin_px: np.ndarray
    mirror_aux: np.ndarray
    plate: np.ndarray
    timings_s: dict

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

    def generate(self, view: View) -> np.ndarray | None:
        """A generated image of the person in ``view``, or None when the generated texture drawn through
        the mesh serves (the landmark backend). A GAN backend renders its own image here."""
        return None


class InversionBackend(Protocol):
    name: str

    def invert(
        self,
        photo: Photo,
        analysis: PhotoAnalysis,
        progress: Progress,
        is_cancelled: Callable[[], bool],
    ) -> Inversion: ...
