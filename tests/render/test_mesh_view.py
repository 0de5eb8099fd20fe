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


def test_mesh_edges_lists_each_edge_once():
    from super_gui.render.mesh_view import mesh_edges

    edges = mesh_edges(np.array([[0, 1, 2], [2, 1, 3]]))  # two triangles sharing the edge 1-2
    assert edges.dtype == np.int32 and edges.shape == (5, 2)
    assert {tuple(e) for e in edges.tolist()} == {(0, 1), (1, 2), (0, 2), (1, 3), (2, 3)}


def test_the_wireframe_draws_the_edges_of_every_triangle(scene):
    """Each edge drawn once as a line covers what the context's polygon mode (every triangle's outline) covers,
    but for a few line ends: a line leaves out its last pixel, which the other direction would draw."""
    s, renderer = scene
    ctx, camera, background = renderer.ctx, renderer.camera(View(yaw_deg=15.0, focal_35mm=85.0)), np.array([33, 33, 36])
    wire = s.render((480, 360), Orbit(), "wireframe", camera)
    ctx.wireframe = True
    try:
        outlines = s.render((480, 360), Orbit(), "shaded", camera)  # every triangle's outline, in clay colours
    finally:
        ctx.wireframe = False
    drawn, outlined = (np.abs(wire.astype(int) - background).sum(axis=2) > 0,
                       np.abs(outlines.astype(int) - background).sum(axis=2) > 0)
    assert outlined.sum() > 5000
    assert (drawn != outlined).sum() <= 0.002 * outlined.sum()
    frusta = (np.abs(wire.astype(int) - outlines).sum(axis=2) == 0) & drawn  # the cameras' lines: both alike
    lines = drawn & ~frusta
    assert (wire[lines] == [140, 199, 255]).all(axis=1).mean() > 0.99  # the mesh's lines in the wireframe's colour
    assert ctx.error == "GL_NO_ERROR"


def test_frames_can_come_as_rgbx(scene):
    s, renderer = scene
    for mode in MODES:
        for camera in (renderer.camera(View(yaw_deg=-10.0)), None):
            rgb = s.render((300, 200), Orbit(yaw_deg=-30.0), mode, camera)
            rgbx = s.render((300, 200), Orbit(yaw_deg=-30.0), mode, camera, channels=4)
            assert rgbx.shape == (200, 300, 4) and (rgbx[..., 3] == 255).all()
            assert np.array_equal(rgbx[..., :3], rgb)
    with pytest.raises(ValueError):
        s.render((300, 200), Orbit(), "shaded", None, channels=2)
