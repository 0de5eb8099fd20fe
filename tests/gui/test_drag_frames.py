"""Drag frames in the editor: no larger than the photo is on screen, handed to the viewer at its size on
screen; the settled frame at the preview's size."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QObject

from super_gui.app.drafts import BUSY_MIN_RATIO, screen_ratio
from super_gui.core.camera import View
from tests.conftest import save
from tests.gui.conftest import wait_frame, wait_ready


def _drag(qtbot, window, row, values, wait_ms: int, drafts: int) -> list:
    """Press ``row``'s slider and move it through ``values`` (still held after), until ``drafts`` drag frames
    have been shown; returns every frame shown since the press."""
    shown = []
    window.frameShown.connect(shown.append)
    row.slider.setSliderDown(True)
    for v in values:
        row.slider.setValue(v)
        qtbot.wait(wait_ms)
    qtbot.waitUntil(lambda: sum(f.draft for f in shown) >= drafts, timeout=30_000)
    return shown


def test_drag_frames_are_drawn_at_the_photos_size_on_screen(qtbot, window, grace_rgb, tmp_path):
    big = cv2.resize(grace_rgb, (grace_rgb.shape[1] * 2, grace_rgb.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
    window.resize(900, 700)  # the photo is shown smaller than its 1024 px preview
    window.open_photo(save(big, tmp_path / "grace2x.jpg", quality=95))
    wait_ready(qtbot, window)
    preview = window.viewer.result_array().shape
    ratio = screen_ratio(window.viewer.zoom(), window.session.preview_scale)
    assert ratio < 1.0

    row = window.controls.yaw
    shown = _drag(qtbot, window, row, range(10, 130, 10), 20, drafts=1)
    row.slider.setSliderDown(False)
    wait_frame(qtbot, window, window.view)
    drafts = [f for f in shown if f.draft]
    for f in drafts:
        w = f.image.shape[1]
        assert round(preview[1] * min(BUSY_MIN_RATIO, ratio)) <= w <= round(preview[1] * ratio), (w, preview, ratio)
        assert f.scale < window.session.preview_scale
        # painted as they come: already scaled (on the render thread) to the device pixels the photo covers
        assert (f.qimage.width(), f.qimage.height()) == window.viewer.paint_size()
    assert window.last_frame.image.shape == preview and not window.last_frame.draft  # let go: the full preview
    assert window.viewer.result_array().shape == preview
    window.set_view(View(5.0, 0.0, None))
    wait_frame(qtbot, window, View(5.0, 0.0, None))


def _pixels(image) -> np.ndarray:
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4).astype(int)


def _on_screen(widget):
    """What the window system shows of ``widget`` (its backing store, as painted so far; not a fresh paint)."""
    return widget.screen().grabWindow(widget.winId()).toImage()


def test_a_drag_frame_painted_in_its_window_shows_what_a_whole_repaint_shows(qtbot, window, grace_jpg):
    window.resize(900, 700)
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    row = window.controls.yaw
    shown = _drag(qtbot, window, row, range(20, 300, 20), 30, drafts=3)
    drafts = [f for f in shown if f.draft and f.window is not None]
    # Two drag frames of one size and of different views: the pace may change the size between frames (on a
    # busy machine the last frame may be the only one of its size), so the latest size that has such a pair.
    sizes = {}
    for f in drafts:
        sizes.setdefault(f.image.shape, []).append(f)
    pairs = [(fs[0], next(f for f in reversed(fs) if f.view != fs[0].view)) for fs in sizes.values()
             if len({f.view for f in fs}) > 1]
    assert pairs, [(f.image.shape, f.view) for f in drafts]
    first, last = max(pairs, key=lambda pair: drafts.index(pair[1]))
    viewer = window.viewer
    painted = []
    viewer.installEventFilter(filt := _PaintRects(painted))
    viewer.set_result(first.image, first.qimage, changed=first.window)
    viewer.set_result(last.image, last.qimage, changed=last.window)  # over the first: its window and the first's
    partial = _on_screen(window)
    assert painted[-1].width() * painted[-1].height() < 0.8 * viewer.width() * viewer.height()  # (not all of it)
    viewer.set_result(last.image, last.qimage)  # the same frame, painted whole
    assert painted[-1] == viewer.rect()
    # (a photo drawn scaled comes out of Qt's smooth scaling up to 1 level different where it is clipped)
    assert np.abs(_pixels(partial) - _pixels(_on_screen(window))).max() <= 1
    viewer.removeEventFilter(filt)
    row.slider.setSliderDown(False)
    wait_frame(qtbot, window, window.view)


class _PaintRects(QObject):
    def __init__(self, rects: list):
        super().__init__()
        self.rects = rects

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.rects.append(event.rect())
        return False
