"""The landmark backend's generated texture: the face completed from its mirror side, never along its midline."""

from __future__ import annotations

import cv2
import numpy as np

from super_gui.core.camera import View
from super_gui.core.image_io import load_photo
from super_gui.app.pipeline import PortraitRenderer, prepare

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
    weight = prepared.inversion.generated.gain_weight[..., 3]
    assert weight.max() > 200  # the far cheek is completed
    for k in MIDLINE:
        x, y = grid.from_full_res(lm[k, 0], lm[k, 1])
        assert weight[int(round(y)), int(round(x))] == 0, k


def test_another_persons_head_never_moves_with_the_edited_one(tmp_path, grace_rgb):
    from tests.conftest import save

    # A second, smaller person just above and behind the edited head (a group selfie's back row): the
    # edit's reach covers them, but their head must stay exactly as photographed in every view.
    h, w = grace_rgb.shape[:2]
    big = cv2.resize(grace_rgb, (2 * w, 2 * h), interpolation=cv2.INTER_CUBIC)
    small = cv2.resize(grace_rgb, (int(w * 0.55), int(h * 0.55)), interpolation=cv2.INTER_AREA)
    pad = int(small.shape[0] * 0.75)
    img = np.full((big.shape[0] + pad, big.shape[1], 3), 150, np.uint8)
    img[pad:] = big
    x0 = (img.shape[1] - small.shape[1]) // 2
    img[: small.shape[0], x0 : x0 + small.shape[1]] = small
    prepared = prepare(load_photo(save(img, tmp_path / "two.png")))
    faces = prepared.analysis.faces
    assert len(faces.faces) == 2 and faces.face.eye_distance_px > 100  # the big face is the edited one
    other = next(f for i, f in enumerate(faces.faces) if i != faces.chosen)
    bx0, by0, bx1, by1 = other.bbox
    cx, cy, r = (bx0 + bx1) / 2, (by0 + by1) / 2, 0.75 * max(bx1 - bx0, by1 - by0)
    head = (slice(int(max(0, cy - r)), int(cy + r)), slice(int(cx - r), int(cx + r)))
    renderer = PortraitRenderer(prepared)
    try:
        for view in (View(yaw_deg=25), View(yaw_deg=-25), View(pitch_deg=15), View(focal_35mm=85.0)):
            out = renderer.render(view, full=True).image
            assert np.abs(out[head].astype(int) - img[head].astype(int)).max() <= 8, view
    finally:
        renderer.release()
