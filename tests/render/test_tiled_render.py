"""Big full-resolution windows are drawn in tiles (render/tiles.py): the result must match the window drawn
whole, with no seams at the tile borders, and windows up to the threshold (a 12 MP photo's, every preview)
are still drawn whole. The threshold and the tile size are lowered here so that a ~2.4 MP photo's window
is cut into a few 384 px tiles."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import super_gui.render.tiles as tiles_mod
from super_gui.core.camera import View
from super_gui.core.generated import GeneratedView
from super_gui.core.image_io import load_photo
from super_gui.app.pipeline import PortraitRenderer, prepare

TILE = 384
VIEWS = [View(yaw_deg=10, pitch_deg=5, focal_35mm=50), View(yaw_deg=-25, pitch_deg=-10, focal_35mm=30)]


@pytest.fixture(scope="module")
def renderer(tmp_path_factory):
    from bench.perf import _selfie

    path = tmp_path_factory.mktemp("tiles") / "mid.jpg"
    Image.fromarray(_selfie(1344, 1792)).save(path, quality=92)
    r = PortraitRenderer(prepare(load_photo(path)))
    yield r
    r.release()


def _window(renderer, view, *, multiple: int = 1):
    camera = renderer.camera(view)
    renderer._ensure_scale(1.0)
    x, y, w, h = renderer._view_window(camera, 1.0)
    return camera, (x, y, w // multiple * multiple, h // multiple * multiple)


def _both(renderer, monkeypatch, camera, window, generated=None):
    face_px = renderer.prepared.analysis.faces.face.eye_distance_px
    scene = renderer.scene
    assert not scene.tiled(1.0, window)
    whole, _ = scene.render(camera, 1.0, face_px, window, generated=generated)
    monkeypatch.setattr(tiles_mod, "TILED_ABOVE_PX", 0)
    monkeypatch.setattr(tiles_mod, "TILE_PX", TILE)
    assert scene.tiled(1.0, window) and window[2] > 2 * TILE and window[3] > 2 * TILE  # 3 x 3 tiles or more
    tiled, _ = scene.render(camera, 1.0, face_px, window, generated=generated)
    monkeypatch.undo()
    return whole, tiled


def _seams(diff: np.ndarray) -> tuple[float, float, float, float]:
    """Mean difference of the columns (rows) at tile borders, and the most of any other column (row)."""
    out = []
    for profile in (diff.mean(axis=0), diff.mean(axis=1)):
        at = np.zeros(profile.size, bool)
        for b in range(TILE, profile.size, TILE):
            at[b - 2 : b + 2] = True
        out += [float(profile[at].max()), float(profile[~at].max())]
    return tuple(out)


@pytest.mark.parametrize("view", VIEWS)
def test_tiles_of_a_window_of_whole_coarse_texels_are_the_window_drawn_whole(renderer, monkeypatch, view):
    """Tile origins and sizes are multiples of 8 px, so a tile's mip levels 0-2 and the coarse pyramid are
    the same box filters as the whole window's: only a few pixels on triangle edges may differ."""
    camera, window = _window(renderer, view, multiple=8)
    whole, tiled = _both(renderer, monkeypatch, camera, window)
    assert whole[..., 3].max() > 0  # the view does move the head
    diff = np.abs(whole.astype(int) - tiled).max(axis=2)
    assert diff.mean() < 0.01
    assert (diff > 2).mean() < 1e-4
    col_at, col_else, row_at, row_else = _seams(diff)
    assert col_at <= max(col_else, 0.01) and row_at <= max(row_else, 0.01)


def test_tiles_place_a_backends_generated_view_as_the_window_drawn_whole(renderer, monkeypatch):
    """A backend's own image of the view (here green over the left half of the photo) is read at each
    tile's own output pixels: the tiles give the window drawn whole."""
    view = VIEWS[1]
    camera, window = _window(renderer, view, multiple=8)
    rgba = np.zeros((64, 32, 4), np.uint8)
    rgba[...] = (0, 255, 0, 255)
    photo = renderer.prepared.photo
    generated = GeneratedView(rgba, (0.0, 0.0, photo.width / 2, float(photo.height)))
    whole, tiled = _both(renderer, monkeypatch, camera, window, generated)
    plain, _ = renderer.scene.render(camera, 1.0, renderer.prepared.analysis.faces.face.eye_distance_px, window)
    assert (np.abs(whole.astype(int) - plain).max(axis=2) > 100).mean() > 0.01  # the green shows
    diff = np.abs(whole.astype(int) - tiled).max(axis=2)
    assert diff.mean() < 0.01
    assert (diff > 2).mean() < 1e-4


@pytest.mark.parametrize("view", VIEWS)
def test_tiled_full_resolution_render_matches_the_untiled_one_without_seams(renderer, monkeypatch, view):
    """Any window: the whole window's mip chain resamples odd sizes slightly off the box filter, so edges
    of the moving region differ by a little; no tile border shows."""
    whole = renderer.render(view, full=True).image
    monkeypatch.setattr(tiles_mod, "TILED_ABOVE_PX", 0)
    monkeypatch.setattr(tiles_mod, "TILE_PX", TILE)
    tiled = renderer.render(view, full=True).image
    monkeypatch.undo()
    _, (x, y, w, h) = _window(renderer, view)
    ox, oy = renderer.scene.origin(1.0)
    diff = np.abs(whole.astype(int) - tiled).max(axis=2)
    inside = (slice(oy + y, oy + y + h), slice(ox + x, ox + x + w))
    outside = np.ones(diff.shape, bool)
    outside[inside] = False
    assert diff[outside].max(initial=0) == 0  # outside the window: the photo itself either way
    diff = diff[inside]
    assert diff.mean() < 0.5
    assert np.percentile(diff, 99) <= 3
    col_at, col_else, row_at, row_else = _seams(diff)
    assert col_at <= col_else and row_at <= row_else


def test_a_12mp_photo_and_previews_are_drawn_whole_a_100mp_window_in_tiles(renderer):
    scene = renderer.scene
    assert not scene.tiled(1.0, (0, 0, 3024, 4032))  # a whole 12 MP frame
    assert not scene.tiled(renderer.preview_scale, (0, 0, 8000, 8000))
    assert not scene.tiled(1.0, (0, 0, 8000, 8000), draft=True)
    assert scene.tiled(1.0, (0, 0, 6300, 7100))  # the 100 MP bench photo's head window
