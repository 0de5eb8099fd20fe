"""Undo commands: every settings change is one command on the window's QUndoStack.

All the moves of one slider drag merge into one command (the drag's id); the first ``redo`` (when the
command is pushed) is a no-op because the controls already show the new value.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QUndoCommand

from super_gui.core.camera import View

VIEW_COMMAND_ID = 1


def describe(view: View) -> str:
    parts = []
    if view.yaw_deg:
        parts.append(f"yaw {view.yaw_deg:+g}°")
    if view.pitch_deg:
        parts.append(f"pitch {view.pitch_deg:+g}°")
    if view.focal_35mm is not None:
        parts.append(f"{view.focal_35mm:g} mm")
    return ", ".join(parts) or "the photo as taken"


class ViewCommand(QUndoCommand):
    """Change the view from ``old`` to ``new``; ``apply(view)`` shows a view (controls + render)."""

    def __init__(self, old: View, new: View, drag_id: int | None, apply: Callable[[View], None]):
        super().__init__(f"View: {describe(new)}")
        self.old, self.new, self.drag_id, self._apply = old, new, drag_id, apply
        self._pushed = False

    def id(self) -> int:
        return VIEW_COMMAND_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, ViewCommand) or self.drag_id is None or other.drag_id != self.drag_id:
            return False
        self.new = other.new
        self.setText(f"View: {describe(self.new)}")
        return True

    def redo(self) -> None:
        if self._pushed:
            self._apply(self.new)
        self._pushed = True

    def undo(self) -> None:
        self._apply(self.old)


class CaptureCommand(QUndoCommand):
    """Change the capture camera overrides (focal mm, distance cm; None = estimate): re-analyses."""

    def __init__(self, old: tuple, new: tuple, apply: Callable[[tuple], None]):
        super().__init__("Capture camera")
        self.old, self.new, self._apply = old, new, apply

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)


class FaceCommand(QUndoCommand):
    """Switch the edited face of a group photo from face ``old`` to face ``new`` (indices from the left). Each
    face keeps its own view, so undo goes back to the old face with its edit as it is then; the view steps
    below this one on the stack always meet the face they were made on."""

    def __init__(self, old: int, new: int, apply: Callable[[int], None]):
        super().__init__(f"Edit face {new + 1}")
        self.old, self.new, self._apply = old, new, apply

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)


class FaceViewsCommand(QUndoCommand):
    """Change the views of several faces at once (Undistort All Faces): ``old`` and ``new`` map face index ->
    View; ``apply(views)`` shows them."""

    def __init__(self, text: str, old: dict[int, View], new: dict[int, View], apply: Callable[[dict], None]):
        super().__init__(text)
        self.old, self.new, self._apply = dict(old), dict(new), apply

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)
