"""Keyboard focus and shortcuts, typed as a user would: every key goes to the widget that has focus.

Application shortcuts (Ctrl+O, Ctrl+U, Ctrl+E, Ctrl+1, ...) work wherever focus is; a number field keeps
what it needs while the user types in it (Ctrl+Z on the typed text, Ctrl+A, arrows). Focus goes back to
the photo after opening a photo, after an export and after Enter in a field, so the arrow keys turn the head.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from super_gui.core.camera import View
from tests.gui.conftest import wait_frame, wait_ready
from tests.gui.test_screenshot import xvfb_display  # noqa: F401 - a fixture

CTRL = Qt.KeyboardModifier.ControlModifier


def focused():
    w = QApplication.focusWidget()
    assert w is not None, "nothing has keyboard focus"
    return w


def press(qtbot, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """One key, sent where a user's key would go: the focused widget."""
    qtbot.keyClick(focused(), key, modifier)


def click_field(qtbot, spin) -> None:
    """Click into a number field (its text), as a user would before typing."""
    qtbot.mouseClick(spin.lineEdit(), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: spin.hasFocus() or spin.lineEdit().hasFocus(), timeout=5000)


def in_viewer(window) -> bool:
    return focused() is window.viewer


@pytest.fixture
def active(window, qtbot):
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    return window


def test_opening_from_a_number_field_leaves_focus_on_the_photo_and_ctrl_u_undistorts(
        qtbot, active, grace_jpg, astronaut_jpg, monkeypatch):
    window = active
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    click_field(qtbot, window.controls.yaw.spin)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(astronaut_jpg), "")))
    press(qtbot, Qt.Key.Key_O, CTRL)  # File > Open from inside the Yaw field
    qtbot.waitUntil(lambda: window.session.loaded.path == astronaut_jpg, timeout=30_000)
    wait_ready(qtbot, window)
    assert in_viewer(window), f"focus is on {focused()!r}"
    quality = window.controls.quality.value()
    press(qtbot, Qt.Key.Key_U, CTRL)
    assert window.view.focal_35mm == 85.0  # undistorted
    assert window.controls.quality.value() == quality and window.controls.quality.text() == str(quality)
    wait_frame(qtbot, window, window.view)


def test_app_shortcuts_work_from_any_number_field_and_the_field_keeps_its_own(qtbot, active, grace_jpg, monkeypatch):
    window = active
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    c = window.controls
    # Ctrl+U and Ctrl+1 from the JPEG quality field.
    click_field(qtbot, c.quality)
    press(qtbot, Qt.Key.Key_U, CTRL)
    assert window.view.focal_35mm == 85.0 and c.quality.value() == 95 and c.quality.text() == "95"
    press(qtbot, Qt.Key.Key_1, CTRL)
    assert window.viewer.zoom() == pytest.approx(1.0)
    # Ctrl+E from the Pitch field opens the export dialog.
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: asked.append(a) or ("", "")))
    click_field(qtbot, c.pitch.spin)
    press(qtbot, Qt.Key.Key_E, CTRL)
    assert len(asked) == 1
    # While typing in the Yaw field, Ctrl+A and Ctrl+Z are the field's: the typed text is undone, not the view.
    click_field(qtbot, c.yaw.spin)
    press(qtbot, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(focused(), "12")
    assert c.yaw.spin.lineEdit().text().startswith("12")
    steps = window.undo_stack.index()
    press(qtbot, Qt.Key.Key_Z, CTRL)
    assert not c.yaw.spin.lineEdit().text().startswith("12")
    assert window.undo_stack.index() == steps and window.view.focal_35mm == 85.0
    # Up arrow in a number field changes that field.
    press(qtbot, Qt.Key.Key_Up)
    assert window.view.yaw_deg == 0.5 and c.yaw.spin.value() == 0.5
    # A field not being typed in does not keep Ctrl+Z: the window's undo runs.
    press(qtbot, Qt.Key.Key_Z, CTRL)
    assert window.view.yaw_deg == 0.0 and window.view.focal_35mm == 85.0
    assert c.quality.value() == 95


def test_a_disabled_shortcut_does_not_edit_the_field(qtbot, active):
    """No photo yet: Undistort and Export are disabled, and their keys do not fall through to the field
    (under X11 a number field would take Ctrl+U as "delete the line")."""
    window = active
    q = window.controls.quality
    click_field(qtbot, q)
    for key in (Qt.Key.Key_U, Qt.Key.Key_E):
        press(qtbot, key, CTRL)
        assert q.text() == "95" and q.value() == 95
    assert q.lineEdit().hasFocus() or q.hasFocus()


def test_enter_in_a_field_applies_it_and_returns_focus_to_the_photo(qtbot, active, grace_jpg):
    window = active
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    spin = window.controls.pitch.spin
    click_field(qtbot, spin)
    press(qtbot, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(focused(), "5")
    press(qtbot, Qt.Key.Key_Return)
    assert window.view == View(0.0, 5.0, None)
    qtbot.waitUntil(lambda: in_viewer(window), timeout=5000)
    press(qtbot, Qt.Key.Key_Right)  # arrow keys on the photo turn the head
    assert window.view == View(1.0, 5.0, None)


def test_after_open_recent_the_arrow_keys_turn_the_head(qtbot, active, grace_jpg):
    from super_gui.gui.actions import add_recent_file, fill_recent_menu

    window = active
    add_recent_file(window.settings, grace_jpg)
    click_field(qtbot, window.controls.quality)  # wherever focus was before
    fill_recent_menu(window)
    window.recent_menu.actions()[0].trigger()  # File > Open Recent > grace_hopper.jpg
    qtbot.waitUntil(lambda: window.session.loaded is not None, timeout=30_000)
    wait_ready(qtbot, window)
    press(qtbot, Qt.Key.Key_Right)
    press(qtbot, Qt.Key.Key_Up)
    assert window.view == View(1.0, 1.0, None)
    assert window.controls.quality.value() == 95


def test_focus_returns_to_the_photo_after_an_export(qtbot, active, grace_jpg, tmp_path, monkeypatch):
    window = active
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    out = tmp_path / "out.jpg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "JPEG (*.jpg *.jpeg)")))
    click_field(qtbot, window.controls.quality)
    press(qtbot, Qt.Key.Key_E, CTRL)
    qtbot.waitUntil(lambda: window.last_report is not None, timeout=60_000)
    assert out.is_file()
    qtbot.waitUntil(lambda: in_viewer(window), timeout=5000)
    press(qtbot, Qt.Key.Key_Left)
    assert window.view.yaw_deg == -1.0


def test_the_keyboard_paths_hold_with_x11_key_bindings(xvfb_display, tmp_path):
    """Under X11 a number field claims emacs-style keys (Ctrl+U deletes the line, Ctrl+E moves to its end):
    the same keyboard tests, on a real X server with Qt's xcb platform."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY",)}
    env.update(DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path / "config"))
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "not x11",
                        str(Path(__file__).resolve())], env=env, cwd=root, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:]
