"""The editor window, driven as a user would (offscreen): open, drag, undo, cancel, export, errors, faces."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtWidgets import QFileDialog

from super_gui.core.camera import View
from tests.conftest import save, three_faces
from tests.gui.conftest import wait_frame, wait_ready


def drag(qtbot, row, values) -> None:
    """Drag a slider through ``values`` (in its integer steps) and let go."""
    row.slider.setSliderDown(True)
    for v in values:
        row.slider.setValue(v)
        qtbot.wait(5)
    row.slider.setSliderDown(False)


def test_open_photo_then_dragging_yaw_changes_the_preview(qtbot, window, grace_jpg, settings):
    window.open_photo(grace_jpg)
    assert window.progress_bar.isVisible() and window.cancel_button.isVisible()
    wait_ready(qtbot, window)
    assert window.windowTitle().startswith("grace_hopper.jpg")
    assert "26 mm" in window.estimates_label.text() and "1 face" in window.estimates_label.text()
    assert not window.progress_bar.isVisible()
    original = window.viewer.result_array().copy()
    assert original.shape == (600, 512, 3)

    drag(qtbot, window.controls.yaw, range(0, 151, 15))
    wait_frame(qtbot, window, View(15.0, 0.0, None))
    turned = window.viewer.result_array()
    assert np.abs(turned.astype(int) - original).mean() > 1.0  # the head moved
    assert np.array_equal(turned[-40:], original[-40:])  # the bottom of the photo did not
    # What is painted is that frame, colours and all (at 100 %, around the middle of the face).
    v = window.viewer
    v.set_zoom(1.0)
    shot = v.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    shown = np.frombuffer(shot.constBits(), np.uint8).reshape(shot.height(), shot.bytesPerLine())[:, : 3 * shot.width()]
    shown = shown.reshape(shot.height(), shot.width(), 3)
    cx, cy = v.width() // 2, v.height() // 2
    px, py = int(v.to_photo(QPointF(cx + 0.5, cy + 0.5)).x()), int(v.to_photo(QPointF(cx + 0.5, cy + 0.5)).y())
    assert np.abs(shown[cy - 8 : cy + 8, cx - 8 : cx + 8].astype(int) - turned[py - 8 : py + 8, px - 8 : px + 8]).mean() < 4
    v.fit()
    assert window.controls.yaw.spin.value() == 15.0
    assert window.undo_stack.count() == 1  # one drag, one undo step
    assert "Frame" in window.render_label.text()
    assert str(grace_jpg.resolve()) in settings.value("recent_files")


def test_undo_and_redo_restore_sliders_and_preview(qtbot, window, grace_jpg):
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    original = window.viewer.result_array().copy()
    drag(qtbot, window.controls.yaw, range(0, 101, 20))
    wait_frame(qtbot, window, View(10.0, 0.0, None))
    yawed = window.viewer.result_array().copy()
    window.controls.pitch.spin.setValue(5.0)
    wait_frame(qtbot, window, View(10.0, 5.0, None))
    assert window.undo_stack.count() == 2

    window.actions_by_name["undo"].trigger()
    assert (window.controls.yaw.value(), window.controls.pitch.value()) == (10.0, 0.0)
    wait_frame(qtbot, window, View(10.0, 0.0, None))
    assert np.array_equal(window.viewer.result_array(), yawed)
    window.actions_by_name["undo"].trigger()
    assert window.controls.yaw.slider.value() == 0
    wait_frame(qtbot, window, View(0.0, 0.0, None))
    assert np.array_equal(window.viewer.result_array(), original)
    window.actions_by_name["redo"].trigger()
    wait_frame(qtbot, window, View(10.0, 0.0, None))
    assert np.array_equal(window.viewer.result_array(), yawed)
    assert window.controls.yaw.spin.value() == 10.0


def test_cancel_a_running_analysis(qtbot, window, grace_jpg, dialogs):
    window.open_photo(grace_jpg)
    qtbot.waitUntil(lambda: window.session.loaded is not None, timeout=30_000)  # the photo shows; analysis runs
    assert window.session.running
    window.cancel_button.click()
    assert "cancelled" in window.status_text().lower()
    assert not window.cancel_button.isVisible() and not window.session.running
    qtbot.wait(2500)  # the cancelled job finishes (or stops) in the background and is ignored
    assert window.session.current is None and not dialogs
    assert not window.controls.yaw.slider.isEnabled()
    # Still usable: open again, and this time let it finish.
    window.open_photo(grace_jpg)
    window.cancel_job()  # cancel straight away, before the load has even started
    assert "cancelled" in window.status_text().lower()
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    assert window.controls.yaw.slider.isEnabled() and not dialogs


def test_export_equals_the_cli_edit(qtbot, window, grace_jpg, tmp_path, monkeypatch):
    from tests.test_cli import run

    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    window.controls.yaw.spin.setValue(15.0)
    window.controls.undistort.click()
    view = View(15.0, 0.0, 85.0)
    wait_frame(qtbot, window, view)
    out = tmp_path / "gui.jpg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "JPEG (*.jpg *.jpeg)")))
    window.actions_by_name["export"].trigger()
    qtbot.waitUntil(lambda: window.last_report is not None, timeout=60_000)
    assert "Exported gui.jpg" in window.status_text()

    cli = tmp_path / "cli.jpg"
    r = run("edit", str(grace_jpg), "-o", str(cli), "--yaw", "15", "--focal", "85")
    assert r.returncode == 0, r.stderr
    gui_px, cli_px = np.asarray(Image.open(out)), np.asarray(Image.open(cli))
    assert gui_px.shape == (600, 512, 3)
    assert np.array_equal(gui_px, cli_px)
    assert out.read_bytes() == cli.read_bytes()  # same pixels, same encoder, same metadata
    gui_rep, cli_rep = json.loads((tmp_path / "gui.jpg.json").read_text()), json.loads((tmp_path / "cli.jpg.json").read_text())
    assert gui_rep["settings"] == cli_rep["settings"] and gui_rep["estimates"] == cli_rep["estimates"]
    assert gui_rep["reproduce"].replace("gui.jpg", "cli.jpg") == cli_rep["reproduce"]


def test_export_over_the_original_asks_first(qtbot, window, grace_jpg, monkeypatch):
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    window.controls.yaw.spin.setValue(10.0)
    before = grace_jpg.read_bytes()
    asked = []
    monkeypatch.setattr(type(window), "_confirm", lambda self, text, question: asked.append(text) or False)
    assert window.export_to(grace_jpg) is False
    assert asked and "original" in asked[0]
    qtbot.wait(300)
    assert grace_jpg.read_bytes() == before and window.last_report is None


@pytest.mark.parametrize("kind", ["truncated", "no face"])
def test_a_broken_file_or_no_face_is_a_dialog_and_the_editor_stays_usable(qtbot, window, grace_jpg, tmp_path, dialogs, kind):
    if kind == "truncated":
        bad = tmp_path / "broken.jpg"
        bad.write_bytes(grace_jpg.read_bytes()[:4000])
    else:
        bad = save(np.full((400, 400, 3), 128, np.uint8), tmp_path / "grey.png")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(bad))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)  # dropped onto the window
    qtbot.waitUntil(lambda: bool(dialogs), timeout=60_000)
    title, message = dialogs[0]
    assert kind in message.lower() and "Traceback" not in message and "Internal" not in message
    assert not window.progress_bar.isVisible()
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    assert len(dialogs) == 1


def test_several_faces_are_outlined_and_a_click_picks_one(qtbot, window, grace_rgb, tmp_path):
    photo = save(three_faces(grace_rgb), tmp_path / "three.png")
    window.open_photo(photo)
    qtbot.waitUntil(lambda: window.session.current is not None, timeout=90_000)
    faces = window.session.current.analysis.faces
    assert len(faces.faces) == 3 and faces.ambiguous and faces.chosen == 1  # similar sizes: the largest, editable
    assert "click a face" in window.status_text()
    assert window.controls.yaw.slider.isEnabled() and window.actions_by_name["export"].isEnabled()
    centre = faces.faces[0].oval_px.mean(axis=0)
    pos = window.viewer.to_widget(QPointF(*centre)).toPoint()
    qtbot.mouseClick(window.viewer, Qt.MouseButton.LeftButton, pos=QPoint(pos))
    qtbot.waitUntil(lambda: window.session.current is not None and window.session.current.analysis.faces.chosen == 0,
                    timeout=90_000)
    assert window.session.face_index == 0
    assert window.controls.yaw.slider.isEnabled() and window.actions_by_name["export"].isEnabled()


def test_hold_backslash_shows_the_original_and_split_view(qtbot, window, grace_jpg):
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    qtbot.keyPress(window.viewer, Qt.Key.Key_Backslash)
    assert window.viewer.show_before
    qtbot.keyRelease(window.viewer, Qt.Key.Key_Backslash)
    assert not window.viewer.show_before
    qtbot.keyPress(window.viewer, Qt.Key.Key_Right)  # arrow keys on the photo turn the head
    assert window.view.yaw_deg == 1.0 and window.controls.yaw.spin.value() == 1.0
    window.actions_by_name["split"].trigger()
    assert window.viewer.split
    window.viewer.set_zoom(1.0)
    assert window.viewer.zoom() == pytest.approx(1.0)
    window.actions_by_name["fit"].trigger()
    assert window.viewer.fit_mode
    window.grab()  # paints every layer without error


def test_editing_the_capture_camera_reanalyses_and_undoes(qtbot, window, grace_jpg):
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    d0 = window.session.current.analysis.distance_m
    gen = window.session.generation
    spin = window.controls.capture_focal_spin
    for v in (27.0, 28.0, 52.0):  # arrow clicks, then a typed value: one analysis once they pause
        spin.setValue(v)
        qtbot.wait(50)
    assert window.session.generation == gen and window.session.current is not None
    qtbot.waitUntil(lambda: window.session.current is not None and window.session.generation > gen, timeout=90_000)
    assert window.session.generation == gen + 2  # one analysis: cleared, then prepared (each run counts twice)
    a = window.session.current.analysis
    assert a.focal.focal_35mm == 52.0 and a.focal.source == "user"
    assert a.distance_m == pytest.approx(2 * d0, rel=0.02)
    assert "52 mm (set by you)" in window.estimates_label.text()
    assert window.controls.focal.slider.isEnabled() and window.controls.focal.spin.minimum() == 52.0
    window.actions_by_name["undo"].trigger()
    qtbot.waitUntil(lambda: window.session.current is not None
                    and window.session.current.analysis.focal.source == "default", timeout=90_000)
    assert window.controls.capture_focal_spin.value() == 26.0


def test_export_mesh(qtbot, window, grace_jpg, tmp_path, monkeypatch):
    import trimesh

    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    out = tmp_path / "head.glb"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    window.actions_by_name["export_mesh"].trigger()
    qtbot.waitUntil(lambda: "Mesh written" in window.status_text(), timeout=60_000)
    assert len(trimesh.load(out, force="mesh").faces) > 1000


def test_the_3d_tab_shows_the_mesh_and_orbits(qtbot, window, grace_jpg):
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    canvas = window.mesh_panel.canvas
    window.actions_by_name["mesh"].trigger()
    assert window.tabs.currentWidget() is window.mesh_panel
    qtbot.waitUntil(lambda: canvas.image_array() is not None, timeout=30_000)
    first = canvas.image_array()
    assert first.std() > 10
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(canvas, QPoint(160, 110))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(160, 110))
    qtbot.waitUntil(lambda: canvas.image_array() is not first, timeout=30_000)
    orbited = canvas.image_array()
    assert np.abs(orbited.astype(int) - first).mean() > 1
    window.mesh_panel.set_mode("wireframe")
    qtbot.waitUntil(lambda: canvas.image_array() is not orbited, timeout=30_000)
    window.controls.yaw.spin.setValue(10.0)  # view edits update the 3D view while it is shown
    qtbot.waitUntil(lambda: window.session._last_mesh is not None and window.session._last_mesh[1].yaw_deg == 10.0,
                    timeout=5000)
    window.actions_by_name["mesh"].trigger()  # back to the photo: it catches up with the edit
    wait_frame(qtbot, window, View(10.0, 0.0, None))


def test_opening_another_photo_cancels_the_first(qtbot, window, astronaut_jpg, grace_jpg):
    window.open_photo(astronaut_jpg)
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    qtbot.wait(500)  # anything the first job still sends is ignored
    assert window.session.loaded.path == grace_jpg and window.windowTitle().startswith("grace_hopper.jpg")
    assert window.session.current.photo.path == grace_jpg


def test_settings_recent_files_geometry_and_about(qtbot, settings, dialogs, grace_jpg, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from super_gui.gui.actions import ABOUT_HTML, add_recent_file, fill_recent_menu
    from super_gui.gui.main_window import MainWindow

    add_recent_file(settings, grace_jpg)
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    fill_recent_menu(w)
    names = [a.text() for a in w.recent_menu.actions()]
    assert any("grace_hopper.jpg" in n for n in names)
    shown = []
    monkeypatch.setattr(QMessageBox, "about", staticmethod(lambda parent, title, text: shown.append(text)))
    [a for a in w.menuBar().actions() if "Help" in a.text()][0].menu().actions()[0].trigger()
    assert shown and all(s in shown[0] for s in ("MediaPipe", "Apache", "PySide6", "LGPL", "ModernGL", "Lee Perry-Smith", "CC BY 3.0"))
    assert w.actions_by_name["export"].shortcut().toString() == "Ctrl+E"
    w.close()
    w2 = MainWindow(settings)
    qtbot.addWidget(w2)
    assert settings.value("geometry") and w2.height() == 700  # restored (the offscreen screen clamps the width)
    w2.close()
    assert ABOUT_HTML


def test_zoomed_in_past_the_preview_shows_the_photos_own_pixels(qtbot, window, grace_rgb, tmp_path):
    """At 100 % on a photo larger than the preview, a settled view is rendered again at full resolution
    (the pixels an export writes), and the original beside it too; a drag goes back to preview frames."""
    import cv2

    big = cv2.resize(grace_rgb, (1024 + 512, 1200 + 600), interpolation=cv2.INTER_CUBIC)  # preview scale 0.57
    window.open_photo(save(big, tmp_path / "big.jpg", quality=95))
    wait_ready(qtbot, window)
    assert window.last_frame.scale < 1.0 and window.viewer.result_array().shape[0] < 1800
    window.set_view(View(12.0, 0.0, None))
    wait_frame(qtbot, window, View(12.0, 0.0, None))
    preview = window.viewer.result_array()

    window.actions_by_name["actual"].trigger()  # Ctrl+1: 100 %
    qtbot.waitUntil(lambda: window.last_frame.scale == 1.0, timeout=30_000)
    detail = window.viewer.result_array()
    assert detail.shape == (1800, 1536, 3) and window.last_frame.view == View(12.0, 0.0, None)
    assert "full resolution" in window.render_label.text()
    assert window.viewer.original_array().shape == (1800, 1536, 3)
    # The same picture as the preview, with more pixels.
    small = cv2.resize(detail, preview.shape[1::-1], interpolation=cv2.INTER_AREA)
    assert np.abs(small.astype(int) - preview).mean() < 2.0

    shown = []
    window.frameShown.connect(shown.append)
    drag(qtbot, window.controls.yaw, range(120, 59, -20))  # a drag: preview frames while it moves
    qtbot.waitUntil(lambda: window.last_frame.scale == 1.0 and window.last_frame.view == View(6.0, 0.0, None), timeout=30_000)
    assert any(f.draft and f.scale < 1.0 for f in shown)  # then the settled preview, then the detail
    assert [f.scale == 1.0 for f in shown if f.view == View(6.0, 0.0, None) and not f.draft] == [False, True]

    window.actions_by_name["fit"].trigger()
    window.set_view(View(0.0, 5.0, None))
    wait_frame(qtbot, window, View(0.0, 5.0, None))
    qtbot.wait(2 * 300)
    assert window.last_frame.scale < 1.0  # fitted to the window, the preview is enough
