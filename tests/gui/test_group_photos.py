"""Group photos in the editor: only the edited face must be whole, the "click a face" prompt is on the
picture, switching faces is one undo step, and the outlines stay off the Original and split views."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage

from super_gui.core.camera import View
from tests.conftest import save, three_faces
from tests.gui.conftest import WAIT_MS, wait_frame, wait_ready


def one_cut_off(rgb: np.ndarray) -> np.ndarray:
    """A smaller, whole copy of the portrait on the left and the full-size one cut by the right border
    (its face crosses the edge): the largest face cannot be edited, the other one can."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (int(w * 0.7), int(h * 0.7)), interpolation=cv2.INTER_AREA)
    x0 = small.shape[1] + 40
    canvas = np.full((h, x0 + w - 180, 3), 200, np.uint8)
    y = (h - small.shape[0]) // 2
    canvas[y : y + small.shape[0], : small.shape[1]] = small
    canvas[:, x0:] = rgb[:, : w - 180]
    return canvas


def grab(widget) -> np.ndarray:
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    a = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())[:, : 3 * img.width()]
    return a.reshape(img.height(), img.width(), 3).copy()


def click_face(qtbot, window, i: int) -> None:
    centre = window.session.current.analysis.faces.faces[i].oval_px.mean(axis=0)
    pos = window.viewer.to_widget(QPointF(*centre)).toPoint()
    qtbot.mouseClick(window.viewer, Qt.MouseButton.LeftButton, pos=QPoint(pos))


def test_a_group_photo_opens_when_another_face_is_cut_off(qtbot, window, grace_rgb, tmp_path, dialogs):
    photo = save(one_cut_off(grace_rgb), tmp_path / "cut.png")
    window.open_photo(photo)
    qtbot.waitUntil(lambda: bool(dialogs) or (window.session.current is not None and window.last_frame is not None),
                    timeout=WAIT_MS)
    assert not dialogs, dialogs
    faces = window.session.current.analysis.faces
    assert len(faces.faces) == 2 and faces.chosen == 0 and not faces.ambiguous
    assert window.controls.yaw.slider.isEnabled() and window.actions_by_name["export"].isEnabled()
    # Clicking the cut-off face says why it cannot be edited, on the picture too, and keeps the face edited.
    gen = window.session.generation
    click_face(qtbot, window, 1)
    assert "cut off" in window.status_text() and "cut off" in window.viewer.prompt()
    assert window.session.generation == gen and not window.session.running
    assert window.session.current.analysis.faces.chosen == 0


def test_the_click_a_face_prompt_is_on_the_picture(qtbot, window, grace_rgb, tmp_path):
    window.open_photo(save(three_faces(grace_rgb), tmp_path / "three.png"))
    qtbot.waitUntil(lambda: window.session.current is not None, timeout=WAIT_MS)
    assert "click the face" in window.viewer.prompt().lower()
    y0 = max(0, int(window.viewer.photo_rect().top()))
    top = slice(y0, y0 + 60)  # the top of the picture
    with_prompt = grab(window.viewer)[top]
    click_face(qtbot, window, 1)  # the default face: no new analysis, the prompt goes
    assert window.viewer.prompt() == ""
    assert np.abs(grab(window.viewer)[top].astype(int) - with_prompt).max() > 100  # the banner was painted


def test_switching_faces_is_one_undo_step(qtbot, window, grace_rgb, tmp_path):
    window.open_photo(save(three_faces(grace_rgb), tmp_path / "three.png"))
    qtbot.waitUntil(lambda: window.session.current is not None, timeout=WAIT_MS)
    click_face(qtbot, window, 1)
    window.controls.yaw.spin.setValue(10.0)
    assert window.view == View(10.0, 0.0, None)

    def editing(i: int, view: View):
        return lambda: (window.session.current is not None and window.session.current.analysis.faces.chosen == i
                        and window.view == view and window.controls.yaw.slider.isEnabled())

    click_face(qtbot, window, 0)  # another face: a fresh start on it
    qtbot.waitUntil(editing(0, View()), timeout=WAIT_MS)
    assert window.controls.yaw.spin.value() == 0.0
    window.actions_by_name["undo"].trigger()  # back to the first face as it was
    qtbot.waitUntil(editing(1, View(10.0, 0.0, None)), timeout=WAIT_MS)
    assert window.controls.yaw.spin.value() == 10.0
    wait_frame(qtbot, window, View(10.0, 0.0, None))
    window.actions_by_name["undo"].trigger()  # and its own edit
    qtbot.waitUntil(editing(1, View()), timeout=10_000)
    window.actions_by_name["redo"].trigger()
    window.actions_by_name["redo"].trigger()
    qtbot.waitUntil(editing(0, View()), timeout=WAIT_MS)
    assert not window.undo_stack.canRedo()


def test_outlines_stay_off_the_original_and_split_views(qtbot, window, grace_rgb, tmp_path):
    window.open_photo(save(three_faces(grace_rgb), tmp_path / "three.png"))
    qtbot.waitUntil(lambda: window.session.current is not None, timeout=WAIT_MS)
    click_face(qtbot, window, 1)
    wait_ready(qtbot, window)
    v = window.viewer
    faces = window.session.current.analysis.faces

    def with_and_without_outlines() -> tuple[np.ndarray, np.ndarray]:
        shown = grab(v)
        v.set_faces([], -1, False)
        bare = grab(v)
        v.set_faces([f.oval_px for f in faces.faces], faces.chosen, False)
        return shown, bare

    shown, bare = with_and_without_outlines()
    assert not np.array_equal(shown, bare)  # the edited view shows which face is edited
    v.set_show_before(True)
    shown, bare = with_and_without_outlines()
    assert np.array_equal(shown, bare)
    v.set_show_before(False)
    window.actions_by_name["split"].trigger()
    shown, bare = with_and_without_outlines()
    assert np.array_equal(shown, bare)
