"""Presentation mode (F11, View > Present; Esc or F11 leaves) and the Sweep loop: full screen with large type,
7:1 contrast for every text colour, before/after side by side, finger-sized slider handles, the window put back
exactly as it was; the sweep asks for one frame at a time, moves yaw and focal smoothly, and stops on any input."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (QAbstractButton, QAbstractSpinBox, QGroupBox, QLabel, QSlider, QStyle, QStyleOptionSlider,
                               QWidget)

from super_gui.core.camera import View
from super_gui.gui import present, sweep
from super_gui.gui.present import (BG, HANDLE_PX, LIMIT_COLOURS, TEXT_PAIRS, VIEWER_COLOURS, VIEWER_TEXT_PAIRS,
                                   contrast_ratio, point_size, style_sheet)
from tests.gui.conftest import wait_frame, wait_ready

TEXT_WIDGETS = (QLabel, QAbstractButton, QAbstractSpinBox, QGroupBox)


def test_contrast_ratio_is_wcags():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # WCAG's own example
    assert contrast_ratio((255, 255, 255), "#ffffff") == 1.0


def test_every_text_colour_of_presentation_mode_has_7_to_1():
    for fg, bg in TEXT_PAIRS:
        assert contrast_ratio(fg, bg) >= 7.0, (fg, bg)
    for colour in LIMIT_COLOURS.values():  # the status bar's warnings
        assert contrast_ratio(colour, BG) >= 7.0, colour
    # Text over the photo: its box composited over the lightest and the darkest photo there can be.
    for fg, bg in VIEWER_TEXT_PAIRS:
        box = VIEWER_COLOURS[bg]
        alpha = box[3] / 255 if len(box) == 4 else 1.0
        for under in (0, 255):
            seen = tuple(alpha * c + (1 - alpha) * under for c in box[:3])
            assert contrast_ratio(VIEWER_COLOURS[fg], seen) >= 7.0, (fg, bg, under)
    # The style sheet draws text only in the colours checked above, on the backgrounds checked above.
    sheet = style_sheet(18)
    texts = {fg for fg, _ in TEXT_PAIRS}
    backgrounds = {bg for _, bg in TEXT_PAIRS}
    assert set(re.findall(r"(?<![-\w])color: (#\w+)", sheet)) <= texts
    assert set(re.findall(r"selection-color: (#\w+)", sheet)) <= texts
    assert set(re.findall(r"background-color: (#\w+)", sheet)) <= backgrounds


def test_type_scales_with_the_screen():
    assert point_size(1080) >= 16 and point_size(2160) == 2 * point_size(1080) and point_size(600) == 16


def _opaque_background(w: QWidget, group) -> str:
    """The colour a widget's text is drawn on: its own background, or where that is transparent its parent's."""
    while w is not None:
        c = w.palette().color(group, w.backgroundRole())
        if c.alpha() == 255 and (w.autoFillBackground() or not isinstance(w, QLabel)):
            return c.name()
        w = w.parentWidget()
    return BG


def _window_state(w) -> dict:
    v, c = w.viewer, w.controls
    parts = [w.menuBar(), w.statusBar(), c.capture_box, c.export_box, c.tips, w.estimates_label, w.render_label,
             w.tabs.tabBar()]
    return {"state": w.windowState(), "geometry": w.geometry(), "style": w.styleSheet(),
            "visible": [p.isVisibleTo(w) for p in parts], "splitter": w.centralWidget().sizes(),
            "tab": w.tabs.currentIndex(), "viewer": (v.two_up, v.split, v.split_fraction(), v.fit_mode, v.zoom()),
            "colours": dict(v.colours), "limits": dict(w.limits.colours), "font": c.yaw.label.font().pointSizeF(),
            "handle": _handle(c.yaw.slider).height(), "view": w.view, "controls": c.view(),
            "actions": {n: (a.isEnabled(), a.isChecked()) for n, a in w.actions_by_name.items()
                        if n not in ("undo", "redo")}}  # (an edit made while presenting is kept, undoable)


def _handle(slider: QSlider):
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    return slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, slider)


def _wait_same(qtbot, w, before: dict) -> None:
    try:
        qtbot.waitUntil(lambda: _window_state(w) == before, timeout=5000)
    except qtbot.TimeoutError:
        after = _window_state(w)
        assert {k: v for k, v in after.items() if v != before[k]} == {k: v for k, v in before.items() if v != after[k]}


@pytest.fixture
def ready(qtbot, window, grace_jpg):
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    return window


def test_f11_presents_and_esc_puts_the_window_back_exactly(qtbot, ready):
    w = ready
    w.actions_by_name["split"].trigger()  # some state of the user's own to be kept
    w.viewer.set_split_fraction(0.3)
    w.viewer.set_zoom(2.0)
    w.set_view(View(5.0, 0.0, 60.0))
    wait_frame(qtbot, w, w.view)
    w.watch_cameras()  # (what a camera allows is asked once, when the File menu or presentation first needs it)
    before = _window_state(w)

    qtbot.keyClick(w.viewer, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: w.isFullScreen())
    assert w.presenting and w.actions_by_name["present"].isChecked()
    assert not w.menuBar().isVisible() and not w.controls.capture_box.isVisible() and w.viewer.two_up
    assert w.viewer.fit_mode and w.tabs.currentWidget() is w.viewer
    assert not w.actions_by_name["mesh"].isEnabled()
    # Large type everywhere there is text, 7:1 against what it is drawn on, enabled or not.
    texts = [x for x in w.findChildren(QWidget) if isinstance(x, TEXT_WIDGETS) and x.isVisible()]
    assert len(texts) >= 12
    for x in texts:
        assert x.font().pointSizeF() >= 16, x
        group = QPalette.ColorGroup.Active if x.isEnabled() else QPalette.ColorGroup.Disabled
        fg = x.palette().color(group, x.foregroundRole()).name()
        assert contrast_ratio(fg, _opaque_background(x, group)) >= 7.0, (x, fg)
    assert w.viewer.font().pointSizeF() >= 16  # the Before/After labels
    for row in (w.controls.yaw, w.controls.pitch, w.controls.focal):
        assert _handle(row.slider).height() >= HANDLE_PX and _handle(row.slider).width() >= HANDLE_PX
    # The sliders still edit the view, as ever.
    w.controls.yaw.slider.setValue(100)
    assert w.view.yaw_deg == 10.0

    qtbot.keyClick(w.viewer, Qt.Key.Key_Escape)
    assert not w.presenting
    w.set_view(View(5.0, 0.0, 60.0))
    _wait_same(qtbot, w, before)

    # F11 leaves too (its key works with the menu bar hidden), and the panel's Leave button.
    qtbot.keyClick(w.viewer, Qt.Key.Key_F11)
    assert w.presenting
    qtbot.keyClick(w.viewer, Qt.Key.Key_F11)
    assert not w.presenting
    w.actions_by_name["present"].trigger()
    qtbot.mouseClick(w._present_panel.leave, Qt.MouseButton.LeftButton)
    _wait_same(qtbot, w, before)


def test_side_by_side_where_it_shows_the_photo_larger(qtbot, grace_rgb):
    from super_gui.gui.viewer import ImageViewer

    v = ImageViewer()
    qtbot.addWidget(v)
    v.resize(1400, 1000)
    v.set_photo(512, 600, grace_rgb)
    v.set_result(grace_rgb)
    v.two_up = True
    assert v.two_up_shown()
    left, right = v.two_up_rects()
    assert left.right() < right.left() and left.width() > 600 and right.right() <= 1400
    v.set_photo(1600, 600, np.zeros((600, 1600, 3), np.uint8))  # a wide photo: a split shows it larger
    assert not v.two_up_shown()


def test_sweep_turns_the_head_and_changes_the_lens_one_frame_at_a_time(qtbot, ready, monkeypatch):
    w = ready
    monkeypatch.setattr(sweep, "STALL_S", 600.0)  # (a slow frame is waited for, never asked for twice)
    base, steps = w.view, w.undo_stack.count()
    in_flight = []
    request = w.session.request

    def spy(view, draft, full=False):
        if w.sweep.running:
            in_flight.append(w.sweep.pending)  # what was still on its way when the next view was asked for
        return request(view, draft, full)

    monkeypatch.setattr(w.session, "request", spy)
    w.actions_by_name["sweep"].trigger()
    assert w.sweep.running and w.actions_by_name["sweep"].isChecked()
    qtbot.waitUntil(lambda: w.sweep.shown >= 8, timeout=90_000)
    views = list(w.sweep.requested)
    assert abs(w.controls.yaw.value() - views[-1].yaw_deg) < 0.06  # the sliders follow
    assert all(p is None for p in in_flight)  # never a queue
    assert len(views) <= w.sweep.shown + 1
    yaws = [v.yaw_deg for v in views]
    focals = [v.focal_35mm or w.controls.capture_focal for v in views]
    most = sweep.SWEEP_YAW * 2 * math.pi * sweep.MAX_STEP + 0.01
    assert all(0 < b - a <= most for a, b in zip(yaws, yaws[1:]))  # turning right, in small steps
    assert all(1.0 <= b / a < 1.05 for a, b in zip(focals, focals[1:]))  # the lens lengthening
    assert yaws[-1] > yaws[0] and focals[-1] > focals[0]
    assert w.undo_stack.count() == steps  # shown, not edited

    qtbot.keyClick(w.viewer, Qt.Key.Key_Space)  # any key stops it
    assert not w.sweep.running and not w.actions_by_name["sweep"].isChecked()
    assert w.view == base and w.controls.view() == base
    wait_frame(qtbot, w, base)
    assert w.undo_stack.count() == steps


def test_sweep_in_presentation_the_stopping_input_is_spent_on_stopping(qtbot, ready):
    w = ready
    w.enter_presentation()
    qtbot.mouseClick(w._present_panel.sweep, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.sweep.shown >= 2, timeout=60_000)
    qtbot.keyClick(w.viewer, Qt.Key.Key_Escape)  # stops the sweep, and does not also leave
    assert not w.sweep.running and w.presenting
    w.start_sweep()
    qtbot.waitUntil(lambda: w.sweep.shown >= 1, timeout=60_000)
    qtbot.mouseClick(w.controls.reset, Qt.MouseButton.LeftButton, pos=QPoint(5, 5))  # a click stops it ...
    assert not w.sweep.running
    qtbot.keyClick(w.viewer, Qt.Key.Key_Escape)  # ... and the next Esc leaves
    assert not w.presenting


def test_sweep_needs_an_analysed_photo(window):
    assert not window.actions_by_name["sweep"].isEnabled()
    assert not window.start_sweep() and not window.sweep.running
    assert "Open a photo" in window.status_text()


def test_demo_view_keys_for_presentation_and_sweep():
    from super_gui.gui.app import parse_demo_view

    view, extra = parse_demo_view("focal=85,present=1,sweep=1")
    assert view == View(0.0, 0.0, 85.0) and extra == {"present": True, "sweep": True}
    with pytest.raises(ValueError, match="present must be 0 or 1"):
        parse_demo_view("present=yes")
    assert present.PITCH  # (the panel's one line about what this is)


def test_the_sweep_loop_and_its_limits():
    from types import SimpleNamespace as NS

    from super_gui.gui.sweep import sweep_limits, sweep_view

    assert sweep_view(0.0, 26.0) == View(0.0, 0.0, None)
    right, far, left = sweep_view(0.25, 26.0, 3.0), sweep_view(0.5, 26.0), sweep_view(0.75, 26.0)
    assert right.yaw_deg == 20.0 and right.pitch_deg == 3.0 and right.focal_35mm == pytest.approx(math.sqrt(26 * 135), abs=0.01)
    assert abs(far.yaw_deg) < 1e-6 and far.focal_35mm == 135.0 and left.yaw_deg == -20.0
    loop = [sweep_view(i / 400, 26.0) for i in range(401)]
    assert max(abs(b.yaw_deg - a.yaw_deg) for a, b in zip(loop, loop[1:])) < 0.35  # smooth all the way round
    assert loop[-1] == loop[0]
    # Inside what the photo supports, but never a timid loop.
    supported = NS(yaw=NS(lo=-17.5, hi=18.2), focal=NS(lo=26.0, hi=200.0))
    assert sweep_limits(NS(supported=supported)) == ((-17.5, 18.2), 135.0)
    supported = NS(yaw=NS(lo=-3.0, hi=25.0), focal=NS(lo=26.0, hi=90.0))
    assert sweep_limits(NS(supported=supported)) == ((-sweep.MIN_YAW, 20.0), 90.0)
    assert sweep_limits(NS(supported=None)) == ((-20.0, 20.0), 135.0)
    assert sweep_view(0.25, 26.0, yaw_span=(-17.5, 18.2)).yaw_deg == 18.2
