"""The 3D view scene: draws the mesh in every mode and both camera frusta, without GL errors."""

from __future__ import annotations

import numpy as np
import pytest

from super_gui.core.camera import View
from super_gui.render.mesh_view import MODES, MeshViewScene, Orbit


@pytest.fixture(scope="module")
def scene(tmp_path_factory, grace_rgb):
    from super_gui.core.image_io import load_photo
    from super_gui.app.pipeline import PortraitRenderer, prepare
    from tests.conftest import save

    prepared = prepare(load_photo(save(grace_rgb, tmp_path_factory.mktemp("g") / "grace.jpg", quality=95)))
    renderer = PortraitRenderer(prepared)
    inv, a = prepared.inversion, prepared.analysis
    s = MeshViewScene(renderer.ctx, prepared.mesh, inv.texture, inv.origin, a.intrinsics, a.eye_midpoint)
    yield s, renderer
    s.release()
    renderer.release()


def _amber(img: np.ndarray) -> int:
    return int(((img[..., 0] > 200) & (img[..., 1] > 120) & (img[..., 1] < 200) & (img[..., 2] < 60)).sum())


def test_every_mode_draws_the_mesh(scene):
    s, renderer = scene
    images = [s.render((320, 240), Orbit(), mode, renderer.camera(View())) for mode in MODES]
    assert renderer.ctx.error == "GL_NO_ERROR"
    background = np.array([33, 33, 36])
    for img in images:
        assert img.shape == (240, 320, 3) and img.dtype == np.uint8
        assert (np.abs(img.astype(int) - background).sum(axis=2) > 30).mean() > 0.05  # the person is drawn
    assert all(np.abs(a.astype(int) - b).mean() > 2 for a, b in zip(images, images[1:]))  # modes look different


def test_a_longer_lens_puts_the_virtual_camera_behind_the_capture_camera(scene):
    s, renderer = scene
    side = Orbit(yaw_deg=-80.0, pitch_deg=5.0, distance_scale=2.5)
    near = s.render((400, 300), side, "shaded", renderer.camera(View()))
    far = s.render((400, 300), side, "shaded", renderer.camera(View(focal_35mm=85.0)))
    assert _amber(far) > _amber(near)  # the amber frustum now reaches back to its own apex
    turned = s.render((400, 300), Orbit(), "shaded", renderer.camera(View(yaw_deg=20.0)))
    assert np.abs(turned.astype(int) - s.render((400, 300), Orbit(), "shaded", renderer.camera(View()))).mean() > 1
    assert renderer.ctx.error == "GL_NO_ERROR"
