"""Full-resolution renders inside ``tiles.cancellable`` (the editor's close-ups) are drawn in pieces: the
same bytes as the window drawn whole, asking ``should_stop`` before every piece and stopping with
Cancelled when it says so; outside it (exports, the CLI) nothing asks and nothing changes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import super_gui.render.tiles as tiles
from super_gui.app.group import FaceRenderers
from super_gui.app.pipeline import prepare
from super_gui.core.camera import View
from super_gui.core.generated import GeneratedView
from super_gui.core.image_io import load_photo
from super_gui.errors import Cancelled

VIEWS = [View(yaw_deg=10, pitch_deg=5, focal_35mm=50), View(yaw_deg=-25, pitch_deg=-10, focal_35mm=30)]


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    from bench.perf import _selfie

    path = tmp_path_factory.mktemp("pieces") / "mid.jpg"
    Image.fromarray(_selfie(1344, 1792)).save(path, quality=92)
    f = FaceRenderers()
    f.prepared = prepare(load_photo(path))
    yield f
    f.release()


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch):
    monkeypatch.setattr(tiles, "PIECE_PX", 160)
    monkeypatch.setattr(tiles, "BAND_PIXELS", 200_000)


def full(faces, view) -> np.ndarray:
    return faces.render([(faces.prepared, view)], full=True).image


@pytest.mark.parametrize("view", VIEWS)
def test_a_close_up_drawn_in_pieces_is_the_window_drawn_whole(faces, view):
    whole = full(faces, view)
    asked = []
    with tiles.cancellable(lambda: asked.append(1) or False):
        pieces = full(faces, view)
    assert len(asked) >= 3 + 3 + 4 * 4  # layers, mipmaps and at least 4 x 4 squares of pass 2
    assert not np.array_equal(whole, faces.prepared.photo.rgb)  # the view does change the photo
    assert np.array_equal(pieces, whole)


def test_a_backends_generated_view_is_placed_as_drawn_whole(faces, monkeypatch):
    """A backend's own image of the view (green over the left half of the photo) goes through both paths."""
    photo = faces.prepared.photo
    rgba = np.zeros((64, 32, 4), np.uint8)
    rgba[...] = (0, 255, 0, 255)
    generated = GeneratedView(rgba, (0.0, 0.0, photo.width / 2, float(photo.height)))
    monkeypatch.setattr(type(faces.prepared.inversion), "generate", lambda self, view: generated)
    plain = full(faces, VIEWS[1])
    faces.renderer(faces.prepared)._generated = None
    whole = full(faces, VIEWS[1])
    with tiles.cancellable(lambda: False):
        pieces = full(faces, VIEWS[1])
    assert (np.abs(whole.astype(int) - plain).max(axis=2) > 100).mean() > 0.01  # the green shows
    assert np.array_equal(pieces, whole)


def test_a_close_up_stops_between_pieces_and_the_next_one_is_whole(faces):
    view = VIEWS[0]
    whole = full(faces, view)
    asked = []
    with tiles.cancellable(lambda: asked.append(1) or len(asked) >= 12), pytest.raises(Cancelled):
        full(faces, view)
    assert len(asked) == 12  # stopped at once
    scene = faces.renderer(faces.prepared).scene
    assert scene.has_scale(1.0)  # left uploaded: a close-up asked again soon uses it
    with tiles.cancellable(lambda: False):
        assert np.array_equal(full(faces, view), whole)
    assert scene.has_scale(1.0)  # a finished one keeps them too (freeing them, ~0.25 s, would keep a move waiting)
    with tiles.cancellable(lambda: True), pytest.raises(Cancelled):
        full(faces, view)
    faces.release_full_resolution()  # the render thread's, once idle
    assert not scene.has_scale(1.0) and scene.has_scale(faces.renderer(faces.prepared).preview_scale)
    assert np.array_equal(full(faces, view), whole)
    assert not scene.has_scale(1.0)  # outside a close-up (an export): freed as soon as it is done, as before
    with tiles.cancellable(lambda: True), pytest.raises(Cancelled):  # stopped during the photo's upload itself
        full(faces, view)
    assert not scene.has_scale(1.0)


def test_outside_cancellable_nothing_is_asked_and_windows_are_drawn_as_before(faces):
    assert not tiles.is_tiled(1.0, (0, 0, 3024, 4032))  # a 12 MP frame, drawn whole
    assert tiles.is_tiled(1.0, (0, 0, 6300, 7100))  # a 100 MP photo's head window: coarse tiles
    tiles.check_cancelled()  # nothing installed: never raises
    with tiles.cancellable(lambda: True):
        assert tiles.is_tiled(1.0, (0, 0, 3024, 4032)) and not tiles.is_tiled(0.5, (0, 0, 3024, 4032))
        with pytest.raises(Cancelled):
            tiles.check_cancelled()
    tiles.check_cancelled()
