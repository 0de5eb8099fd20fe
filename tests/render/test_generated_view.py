"""A backend's own image of a view (Inversion.generate -> GeneratedView): settled frames lay it over the
generated texture where the photo saw the surface badly (a revealed or foreshortened cheek) and not where
it saw it well (the eye turned toward the camera); drag frames ignore it; it lands where its rectangle
says in the output image at any scale; and with none (the landmark backend) nothing changes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import cv2
import numpy as np
import pytest

from super_gui.app.pipeline import PortraitRenderer, prepare
from super_gui.core.camera import View
from super_gui.core.generated import GeneratedTexture, GeneratedView
from super_gui.core.image_io import load_photo
from super_gui.inversion.base import Inversion

GREEN = (0, 255, 0)


@dataclass(frozen=True)
class SolidView(Inversion):
    """A landmark inversion whose generator paints ``colour`` over the output image (or ``rect`` of it)."""

    colour: tuple = GREEN
    rect: tuple | None = None
    alpha: int = 255
    calls: list = field(default_factory=list)

    def generate(self, view: View) -> GeneratedView:
        self.calls.append(view)
        h, w = self.photo_rgb.shape[:2]
        rgba = np.empty((48, 40, 4), np.uint8)
        rgba[..., :3], rgba[..., 3] = self.colour, self.alpha
        return GeneratedView(rgba, self.rect or (0.0, 0.0, float(w), float(h)))


def solid(prepared, **kw):
    inv = prepared.inversion
    fake = SolidView(**{f.name: getattr(inv, f.name) for f in dataclasses.fields(Inversion)}, **kw)
    return dataclasses.replace(prepared, inversion=fake)


def green(img: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels that are clearly the generator's green."""
    g = img.astype(int)
    return g[..., 1] - np.maximum(g[..., 0], g[..., 2]) > 150


def landmark_in_view(prepared, renderer, k: int, view: View) -> tuple[int, int]:
    """Where face landmark ``k`` lands in ``view`` (full-resolution pixels): its nearest mesh vertex moved."""
    mesh = prepared.mesh
    src = mesh.source_px
    j = int(np.argmin(np.linalg.norm(src - prepared.analysis.faces.face.landmarks[k, :2], axis=1)))
    q = renderer.camera(view).project(mesh.positions[j : j + 1].astype(np.float64), mesh.head_weight[j : j + 1].astype(np.float64))[0]
    x, y = src[j] + (q - src[j]) * mesh.edit_weight[j]
    return int(round(x)), int(round(y))


@pytest.fixture(scope="module")
def grace(tmp_path_factory, grace_rgb):
    from tests.conftest import save

    prepared = prepare(load_photo(save(grace_rgb, tmp_path_factory.mktemp("gv") / "grace.jpg", quality=95)))
    fake = solid(prepared)
    plain, painted = PortraitRenderer(prepared), PortraitRenderer(fake)
    yield prepared, fake, plain, painted
    painted.release()
    plain.release()


# (yaw, the eye that turns toward the camera, a cheek the turn brings round from the side)
TURNS = [(25, 468, 93), (-25, 473, 323)]


@pytest.mark.parametrize("yaw,eye,cheek", TURNS)
def test_the_generated_view_shows_where_the_photo_saw_badly_not_where_it_saw_well(grace, yaw, eye, cheek):
    prepared, fake, plain, painted = grace
    view = View(yaw_deg=yaw)
    before, after = plain.render(view).image, painted.render(view).image
    diff = np.abs(before.astype(int) - after).max(axis=2)
    r = int(0.12 * prepared.analysis.faces.face.eye_distance_px)

    def patch(k):
        x, y = landmark_in_view(prepared, plain, k, view)
        return slice(y - r, y + r), slice(x - r, x + r)

    assert green(after[patch(cheek)]).mean() > 0.5  # the side the turn reveals: the generator's colour
    assert diff[patch(eye)].mean() < 1.0  # the eye seen head-on: the photo's own pixels
    x, y, w, h = plain._view_window(plain.camera(view), plain.preview_scale)
    ox, oy = plain.scene.origin(plain.preview_scale)
    outside = np.ones(diff.shape, bool)
    outside[oy + y : oy + y + h, ox + x : ox + x + w] = False
    assert diff[outside].max() == 0  # nothing outside the edited window changes
    moved = np.any(before != plain.base_image(plain.preview_scale), axis=2)
    assert 0.01 < green(after).mean() < 0.5 * moved.mean()


def test_drag_frames_ignore_the_generated_view_and_do_not_ask_for_it(grace):
    prepared, fake, plain, painted = grace
    from super_gui.app.drafts import DraftPace

    view = View(yaw_deg=20, pitch_deg=-8)
    fake.inversion.calls.clear()
    for r in (plain, painted):  # each draws at the resolution asked for (not what its own pace learned)
        r.pace = DraftPace(budget_s=float("inf"))
    assert np.array_equal(painted.render(view, draft=True).image, plain.render(view, draft=True).image)
    assert fake.inversion.calls == []


def test_a_view_is_generated_once_for_its_preview_and_its_export(grace):
    prepared, fake, plain, painted = grace
    calls = fake.inversion.calls
    calls.clear()
    view = View(yaw_deg=-15, focal_35mm=85.0)
    preview = painted.render(view).image
    full = painted.render(view, full=True).image
    assert calls == [view] and green(preview).any() and green(full).any()
    painted.render(View(yaw_deg=10))
    painted.render(View(), full=True)  # the photo itself: nothing to generate
    assert calls == [view, View(yaw_deg=10)]


def test_a_transparent_or_distant_generated_view_changes_nothing_to_the_byte(grace):
    prepared, fake, plain, painted = grace
    view = View(yaw_deg=-20, pitch_deg=10)
    camera = plain.camera(view)
    scale = plain.preview_scale
    window = plain._view_window(camera, scale)
    face_px = prepared.analysis.faces.face.eye_distance_px * scale
    scene = plain.scene
    none, _ = scene.render(camera, scale, face_px, window)
    rgba = np.full((32, 32, 4), 255, np.uint8)
    for gv in (GeneratedView(np.dstack([rgba[..., :3], np.zeros((32, 32), np.uint8)]), (0.0, 0.0, 512.0, 600.0)),
               GeneratedView(rgba, (600.0, 0.0, 100.0, 100.0))):  # alpha 0; outside the image
        out, _ = scene.render(camera, scale, face_px, window, generated=gv)
        assert np.array_equal(out, none)
    assert np.array_equal(scene.render(camera, scale, face_px, window)[0], none)  # and the next without one


def test_the_landmark_backend_generates_nothing_and_the_scene_gets_none(grace, monkeypatch):
    prepared, fake, plain, painted = grace
    assert type(prepared.inversion) is Inversion and prepared.inversion.generate(View(yaw_deg=20)) is None
    given = []
    real = plain.scene.render

    def spy(*args, **kw):
        given.append(kw.get("generated", "missing"))
        return real(*args, **kw)

    monkeypatch.setattr(plain.scene, "render", spy)
    plain.render(View(yaw_deg=12))
    plain.render(View(yaw_deg=12), full=True)
    assert given == [None, None]


def test_no_generated_texture_draws_the_photo_itself():
    from super_gui.core.depth import WorkGrid

    grid = WorkGrid(10, 20, 110, 70, 0.4)
    none = GeneratedTexture.none(grid)
    x, y = grid.full_res_coords()
    assert none.shape == grid.shape and (none.gain_weight[..., 3] == 0).all()
    assert np.allclose(none.source_px[..., 0], x) and np.allclose(none.source_px[..., 1], y)
    with pytest.raises(ValueError):
        GeneratedView(np.zeros((4, 4, 3), np.uint8), (0, 0, 1, 1))
    with pytest.raises(ValueError):
        GeneratedView(np.zeros((4, 4, 4), np.uint8), (0, 0, 0, 1))


@pytest.fixture(scope="module")
def grace_2x(tmp_path_factory, grace_rgb):
    from tests.conftest import save

    big = cv2.resize(grace_rgb, (grace_rgb.shape[1] * 2, grace_rgb.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
    return prepare(load_photo(save(big, tmp_path_factory.mktemp("gv2") / "grace2x.jpg", quality=95)))


def test_the_generated_view_lands_on_its_rectangle_at_every_scale(grace_2x):
    """Its rectangle is in full-resolution output pixels: a view covering the left part of the image up to
    a column stops there in a preview (scale < 1) and at full resolution alike."""
    prepared = grace_2x
    iod = prepared.analysis.faces.face.eye_distance_px
    split = float(prepared.analysis.faces.face.landmarks[1, 0])  # the nose tip's column
    renderer = PortraitRenderer(solid(prepared, rect=(-50.0, -50.0, split + 50.0, prepared.photo.height + 100.0)))
    try:
        assert renderer.preview_scale < 1.0
        for view, full in ((View(yaw_deg=25), False), (View(yaw_deg=25), True), (View(yaw_deg=-25), False)):
            img = renderer.render(view, full=full).image
            scale = 1.0 if full else renderer.preview_scale
            cols = np.nonzero(green(img).any(axis=0))[0] / scale  # full-resolution columns
            assert cols.size and abs(cols.max() - split) < 0.025 * iod, (view, full, cols.max(), split)
    finally:
        renderer.release()
