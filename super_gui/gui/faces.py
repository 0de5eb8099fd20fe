"""Every face of a group photo, for the editor window (a mixin of :class:`~super_gui.gui.main_window.MainWindow`):
the face outlines on the photo (a check mark on each face with an edit of its own), choosing the face the
sliders edit (a click on its outline, or Tab / Shift+Tab through the faces that can be edited; one undo step),
each face's own view (:attr:`FacePickMixin.view` is the edited face's; the others are kept in
:attr:`FacePickMixin.face_views`), and Undistort All Faces (the portrait-lens fix for every usable face, one
undo step; faces not fitted yet are fitted first, with progress and Cancel). The other faces' edits go to the
session (``EditSession.other_edits``), which draws and exports them with the edited face's.

It only reacts to clicks and keys and keeps the views; finding, fitting and rendering faces are the session's,
and it builds no widgets (the window's and the side panel's).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt

from super_gui.core.camera import UNDISTORT_FOCAL_MM, View
from super_gui.gui.undo import FaceCommand, FaceViewsCommand


class _TabThroughFaces(QObject):
    """On the photo, Tab and Shift+Tab edit the next and the previous face (in a photo with several)."""

    def __init__(self, window):
        super().__init__(window)
        self._window = window

    def eventFilter(self, obj, event) -> bool:
        if event.type() != QEvent.Type.KeyPress or event.key() not in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
            return False
        mods = event.modifiers()
        if mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            return False
        back = event.key() == Qt.Key.Key_Backtab or bool(mods & Qt.KeyboardModifier.ShiftModifier)
        return self._window.select_next_face(-1 if back else 1)


class FacePickMixin:
    def _init_faces(self) -> None:
        """Wire the faces to the session, the photo and the side panel (once, from the window's constructor)."""
        s = self.session
        s.edited_faces = self.edited_faces
        s.other_edits = self.other_edits
        s.photoLoaded.connect(self._forget_face_views)
        s.facesReady.connect(self._on_faces_ready)
        s.cancelled.connect(self._forget_pending_all)
        s.failed.connect(self._forget_pending_all)
        self._tab_filter = _TabThroughFaces(self)
        self.viewer.installEventFilter(self._tab_filter)
        self.controls.undistort_all.clicked.connect(self.undistort_all_faces)

    # -- each face's view ---------------------------------------------------------------------------

    @property
    def view(self) -> View:
        """The view the sliders show: the edited face's."""
        return self.__dict__.get("_shown_view", View())

    @view.setter
    def view(self, view: View) -> None:
        self.__dict__["_shown_view"] = view
        i = self.edited_face()
        if i is not None:
            had = self._has_edit(i)
            self.face_views[i] = view
            if had != self._has_edit(i):
                self._show_faces()  # its check mark

    @property
    def face_views(self) -> dict[int, View]:
        """Every face's view, by index from the left (a face never edited has none)."""
        return self.__dict__.setdefault("_face_views", {})

    def edited_face(self) -> int | None:
        """The face the sliders edit (None while one is being fitted)."""
        current = getattr(getattr(self, "session", None), "current", None)
        return None if current is None else current.analysis.faces.chosen

    def _has_edit(self, index: int) -> bool:
        faces, view = self.session.faces, self.face_views.get(index)
        return view is not None and faces is not None and not view.is_identity(faces.focal.focal_35mm)

    def edited_faces(self) -> list[int]:
        """The faces with an edit of their own."""
        return [i for i in sorted(self.face_views) if self._has_edit(i)]

    def other_edits(self) -> tuple:
        """The other faces' edits, drawn and exported with the edited face's: (Prepared, View) each."""
        faces, chosen = self.session.faces, self.edited_face()
        if faces is None:
            return ()
        edits = []
        for i in self.edited_faces():
            prepared = faces.prepared(i) if i != chosen else None
            if prepared is not None:
                edits.append((prepared, self.face_views[i]))
        return tuple(edits)

    def _forget_face_views(self, *_) -> None:
        self.face_views.clear()
        self._all_pending = False

    # -- outlines and choosing a face ---------------------------------------------------------------

    def _show_faces(self) -> None:
        if self.session.current is None:
            return
        faces = self.session.current.analysis.faces
        n = len(faces.faces)
        self.viewer.set_faces([f.oval_px for f in faces.faces], faces.chosen, self._picking,
                              [faces.usable(i) for i in range(n)], [self._has_edit(i) for i in range(n)])
        self.controls.set_several_faces(len(faces.usable_indices) > 1)

    def _faces_status(self, faces) -> str:
        """The status line once a face is ready."""
        n = len(faces.usable_indices)
        if n < 2:
            return "Ready." + (f" {len(faces.faces)} faces; the others cannot be edited." if len(faces.faces) > 1 else "")
        return (f"Editing face {faces.chosen + 1} ({n} faces can be edited): click a face or press Tab to edit "
                "another; Undistort All Faces fixes every one.")

    def _on_face_picked(self, index: int) -> None:
        if self.session.current is None or self.session.running:
            return
        faces = self.session.current.analysis.faces
        if not faces.usable(index):
            problem = faces.problems[index]
            why = problem.split(" is ", 1)[1] if " is " in problem else problem
            message = f"Face {index + 1} cannot be edited: it is {why}"
            self.set_status(message)
            self.viewer.set_prompt(message.split(";")[0])
            return
        self.viewer.set_prompt(None)
        if index != faces.chosen:  # one undo step: undo goes back to this face with its own edit
            self.undo_stack.push(FaceCommand(faces.chosen, index, self._select_face))

    def select_next_face(self, step: int) -> bool:
        """Edit the next (``step`` 1) or previous (-1) face that can be edited; False when there is none to go to."""
        current = self.session.current
        if current is None or self.session.running:
            return False
        faces = current.analysis.faces
        usable = faces.usable_indices
        if len(usable) < 2:
            return False
        k = usable.index(faces.chosen) if faces.chosen in usable else -1
        self._on_face_picked(usable[(k + step) % len(usable)])
        return True

    def _select_face(self, index: int) -> None:
        """Edit face ``index`` with its own view (fitted first if it never was)."""
        self._view_after_prepare = self.face_views.get(index, View())
        self.viewer.set_prompt(None)
        if not self.session.select_face(index):
            self._show_progress(0.0, f"Fitting face {index + 1}…", cancellable=True)
            self._set_editable(False, capture=False)
        self._update_actions()

    # -- Undistort All Faces ------------------------------------------------------------------------

    def undistort_all_faces(self) -> None:
        """The portrait-lens fix for every face that can be edited (each keeps its turn), one undo step."""
        s = self.session
        if s.current is None or s.faces is None or s.running:
            return
        self._all_pending = True
        if not s.prepare_faces(list(s.faces.usable)):
            self._show_progress(0.0, "Fitting every face…", cancellable=True)
            self._update_actions()

    def _on_faces_ready(self, prepared: list) -> None:
        if not getattr(self, "_all_pending", False):
            return
        self._all_pending = False
        old = {i: v for i, v in self.face_views.items()}
        new = dict(old)
        for p in prepared:
            i = p.analysis.faces.chosen
            v = old.get(i, View())
            new[i] = View(v.yaw_deg, v.pitch_deg, UNDISTORT_FOCAL_MM)
        if new != old:
            self.undo_stack.push(FaceViewsCommand("Undistort all faces", old, new, self._apply_face_views))
        self.set_status(f"Undistorted {len(prepared)} faces ({UNDISTORT_FOCAL_MM:g} mm lens).")

    def _forget_pending_all(self, *_) -> None:
        self._all_pending = False

    def _apply_face_views(self, views: dict) -> None:
        chosen = self.edited_face()
        self.face_views.clear()
        self.face_views.update(views)
        self.set_view(views.get(chosen, View()) if chosen is not None else self.view)
        self._show_faces()

    def _update_face_actions(self, ready: bool) -> None:
        faces = self.session.faces
        several = faces is not None and len(faces.usable) > 1
        action = self.actions_by_name.get("undistort_all")
        if action is not None:
            action.setEnabled(ready and several and not self.session.running
                              and self.controls.capture_focal < UNDISTORT_FOCAL_MM)
