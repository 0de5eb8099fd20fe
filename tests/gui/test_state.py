"""Stale or wrong state in the editor: the capture-camera fields without estimates, a typed capture focal,
exporting after the original went away, the demo variable, Ctrl+1 on the face, photo warnings, and the
JPEG "same quality as the original" choice."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from tests.conftest import save
from tests.gui.conftest import WAIT_MS, wait_ready

ROOT = Path(__file__).resolve().parents[2]


def capture_fields(window):
    c = window.controls
    return c.capture_focal_spin, c.distance_spin


def blank_and_disabled(window) -> bool:
    return all(not s.isEnabled() and not re.search(r"\d", s.text()) for s in capture_fields(window))


def test_capture_fields_are_empty_without_estimates(qtbot, window, grace_jpg, tmp_path, dialogs):
    assert blank_and_disabled(window), [s.text() for s in capture_fields(window)]  # no photo: no "5.0 mm / 10.0 cm"
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    focal, distance = capture_fields(window)
    assert focal.isEnabled() and focal.text() == "26.0 mm" and "cm" in distance.text()
    window.open_photo(save(np.full((400, 400, 3), 128, np.uint8), tmp_path / "grey.png"))  # no face
    qtbot.waitUntil(lambda: bool(dialogs), timeout=WAIT_MS)
    assert "no face" in dialogs[0][1]
    assert blank_and_disabled(window), [s.text() for s in capture_fields(window)]  # not grace's distance
    assert not window.controls.reestimate.isEnabled()


def test_a_typed_capture_focal_applies_after_the_pause(qtbot, window, grace_jpg):
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    gen = window.session.generation
    spin = window.controls.capture_focal_spin
    qtbot.mouseClick(spin.lineEdit(), Qt.MouseButton.LeftButton)
    qtbot.keyClick(spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(spin, "52")  # typed, no Enter: the pause is enough
    qtbot.waitUntil(lambda: window.session.current is not None and window.session.generation > gen, timeout=WAIT_MS)
    a = window.session.current.analysis
    assert a.focal.focal_35mm == 52.0 and a.focal.source == "user"


def test_export_after_the_original_was_deleted_writes_image_and_sidecar(qtbot, window, grace_jpg, tmp_path, dialogs):
    from super_gui.app.edit import file_sha256

    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    sha = file_sha256(grace_jpg)
    window.controls.yaw.spin.setValue(10.0)
    grace_jpg.unlink()  # moved away or deleted while the edit is open
    out = tmp_path / "out" / "edited.jpg"
    out.parent.mkdir()
    assert window.export_to(out)
    qtbot.waitUntil(lambda: window.last_report is not None or bool(dialogs), timeout=60_000)
    assert not dialogs, dialogs
    assert out.is_file() and (out.parent / "edited.jpg.json").is_file()
    report = json.loads((out.parent / "edited.jpg.json").read_text())
    assert report["settings"]["yaw_deg"] == 10.0
    assert report["input_sha256"] == sha  # the photo as it was opened and edited
    assert "no longer" in window.status_text()  # said plainly: the original is not where the sidecar says


@pytest.mark.parametrize("value, words", [("yaw=12,focla=85", "unknown setting 'focla'"), ("yaw=abc", "yaw must be a number")])
def test_a_typo_in_the_demo_view_is_a_clear_error(tmp_path, grace_jpg, value, words):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SUPER_GUI_DEMO_VIEW=value, XDG_CONFIG_HOME=str(tmp_path / "config"))
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), str(grace_jpg)], env=env, capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert "SUPER_GUI_DEMO_VIEW" in r.stderr and words in r.stderr
    assert "QThread" not in r.stderr and "Traceback" not in r.stderr


def test_ctrl_1_zooms_on_the_face(qtbot, window, astronaut_jpg):
    window.open_photo(astronaut_jpg)
    wait_ready(qtbot, window)
    face = window.session.current.analysis.faces.face.oval_px
    centre = (face.min(axis=0) + face.max(axis=0)) / 2
    assert np.hypot(*(centre - 256)) > 50  # the astronaut's face is well off the photo's centre
    window.viewer.setFocus()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    v = window.viewer
    assert v.zoom() == pytest.approx(1.0)
    at_centre = v.to_photo(QPointF(v.width() / 2, v.height() / 2))
    assert np.hypot(at_centre.x() - centre[0], at_centre.y() - centre[1]) < 2.0


def test_a_damaged_jpeg_opens_with_a_warning_dialog(qtbot, window, grace_jpg, tmp_path, dialogs):
    data = grace_jpg.read_bytes()
    bad = tmp_path / "damaged.jpg"
    bad.write_bytes(data[: len(data) * 2 // 3] + b"\xff\xd9")  # the lower part is lost; the decoder goes on
    window.open_photo(bad)
    qtbot.waitUntil(lambda: bool(dialogs), timeout=WAIT_MS)
    title, message = dialogs[0]
    assert "damaged.jpg" in message and "corrupt" in message
    assert window.session.loaded is not None and window.session.loaded.path == bad  # still opened


def test_jpeg_export_can_keep_the_originals_quality(qtbot, window, grace_rgb, tmp_path, settings):
    from super_gui.core.image_io import load_photo
    from super_gui.gui.main_window import MainWindow

    photo = save(grace_rgb, tmp_path / "phone.jpg", quality=80)
    window.open_photo(photo)
    wait_ready(qtbot, window)
    box = window.controls.quality_original
    assert box.isEnabled() and "80" in box.text()  # the original's estimated quality is named
    box.click()
    assert not window.controls.quality.isEnabled() and window.controls.quality.value() == 95
    out = tmp_path / "edited.jpg"
    assert window.export_to(out)
    qtbot.waitUntil(lambda: window.last_report is not None, timeout=60_000)
    assert load_photo(out).meta.jpeg_quality == 80
    assert window.last_report["settings"]["jpeg_quality"] in ("original", None)
    assert Image.open(out).layer[0][1:3] == Image.open(photo).layer[0][1:3]  # the same chroma subsampling
    window.close()
    again = MainWindow(settings)  # remembered
    qtbot.addWidget(again)
    assert again.controls.quality_original.isChecked()
    again.close()


def test_replacing_a_link_in_the_editor_replaces_the_link_not_its_target(qtbot, window, grace_jpg, tmp_path, dialogs,
                                                                          monkeypatch):
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    window.controls.yaw.spin.setValue(10.0)
    target = tmp_path / "keep.jpg"
    target.write_bytes(b"someone else's file")
    link = tmp_path / "link.jpg"
    link.symlink_to(target)
    asked = []
    monkeypatch.setattr(type(window), "_confirm", lambda self, text, question: asked.append(text) or True)
    assert window.export_to(link)
    qtbot.waitUntil(lambda: window.last_report is not None or bool(dialogs), timeout=60_000)
    assert not dialogs, dialogs
    assert asked and "already exists" in asked[0]
    assert target.read_bytes() == b"someone else's file"
    assert not link.is_symlink() and link.read_bytes()[:2] == b"\xff\xd8"


def test_the_application_icon_is_found_and_drawn(qtbot):
    from super_gui.gui.app import app_icon

    icon = app_icon()
    assert not icon.isNull()
    img = icon.pixmap(64, 64).toImage()
    assert img.width() == 64 and len({img.pixel(x, y) for x in range(0, 64, 4) for y in range(0, 64, 4)}) > 2
