"""The full-resolution close-up (zoomed in past the preview's pixels) is drawn in pieces and gives way:
a slider moved while it is drawn gets its frame at once and the close-up is never shown half-done; it
comes back when the view settles, the same pixels as a full-resolution render drawn whole; exports are
never stopped, and a close-up stopped for one is drawn again after it.

The render thread is held at a chosen piece by a gate around ``tiles.check_cancelled`` (or around the
export's render), so what happens "while it is drawn" is decided by the test, not by timing."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

import super_gui.render.tiles as tiles
from super_gui.core.camera import View
from tests.conftest import save
from tests.gui.conftest import wait_frame, wait_ready

V1, V2 = View(12.0, 0.0, None), View(6.0, 0.0, None)


class Gate:
    """Wraps ``fn``: its ``at``-th call (on whatever thread) waits until the test opens the gate."""

    def __init__(self, fn, at: int = 1):
        self.fn, self.at, self.calls = fn, at, 0
        self.reached, self.open = threading.Event(), threading.Event()

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.at:
            self.reached.set()
            self.open.wait(30)
        return self.fn(*args, **kwargs)


@pytest.fixture
def zoomed(qtbot, window, grace_rgb, tmp_path, monkeypatch):
    """A 1536 x 1800 photo (preview scale 0.57) settled at V1, with a gate at the 6th piece of close-ups."""
    big = cv2.resize(grace_rgb, (1536, 1800), interpolation=cv2.INTER_CUBIC)
    monkeypatch.setattr(tiles, "PIECE_PX", 128)  # a few dozen pieces for this photo's window
    window.open_photo(save(big, tmp_path / "big.jpg", quality=95))
    wait_ready(qtbot, window)
    window.set_view(V1)
    wait_frame(qtbot, window, V1)
    gate = Gate(tiles.check_cancelled, at=6)
    monkeypatch.setattr(tiles, "check_cancelled", gate)
    shown = []
    window.frameShown.connect(shown.append)
    window.actions_by_name["actual"].trigger()  # 100 %: the close-up is asked for once the view holds still
    qtbot.waitUntil(gate.reached.is_set, timeout=30_000)
    assert shown == []  # held in the middle of the close-up
    return window, gate, shown


def whole_full_render(window, view) -> np.ndarray:
    """``view`` at full resolution drawn whole, on this thread, as before close-ups were drawn in pieces."""
    from super_gui.app.group import FaceRenderers
    from super_gui.core.image_io import to_uint8

    faces = FaceRenderers()
    try:
        return to_uint8(faces.render([(window.session.current, view)], full=True).image)
    finally:
        faces.release()


def test_a_slider_moved_during_a_close_up_gets_its_frame_first_and_the_close_up_comes_back(qtbot, zoomed):
    window, gate, shown = zoomed
    render_thread = window.session.render_thread
    slider = window.controls.yaw.slider
    slider.setSliderDown(True)
    slider.setValue(60)  # a draft of V2 is asked for while the close-up of V1 is held mid-way
    gate.open.set()
    wait_frame(qtbot, window, V2, draft=True)
    assert render_thread.stopped_renders == 1
    assert all(f.scale < 1.0 for f in shown) and shown[0].draft  # the draft first; nothing of the close-up

    slider.setSliderDown(False)  # settled: the preview of V2, then (the view holds still) its close-up
    qtbot.waitUntil(lambda: window.last_frame.scale == 1.0 and window.last_frame.view == V2, timeout=60_000)
    assert [(f.draft, f.scale == 1.0) for f in shown if f.view == V2][-2:] == [(False, False), (False, True)]
    assert V1 not in [f.view for f in shown]
    assert render_thread.stopped_renders == 1 and gate.calls > 6
    detail = window.viewer.result_array()
    assert detail.shape == (1800, 1536, 3)
    assert np.array_equal(detail, whole_full_render(window, V2))  # the same bytes as drawn whole


def test_an_export_stops_a_close_up_runs_whole_with_a_drag_beside_it_and_the_close_up_follows(qtbot, zoomed, tmp_path,
                                                                                                 monkeypatch):
    from super_gui.app.group import FaceRenderers

    window, gate, shown = zoomed
    render_thread = window.session.render_thread
    events = []
    window.session.exported.connect(lambda report: events.append("exported"))
    window.session.failed.connect(lambda *a: events.append(("failed", a)))
    window.frameShown.connect(lambda f: events.append(("frame", f.view, f.draft, f.scale == 1.0)))
    export_gate = Gate(FaceRenderers.render)  # holds the export's render at its start
    monkeypatch.setattr(FaceRenderers, "render", lambda self, *a, **k: export_gate(self, *a, **k))

    window.session.export(V1, tmp_path / "out.jpg", 95, False)
    gate.open.set()  # the close-up stops for the export
    qtbot.waitUntil(export_gate.reached.is_set, timeout=30_000)
    assert render_thread.stopped_renders == 1 and shown == []
    slider = window.controls.yaw.slider
    slider.setSliderDown(True)
    slider.setValue(60)  # a drag while the export renders: it must not stop the export
    export_gate.open.set()
    wait_frame(qtbot, window, V2, draft=True)
    assert events[0] == "exported" and ("frame", V2, True, False) in events
    assert (tmp_path / "out.jpg").is_file() and (tmp_path / "out.jpg.json").is_file()

    slider.setValue(120)
    slider.setSliderDown(False)  # back to V1: its preview, then its close-up
    qtbot.waitUntil(lambda: window.last_frame.scale == 1.0 and window.last_frame.view == V1, timeout=60_000)
    assert render_thread.stopped_renders == 1
    assert np.array_equal(window.viewer.result_array(), whole_full_render(window, V1))


def test_a_close_up_stopped_only_for_an_export_is_drawn_again_by_itself(qtbot, zoomed, tmp_path):
    window, gate, shown = zoomed
    requests = []
    render_thread = window.session.render_thread
    original_request = render_thread.request
    render_thread.request = lambda req: (requests.append(req), original_request(req))
    window.session.export(V1, tmp_path / "out.jpg", 95, False)
    gate.open.set()
    qtbot.waitUntil(lambda: window.last_frame is not None and window.last_frame.scale == 1.0, timeout=60_000)
    assert render_thread.stopped_renders == 1 and requests == []  # not asked again: the render thread redid it
    assert (tmp_path / "out.jpg").is_file() and [f.view for f in shown] == [V1]
