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

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from super_gui.core.analysis import PhotoAnalysis
from super_gui.core.camera import View
from super_gui.core.depth import PersonDepth
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
    mesh export needs it whole (the renderer uploads :attr:`texture_source` a band at a time). On the working grid itself ((h, w, ...)):
    ``generated`` is the generated texture, baked once (what to show where the photo saw the surface
    badly, as a resampling of the photo; :meth:`GeneratedTexture.none` where the backend has none);
    ``plate`` (uint8 rgba) is the background with the person filled in (rgb) and where that fill applies (a).
    A backend with a generator of its own also overrides :meth:`generate`.
    """

    backend: str
    analysis: PhotoAnalysis
    depth: PersonDepth
    photo_rgb: np.ndarray
    matte: np.ndarray
    generated: GeneratedTexture
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

    def generate(self, view: View) -> GeneratedView | None:
        """The backend's own generated image of the person in ``view`` (output-image pixels; the renderer
        lays it over :attr:`generated` by its alpha, in settled frames only), or None when the generated
        texture drawn through the mesh serves alone (the landmark backend). A GAN backend renders its
        image at the view's camera here; it may be slow (it is asked once per settled view, not per drag
        frame) and is called on the renderer's thread."""
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
