"""Group photos in the editor: every face has its own edit (a click or Tab selects the face the sliders edit,
one undo step each), Undistort All Faces fixes every face in one step, the preview and the export show every
edited face, only the edited faces must be whole, and the outlines stay off the Original and split views."""

from __future__ import annotations

import shlex

import cv2
import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage

from super_gui.core.camera import UNDISTORT_FOCAL_MM, View
from tests.conftest import four_faces, save, three_faces
from tests.gui.conftest import WAIT_MS, wait_frame, wait_ready

UNDISTORT = View(focal_35mm=UNDISTORT_FOCAL_MM)


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
    centre = window.session.faces.faces.faces[i].oval_px.mean(axis=0)
    pos = window.viewer.to_widget(QPointF(*centre)).toPoint()
    qtbot.mouseClick(window.viewer, Qt.MouseButton.LeftButton, pos=QPoint(pos))


def editing(window, i: int, view: View):
    return lambda: (window.session.current is not None and window.session.current.analysis.faces.chosen == i
                    and window.view == view and window.controls.yaw.slider.isEnabled())


def face_changed(window, frame, i: int) -> bool:
    """The frame differs from the original inside face ``i``'s box (at the frame's scale)."""
    s = frame.scale
    x0, y0, x1, y1 = (int(round(v * s)) for v in window.session.faces.faces.faces[i].bbox)
    return bool((frame.image[y0:y1, x0:x1] != window.session.loaded.original[y0:y1, x0:x1]).any())


def test_a_group_photo_opens_when_another_face_is_cut_off(qtbot, window, grace_rgb, tmp_path, dialogs):
    photo = save(one_cut_off(grace_rgb), tmp_path / "cut.png")
    window.open_photo(photo)
    qtbot.waitUntil(lambda: bool(dialogs) or (window.session.current is not None and window.last_frame is not None),
                    timeout=WAIT_MS)
    assert not dialogs, dialogs
    faces = window.session.current.analysis.faces
    assert len(faces.faces) == 2 and faces.chosen == 0 and not faces.ambiguous
    assert window.controls.yaw.slider.isEnabled() and window.actions_by_name["export"].isEnabled()
    assert not window.controls.undistort_all.isVisible() and not window.actions_by_name["undistort_all"].isEnabled()
    # Clicking the cut-off face says why it cannot be edited, on the picture too, and keeps the face edited.
    y0 = max(0, int(window.viewer.photo_rect().top()))
    top = slice(y0, y0 + 60)  # the top of the picture
    before = grab(window.viewer)[top]
    gen = window.session.generation
    click_face(qtbot, window, 1)
    assert "cut off" in window.status_text() and "cut off" in window.viewer.prompt()
    assert np.abs(grab(window.viewer)[top].astype(int) - before).max() > 100  # the banner was painted
    assert window.session.generation == gen and not window.session.running
    assert window.session.current.analysis.faces.chosen == 0 and window.undo_stack.count() == 0
    assert not window.select_next_face(1)  # Tab: no other face to go to (it moves the keyboard focus as usual)


def test_a_group_photo_is_editable_at_once_on_its_largest_face(qtbot, window, grace_rgb, tmp_path):
    window.open_photo(save(three_faces(grace_rgb), tmp_path / "three.png"))
    wait_ready(qtbot, window)
    faces = window.session.current.analysis.faces
    assert len(faces.faces) == 3 and faces.chosen == 1  # several of similar size: the largest, no question
    assert window.viewer.prompt() == "" and "press Tab" in window.status_text()
    assert window.controls.yaw.slider.isEnabled() and window.actions_by_name["export"].isEnabled()
    assert window.controls.undistort_all.isVisible() and window.controls.undistort_all.isEnabled()
    assert window.actions_by_name["undistort_all"].isEnabled()
    assert window.session.faces.prepared(0) is None  # the other faces are fitted when they are needed


def test_each_face_keeps_its_own_edit_and_every_switch_is_an_undo_step(qtbot, window, grace_rgb, tmp_path):
    window.open_photo(save(three_faces(grace_rgb), tmp_path / "three.png"))
    wait_ready(qtbot, window)
    window.controls.yaw.spin.setValue(10.0)
    assert window.view == View(10.0, 0.0, None)
    click_face(qtbot, window, 0)  # another face: fitted now, with a fresh start
    qtbot.waitUntil(editing(window, 0, View()), timeout=WAIT_MS)
    assert window.controls.yaw.spin.value() == 0.0
    window.controls.yaw.spin.setValue(-8.0)
    wait_frame(qtbot, window, View(-8.0, 0.0, None))
    qtbot.waitUntil(lambda: not window.last_frame.draft and face_changed(window, window.last_frame, 1), timeout=30_000)
    frame = window.last_frame  # the preview shows both faces' edits, and leaves the third face alone
    assert face_changed(window, frame, 0) and face_changed(window, frame, 1) and not face_changed(window, frame, 2)
    assert window.face_views == {1: View(10.0, 0.0, None), 0: View(-8.0, 0.0, None)}

    undo = window.actions_by_name["undo"].trigger
    undo()  # face 0's edit
    qtbot.waitUntil(editing(window, 0, View()), timeout=10_000)
    undo()  # back to face 1, with its edit: fitted already, at once
    assert editing(window, 1, View(10.0, 0.0, None))() and not window.session.running
    assert window.controls.yaw.spin.value() == 10.0
    undo()  # and its own edit
    qtbot.waitUntil(editing(window, 1, View()), timeout=10_000)
    for _ in range(3):
        window.actions_by_name["redo"].trigger()
    qtbot.waitUntil(editing(window, 0, View(-8.0, 0.0, None)), timeout=WAIT_MS)
    assert not window.undo_stack.canRedo() and window.face_views[1] == View(10.0, 0.0, None)


def test_tab_and_shift_tab_go_through_the_faces(qtbot, window, grace_rgb, tmp_path):
    window.open_photo(save(three_faces(grace_rgb), tmp_path / "three.png"))
    wait_ready(qtbot, window)
    window.viewer.setFocus()
    for key, modifier, face in ((Qt.Key.Key_Tab, Qt.KeyboardModifier.NoModifier, 2),
                                (Qt.Key.Key_Tab, Qt.KeyboardModifier.NoModifier, 0),  # round to the first
                                (Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier, 2)):
        qtbot.keyClick(window.viewer, key, modifier)
        qtbot.waitUntil(editing(window, face, View()), timeout=WAIT_MS)
        assert window.viewer.hasFocus()  # the photo keeps the keyboard: Tab went to the faces, not the next field
    assert window.undo_stack.count() == 3


def test_undistort_all_faces_is_one_step_and_the_export_has_every_face(qtbot, window, grace_rgb, tmp_path):
    from super_gui.cli import main

    photo = save(four_faces(grace_rgb), tmp_path / "four.png")
    window.open_photo(photo)
    wait_ready(qtbot, window)
    window.controls.yaw.spin.setValue(6.0)  # face 1 turned first: it keeps its turn
    window.actions_by_name["undistort_all"].trigger()  # the other three are fitted first (progress, Cancel)
    every = {0: UNDISTORT, 1: View(6.0, 0.0, UNDISTORT_FOCAL_MM), 2: UNDISTORT, 3: UNDISTORT}
    qtbot.waitUntil(lambda: window.face_views == every, timeout=WAIT_MS * 2)
    wait_frame(qtbot, window, every[1])
    assert all(face_changed(window, window.last_frame, i) for i in range(4))
    assert window.undo_stack.undoText() == "Undistort all faces"

    out = tmp_path / "four_edited.png"
    assert window.export_to(out)
    qtbot.waitUntil(lambda: window.last_report is not None, timeout=WAIT_MS)
    report = window.last_report
    assert report["settings"]["face"] == [1, 0, 2, 3]  # the edited face first, then the others
    assert [f["view"]["focal_35mm"] for f in report["faces"]] == [UNDISTORT_FOCAL_MM] * 4
    original = cv2.imread(str(photo))
    edited = cv2.imread(str(out))
    for f in report["faces"]:
        x0, y0, x1, y1 = (int(v) for v in f["box"])
        assert (edited[y0:y1, x0:x1] != original[y0:y1, x0:x1]).any(), f["index"]
    # The sidecar's command writes the same file, byte for byte.
    words = shlex.split(report["reproduce"])
    again = tmp_path / "again.png"
    words[words.index("-o") + 1] = str(again)
    assert main(words[2:]) == 0
    assert again.read_bytes() == out.read_bytes()

    window.actions_by_name["undo"].trigger()  # every face back as it was, in one step
    qtbot.waitUntil(lambda: window.view == View(6.0, 0.0, None) and window.face_views.get(0, View()) == View(), timeout=10_000)
    assert all(window.face_views.get(i, View()) == View() for i in (0, 2, 3))


def test_outlines_stay_off_the_original_and_split_views(qtbot, window, grace_rgb, tmp_path):
    window.open_photo(save(three_faces(grace_rgb), tmp_path / "three.png"))
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
