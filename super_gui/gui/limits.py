"""Honest limits in the status bar (DESIGN.md §9): whether the view asked for lies outside what this photo
supports, and how well the current view keeps the person's identity.

* *Range*: the photo's supported slider ranges (core.coverage, computed once when it is prepared) are
  compared with the view on every change (plain comparisons, nothing computed on the drag path); a
  settled frame also brings its own coverage, which catches combinations (a turn *and* a lift) that each
  slider alone allows.
* *Identity*: the face-embedding distance between the original and the settled frame on screen
  (gui.identity_thread), hidden while there is none for the current view, greyed while it is for an
  earlier view, hidden for good (with a one-line note) where the model cannot be had.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QStatusBar

from super_gui.core.camera import View
from super_gui.core.identity import DRIFTING, SAME_PERSON, identity_available, identity_text

OUTSIDE_TEXT = "Outside the range this photo supports"
# "warn": drifting; "bad": outside the range (the red of the slider tracks), not the same face. Presentation mode
# swaps in lighter ones (set_colours) that keep 7:1 on its background.
COLOURS = {"warn": (240, 150, 60), "bad": (240, 95, 80)}


class LimitsReadout(QObject):
    """The two status-bar readouts. Signals: ``identityShown(float)`` when a reading for the view on
    screen is displayed."""

    identityShown = Signal(float)

    def __init__(self, bar: QStatusBar, parent: QObject | None = None):
        super().__init__(parent)
        self._bar = bar
        self.colours = dict(COLOURS)
        self._identity_level = ""
        self.range_label = QLabel(OUTSIDE_TEXT)
        self.range_label.setStyleSheet(self._style("bad"))
        self.range_label.setToolTip(
            "Beyond this photo's range the view needs more of the head than the photo shows: the side of the "
            "head, or skin it saw edge-on and has to stretch. The red parts of the slider tracks mark it. "
            "You can still go there; check the result.")
        self.identity_label = QLabel()
        self.identity_label.setToolTip(
            "How far the face in this view is from the original's (face-embedding distance, dlib's "
            "face-recognition model): below 0.4 the same person, 0.4-0.6 drifting, 0.6 and above no longer "
            "the same face. Measured on each settled frame.")
        bar.addPermanentWidget(self.range_label)
        bar.addPermanentWidget(self.identity_label)
        self.range_label.hide()
        self.identity_label.hide()
        self.note = identity_available()  # None, or why the readout is off
        self.identity_on = self.note is None
        if not self.identity_on:
            self._say_off(self.note)
        self._supported = None
        self._capture_focal = 0.0
        self._view: View | None = None
        self._coverage: tuple[View, float] | None = None  # the last settled frame's view and coverage
        self.last_distance: float | None = None

    # -- the photo and the view ----------------------------------------------------------------------

    def set_photo(self, prepared) -> None:
        """A prepared photo (None: none yet): its supported ranges; the readouts start afresh."""
        self._supported = None if prepared is None else prepared.supported
        self._capture_focal = 0.0 if prepared is None else prepared.analysis.focal.focal_35mm
        self._coverage = None
        self.last_distance = None
        self.identity_label.hide()
        self._update_range()

    def set_view(self, view: View) -> None:
        """The view the controls now ask for (every slider move: cheap)."""
        self._view = view
        self._update_range()
        self.identity_label.setEnabled(False)  # the reading shown is of an earlier view

    def frame_shown(self, frame) -> None:
        """A frame is on screen; a settled one carries its coverage."""
        if not frame.draft and frame.coverage is not None:
            self._coverage = (frame.view, frame.coverage)
            self._update_range()

    def outside(self) -> list[str]:
        """Why the current view is outside what the photo supports (empty: it is not)."""
        if self._supported is None or self._view is None:
            return []
        names = self._supported.outside(self._view, self._capture_focal)
        if not names and self._coverage is not None and self._coverage[0] == self._view \
                and self._coverage[1] < self._supported.min_coverage:
            names = ["this combination"]
        return names

    def _update_range(self) -> None:
        names = self.outside()
        if names:
            self.range_label.setText(f"{OUTSIDE_TEXT} ({', '.join(names)})")
        self.range_label.setVisible(bool(names))

    # -- identity ------------------------------------------------------------------------------------

    def identity_measured(self, result) -> None:
        if result.view != self._view:
            return  # for a view no longer asked for; the current view's reading follows
        if result.distance is None:
            self.identity_label.hide()
            return
        d = result.distance
        self.last_distance = d
        self.identity_label.setText(identity_text(d))
        self._identity_level = "" if d < DRIFTING else "warn" if d < SAME_PERSON else "bad"
        self.identity_label.setStyleSheet(self._style(self._identity_level))
        self.identity_label.setEnabled(True)
        self.identity_label.show()
        self.identityShown.emit(d)

    def _style(self, level: str) -> str:
        return f"color: rgb{self.colours[level]};" if level else ""

    def set_colours(self, colours: dict) -> None:
        """The warning colours, {"warn": (r, g, b), "bad": (r, g, b)} (presentation mode's, or COLOURS)."""
        self.colours = dict(colours)
        self.range_label.setStyleSheet(self._style("bad"))
        self.identity_label.setStyleSheet(self._style(self._identity_level))

    def identity_unavailable(self, note: str) -> None:
        self.identity_on = False
        self.identity_label.hide()
        self._say_off(note)

    def _say_off(self, note: str) -> None:
        self.note = note
        print(f"super_gui: {note}", file=sys.stderr)
        self._bar.showMessage(note, 10_000)
