"""The landmark backend's generated texture: the face completed from its mirror side, never along its midline."""

from __future__ import annotations

import cv2
import numpy as np

from super_gui.core.camera import View
from super_gui.core.image_io import load_photo
from super_gui.core.pipeline import PortraitRenderer, prepare

MIDLINE = (1, 2, 13, 98, 164, 327)  # nose tip, below it, upper lip, nostrils, philtrum


def test_a_turned_face_is_never_mirrored_along_its_midline(tmp_path, astronaut_rgb):
    from tests.conftest import save

    # A face already turned away (made by turning the astronaut with the editor itself): its far cheek is
    # completed from the near one, but the nose and lips are not, or a misplaced twin doubles a nostril.
    big = cv2.resize(astronaut_rgb, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    first = prepare(load_photo(save(big, tmp_path / "front.png")))
    renderer = PortraitRenderer(first)
    try:
        turned = renderer.render(View(yaw_deg=-25), full=True).image
    finally:
        renderer.release()
    prepared = prepare(load_photo(save(turned, tmp_path / "turned.png")))
    grid = prepared.inversion.depth.grid
    lm = prepared.analysis.faces.face.landmarks
    weight = prepared.inversion.mirror_aux[..., 3]
    assert weight.max() > 200  # the far cheek is completed
    for k in MIDLINE:
        x, y = grid.from_full_res(lm[k, 0], lm[k, 1])
        assert weight[int(round(y)), int(round(x))] == 0, k
