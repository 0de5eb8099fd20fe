"""File > Take a Selfie…, fed by an injected frame source (CI has no camera): the live preview, the 3-2-1
countdown, the picture opened and analysed as a photo with no file (exported like any other, with a sidecar that
says so), Cancel closing cleanly, and the action off with a plain reason where no camera can be had."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from super_gui.gui import camera, selfie
from super_gui.gui.camera import NO_CAMERA, NO_MULTIMEDIA, ImageFrameSource
from super_gui.gui.selfie import rgb_from_qimage, selfie_name
from tests.gui.conftest import wait_ready


def _frames(grace_rgb) -> list[np.ndarray]:
    """A few frames of a 'video': Grace Hopper, a little lighter and darker, as a camera's exposure drifts."""
    base = grace_rgb.astype(np.int16)
    return [np.clip(base + d, 0, 255).astype(np.uint8) for d in (-6, 0, 6)]


@pytest.fixture
def camera_window(window, grace_rgb, monkeypatch):
    monkeypatch.setattr(selfie, "TICK_MS", 150)  # (the countdown's three seconds, shortened)
    sources: list[ImageFrameSource] = []

    def factory():
        sources.append(ImageFrameSource(_frames(grace_rgb), fps=30))
        return sources[-1]

    window.frame_source_factory = factory
    window.update_selfie_action()
    window.sources = sources
    return window


def test_countdown_capture_and_the_photo_opens_and_is_analysed(qtbot, camera_window, settings, tmp_path, grace_rgb):
    w = camera_window
    a = w.actions_by_name["selfie"]
    assert a.isEnabled() and a.shortcut().toString() == "Ctrl+Shift+T" and "camera" in a.statusTip()
    qtbot.keyClick(w.viewer, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = w.selfie_dialog
    assert dialog is not None and dialog.isVisible()
    source = w.sources[0]
    qtbot.waitUntil(lambda: dialog.take.isEnabled() and dialog.preview.image is not None)  # the live picture
    shown = source.sent
    qtbot.waitUntil(lambda: source.sent > shown + 3)  # ... goes on
    numbers = []
    dialog._tick.timeout.connect(lambda: numbers.append(dialog.preview.number))
    qtbot.mouseClick(dialog.take, Qt.MouseButton.LeftButton)
    assert dialog.preview.number == "3" and not dialog.take.isEnabled()
    qtbot.waitUntil(lambda: w.selfie_dialog is None, timeout=5000)
    assert numbers == ["2", "1", ""]  # 3, 2, 1, then the picture
    assert not source.running and source.stopped == 1
    frames = {bytes(f.tobytes()) for f in _frames(grace_rgb)}
    taken = dialog.image()
    assert taken is not None and bytes(rgb_from_qimage(taken).tobytes()) in frames  # one of the frames, not mirrored

    wait_ready(qtbot, w)  # opened, analysed, and its first corrected frame on screen
    loaded = w.session.loaded
    assert loaded.photo.in_memory and loaded.path.name.startswith("Selfie ") and loaded.path.suffix == ".jpg"
    assert loaded.path.name in w.windowTitle()
    assert np.abs(loaded.photo.rgb8.astype(int) - rgb_from_qimage(taken).astype(int)).mean() < 3  # (a JPEG of it)
    assert w.session.current.analysis.faces.faces and w.controls.yaw.slider.isEnabled()
    assert not settings.value("recent_files")  # no file to open again

    w.controls.quality.setValue(90)
    assert w.export_to(tmp_path / "selfie_edited.jpg")
    qtbot.waitUntil(lambda: w.last_report is not None, timeout=60_000)
    sidecar = json.loads((tmp_path / "selfie_edited.jpg.json").read_text())
    assert sidecar["input"] is None and sidecar["input_name"] == loaded.path.name
    assert sidecar["input_sha256"] == loaded.sha256 and sidecar["reproduce"] is None and sidecar["reproduce_note"]
    assert (tmp_path / "selfie_edited.jpg").is_file() and "Exported selfie_edited.jpg" in w.status_text()
    assert w.session.loaded.photo.in_memory and not (tmp_path / loaded.path.name).exists()


def test_cancel_closes_cleanly(qtbot, camera_window):
    w = camera_window
    w.actions_by_name["selfie"].trigger()
    dialog, source = w.selfie_dialog, w.sources[0]
    qtbot.waitUntil(lambda: dialog.take.isEnabled())
    qtbot.mouseClick(dialog.take, Qt.MouseButton.LeftButton)  # cancelled in the middle of the countdown
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert w.selfie_dialog is None and not dialog.isVisible() and dialog.image() is None
    assert not source.running and source.stopped == 1
    sent = source.sent
    qtbot.wait(400)  # the countdown would have ended by now: nothing more comes, nothing is opened
    assert source.sent == sent and w.session.loaded is None and not w.session.running
    # And again: each time a fresh source, started and stopped once.
    w.take_selfie()
    qtbot.waitUntil(lambda: w.selfie_dialog is not None and w.selfie_dialog.take.isEnabled())
    w.selfie_dialog.reject()
    assert len(w.sources) == 2 and w.sources[1].started == w.sources[1].stopped == 1


def test_a_camera_that_fails_says_so(qtbot, camera_window):
    w = camera_window
    w.take_selfie()
    dialog, source = w.selfie_dialog, w.sources[0]
    qtbot.waitUntil(lambda: dialog.take.isEnabled())
    source.fail("The camera stopped working: unplugged.")
    assert not dialog.take.isEnabled() and "unplugged" in dialog.hint.text()
    dialog.reject()


def test_without_a_camera_the_action_is_off_and_says_why(window, monkeypatch):
    monkeypatch.setattr(selfie, "camera_unavailable", lambda: NO_CAMERA)
    window.frame_source_factory = None
    window.update_selfie_action()
    a = window.actions_by_name["selfie"]
    assert not a.isEnabled() and a.toolTip() == a.statusTip() == NO_CAMERA
    window.take_selfie()  # (its key with the action off: nothing opens)
    assert window.selfie_dialog is None
    monkeypatch.setattr(camera, "multimedia", lambda: None)  # no Qt Multimedia at all
    assert camera.camera_unavailable() == NO_MULTIMEDIA
    window.enter_presentation()  # the presentation panel's button follows the action
    assert not window._present_panel.selfie.isEnabled() and window._present_panel.selfie.toolTip() == NO_CAMERA


def test_selfie_names():
    when = datetime(2026, 11, 25, 17, 40, 12)
    assert selfie_name(when) == "Selfie 2026-11-25 17-40.jpg"


def test_qt_multimedia_source_hands_on_the_sinks_frames(qtbot):
    """The real source, as far as a machine without a camera can take it: the frames its video sink gets come
    out as QImages. (Skipped where Qt Multimedia, from PySide6-Addons, is not installed.)"""
    mm = camera.multimedia()
    if mm is None:
        pytest.skip("Qt Multimedia is not installed (PySide6-Addons)")
    source = camera.QtCameraSource(device=mm.QCameraDevice())
    got = []
    source.frameReady.connect(got.append)
    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(0xFF336699)
    source.sink.setVideoFrame(mm.QVideoFrame(image))
    assert len(got) == 1 and got[0].size() == image.size() and got[0].pixel(3, 3) == image.pixel(3, 3)
    source.start()  # a null device: it fails, it does not crash
    source.stop()


def test_cameras_are_asked_for_when_the_file_menu_opens_not_at_start(window, monkeypatch):
    """Qt Multimedia starts only when it is needed: its start-up beside the render thread's GL start-up could hang."""
    assert getattr(window, "_media_devices", None) is None
    monkeypatch.setattr(selfie, "camera_unavailable", lambda: NO_CAMERA)
    window.frame_source_factory = None
    window.menuBar().actions()[0].menu().aboutToShow.emit()
    a = window.actions_by_name["selfie"]
    assert not a.isEnabled() and a.statusTip() == NO_CAMERA
