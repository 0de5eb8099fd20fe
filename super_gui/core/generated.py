"""What a backend generates for the pixels the photo cannot supply, backend-neutral (DESIGN.md §2, §4).

Two kinds, either or both of which an inversion hands to the renderer:

* :class:`GeneratedTexture`: baked once per photo on the working grid, as a resampling of the photo
  itself (each working texel's generated colour is read from another pixel of the photo, with a colour
  gain), drawn through the mesh like the photo, so it costs nothing per view;
* :class:`GeneratedView`: an image a backend's own generator makes for one view, in the output image's
  pixels; the renderer lays it over the baked texture where it says it can be trusted.

The blend then puts the warped photo over the generated image wherever the photo saw the surface well.
Pure numpy; no Qt, no GL, no backend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from super_gui.core.depth import WorkGrid

UNIT_GAIN = 128  # gain_weight's rgb for a gain of ~1 (the exact x1 is 127.5)


@dataclass(frozen=True)
class GeneratedTexture:
    """A generated texture over the working grid (h, w), expressed as a resampling of the photo.

    ``source_px`` ((h, w, 2) float32): the full-resolution photo pixel (x, y; pixel centres at integers)
    each working texel's generated colour is read from. ``gain_weight`` ((h, w, 4) uint8): rgb = the colour
    gain / 2 applied to that colour (127.5 is x1; up to x2), a = the weight of the generated colour over
    the photo's own there. Per texel at x::

        generated(x) = mix(photo(x), clamp(photo(source_px(x)) * gain * 2, 0, 1), weight)

    ``source_px`` should be smooth even where the weight is 0, as the renderer reads it bilinearly.
    """

    source_px: np.ndarray
    gain_weight: np.ndarray

    def __post_init__(self) -> None:
        s, g = self.source_px, self.gain_weight
        if s.ndim != 3 or s.shape[2] != 2 or s.dtype != np.float32:
            raise ValueError(f"source_px must be (h, w, 2) float32, not {s.shape} {s.dtype}")
        if g.shape != s.shape[:2] + (4,) or g.dtype != np.uint8:
            raise ValueError(f"gain_weight must be {s.shape[:2] + (4,)} uint8, not {g.shape} {g.dtype}")

    @property
    def shape(self) -> tuple[int, int]:
        """(h, w) of the working grid it covers."""
        return self.source_px.shape[:2]

    @classmethod
    def none(cls, grid: WorkGrid) -> GeneratedTexture:
        """No generated texture on ``grid``: every texel reads its own pixel, with weight 0 (the
        generated image is the photo)."""
        h, w = grid.shape
        x, y = grid.full_res_coords()
        gain_weight = np.zeros((h, w, 4), np.uint8)
        gain_weight[..., :3] = UNIT_GAIN
        return cls(np.dstack([x, y]).astype(np.float32), gain_weight)


@dataclass(frozen=True)
class GeneratedView:
    """An image a backend generated for one view.

    ``rgba`` ((h, w, 4) uint8, rows top-down, straight alpha): the generated colour, and in alpha how much
    it should be trusted there (0: no data). ``rect`` = (x0, y0, w, h): the rectangle of the full-resolution
    OUTPUT image it covers in the new view, in pixel-edge coordinates (pixel (i, j) spans x in [j, j + 1]):
    rgba's top-left corner sits at (x0, y0), its bottom-right at (x0 + w, y0 + h). Outside it there is no
    data. A few hundred pixels a side are plenty: it is read bilinearly at whatever resolution is drawn.
    """

    rgba: np.ndarray
    rect: tuple[float, float, float, float]

    def __post_init__(self) -> None:
        a = self.rgba
        if a.ndim != 3 or a.shape[2] != 4 or a.dtype != np.uint8 or a.shape[0] < 1 or a.shape[1] < 1:
            raise ValueError(f"rgba must be (h, w, 4) uint8, not {a.shape} {a.dtype}")
        rect = tuple(float(v) for v in self.rect)
        if len(rect) != 4 or not all(np.isfinite(rect)) or rect[2] <= 0 or rect[3] <= 0:
            raise ValueError(f"rect must be (x0, y0, w, h) with w, h > 0, not {self.rect}")
        object.__setattr__(self, "rect", rect)
