"""Choosing the face to edit, for the editor window (a mixin of
:class:`~super_gui.gui.main_window.MainWindow`): the face outlines on the photo, a click on one (the first
choice in a group photo, or a switch that is one undo step) and the new analysis it starts.

It only reacts to the viewer's clicks and asks the session to analyse again; it must not analyse, render
or hold photo state itself (that is the session's), nor build widgets (that is the window's).
"""

from __future__ import annotations

from super_gui.core.camera import View
from super_gui.gui.undo import FaceCommand


class FacePickMixin:
    def _show_faces(self) -> None:
        faces = self.session.current.analysis.faces
        self.viewer.set_faces([f.oval_px for f in faces.faces], faces.chosen, self._picking,
                              [faces.usable(i) for i in range(len(faces.faces))])

    def _on_face_picked(self, index: int) -> None:
        if self.session.current is None or self.session.running:
            return
        faces = self.session.current.analysis.faces
        if not faces.usable(index):
            problem = faces.problems[index]
            why = problem.split(" is ", 1)[1] if " is " in problem else problem
            message = f"Face {index + 1} cannot be edited: it is {why}"
            self.set_status(message)
            self.viewer.set_prompt(message.split(";")[0] + (": click another face" if self._picking else ""))
            return
        if index == faces.chosen:
            if self._picking:  # the default face was the right one: no need to analyse again
                self._picking = False
                self.session.face_index = index
                self._show_faces()
                self.viewer.set_prompt(None)
                self._set_editable(True)
                self.set_status(f"Editing face {index + 1}.")
                self._update_actions()
            return
        if self._picking:  # the first choice of face: nothing to undo yet
            self._switch_face(index, View())
        else:  # one undo step: undo goes back to this face as it is now
            self.undo_stack.push(FaceCommand((faces.chosen, self.view), (index, View()), self._switch_face))

    def _switch_face(self, index: int, view: View) -> None:
        """Edit face ``index`` (analysed again), starting from ``view``."""
        self._view_after_prepare = view
        self.viewer.set_prompt(None)
        self._show_progress(0.0, f"Analysing face {index + 1}…", cancellable=True)
        self._set_editable(False, capture=False)
        s = self.session
        s.reprepare(face_index=index, capture_focal=s.capture_focal, distance_cm=s.distance_cm)
        self._update_actions()
