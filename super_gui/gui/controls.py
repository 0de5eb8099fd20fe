"""The side panel: head pose and lens sliders with numeric fields, the capture camera estimates, and
the export options.

Sliders work in integer steps (0.1 degree; the focal on a log scale), the spin boxes show the value.
Every user change is reported as one ``viewEdited(View, drag_id, draft)``: ``drag_id`` is the same for
all the moves of one slider drag (so undo can merge them) and ``draft`` is true while a slider is held.
Setting values from code (undo, a new photo) is silent.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPushButton, QSizePolicy, QSlider, QSpinBox, QStyle, QStyleOptionSlider, QStylePainter,
                               QVBoxLayout, QWidget)

from super_gui.core.camera import UNDISTORT_FOCAL_MM, View
from super_gui.app.pipeline import MAX_FOCAL_MM, PITCH_RANGE, YAW_RANGE

FOCAL_STEPS = 1000
CAPTURE_SETTLE_MS = 600  # arrow clicks / wheel steps on a capture field: analyse once they pause this long
UNSUPPORTED_COLOUR = QColor(214, 72, 60)  # the track beyond what the photo supports (red: amber is the accent)
SOURCE_WORDS = {"exif-35mm": "from EXIF", "exif-focal-length": "from EXIF x crop", "default": "phone default",
                "user": "set by you", "iris": "from the eyes"}


class ResettableSlider(QSlider):
    """A slider that asks to be reset on double-click, and draws the parts of its track outside the range
    the photo supports (:meth:`set_supported`, in slider steps) in a warning colour. The whole range
    stays usable: the user decides."""

    resetRequested = Signal()

    def __init__(self, orientation: Qt.Orientation):
        super().__init__(orientation)
        self._supported: tuple[int, int] | None = None

    def mouseDoubleClickEvent(self, event) -> None:
        self.resetRequested.emit()
        event.accept()

    def set_supported(self, steps: tuple[int, int] | None) -> None:
        """The supported part of the track, (low, high) in steps; None: all of it (nothing is marked)."""
        self._supported = None if steps is None else (max(self.minimum(), steps[0]), min(self.maximum(), steps[1]))
        self.update()

    def supported(self) -> tuple[int, int] | None:
        return self._supported

    def unsupported_spans(self) -> list[tuple[int, int]]:
        """The parts of the track drawn in the warning colour, as (low, high) step ranges."""
        if self._supported is None:
            return []
        lo, hi = self._supported
        return [s for s in ((self.minimum(), lo), (hi, self.maximum())) if s[1] > s[0]]

    def paintEvent(self, event) -> None:
        spans = self.unsupported_spans()
        if not spans or self.orientation() != Qt.Orientation.Horizontal:
            super().paintEvent(event)
            return
        painter = QStylePainter(self)
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        style, cc = self.style(), QStyle.ComplexControl.CC_Slider
        opt.subControls = QStyle.SubControl.SC_SliderGroove
        painter.drawComplexControl(cc, opt)  # the groove, then the marks over it, then the handle on top
        groove = style.subControlRect(cc, opt, QStyle.SubControl.SC_SliderGroove, self)
        handle = style.subControlRect(cc, opt, QStyle.SubControl.SC_SliderHandle, self)
        span = groove.width() - handle.width()
        x_at = lambda v: groove.x() + handle.width() // 2 + QStyle.sliderPositionFromValue(  # noqa: E731
            self.minimum(), self.maximum(), v, span, opt.upsideDown)
        band = max(4, groove.height() // 2 + 1)
        y = groove.center().y() - band // 2 + 1
        colour = QColor(UNSUPPORTED_COLOUR)
        if not self.isEnabled():
            colour.setAlpha(90)
        for lo, hi in spans:
            a, b = sorted((x_at(lo), x_at(hi)))
            if lo == self.minimum():
                a = groove.left()
            if hi == self.maximum():
                b = groove.right()
            painter.fillRect(QRect(a, y, max(1, b - a), band), colour)
        opt.subControls = QStyle.SubControl.SC_SliderHandle
        if self.tickPosition() != QSlider.TickPosition.NoTicks:
            opt.subControls |= QStyle.SubControl.SC_SliderTickmarks
        painter.drawComplexControl(cc, opt)


class SliderRow:
    """A labelled slider with a spin box; ``to_steps``/``from_steps`` map values to slider positions."""

    def __init__(self, grid: QGridLayout, row: int, label: str, suffix: str, lo: float, hi: float, default: float,
                 log: bool = False, tip: str = ""):
        self.lo, self.hi, self.default, self.log = lo, hi, default, log
        self.label = QLabel(label)
        self.slider = ResettableSlider(Qt.Orientation.Horizontal)
        self.tip = tip + " Double-click to reset; arrow keys nudge."
        self.slider.setToolTip(self.tip)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(1)
        self.spin.setSuffix(suffix)
        self.spin.setKeyboardTracking(False)
        self.spin.setAccelerated(True)
        self.spin.setToolTip(tip)
        self.spin.setMinimumWidth(84)
        self.label.setBuddy(self.slider)
        grid.addWidget(self.label, row, 0)
        grid.addWidget(self.slider, row, 1)
        grid.addWidget(self.spin, row, 2)
        self.set_range(lo, hi)

    def set_range(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, max(hi, lo)
        self.slider.blockSignals(True)
        self.spin.blockSignals(True)
        if self.log:
            self.slider.setRange(0, FOCAL_STEPS if self.hi > self.lo else 0)
            self.slider.setSingleStep(10)
            self.slider.setPageStep(100)
            self.spin.setSingleStep(1.0)
        else:
            self.slider.setRange(round(lo * 10), round(hi * 10))
            self.slider.setSingleStep(10)
            self.slider.setPageStep(50)
            self.spin.setSingleStep(0.5)
        self.spin.setRange(self.lo, self.hi)
        self.slider.blockSignals(False)
        self.spin.blockSignals(False)

    def set_supported(self, lo: float | None, hi: float | None, unit: str = "") -> None:
        """Mark what the photo supports (None: forget it) on the track and say so in the tooltip."""
        if lo is None or hi is None:
            self.slider.set_supported(None)
            self.slider.setToolTip(self.tip)
            return
        self.slider.set_supported((self.to_steps(lo), self.to_steps(hi)))
        if self.slider.unsupported_spans():
            fmt = (lambda v: f"{v:+.0f}{unit}") if not self.log else (lambda v: f"{v:.0f}{unit}")
            self.slider.setToolTip(
                f"{self.tip}\nThis photo supports {fmt(lo)} to {fmt(hi)}. On the red part of the track the view "
                "needs more of the head than the photo shows (its side, or skin it saw edge-on and now has to "
                "stretch), so the result may look wrong.")
        else:
            self.slider.setToolTip(f"{self.tip}\nThis photo supports the whole range.")

    def to_steps(self, v: float) -> int:
        if not self.log:
            return round(v * 10)
        if self.hi <= self.lo:
            return 0
        return round(FOCAL_STEPS * math.log(max(v, self.lo) / self.lo) / math.log(self.hi / self.lo))

    def from_steps(self, i: int) -> float:
        if not self.log:
            return i / 10.0
        return round(self.lo * (self.hi / self.lo) ** (i / FOCAL_STEPS), 1) if self.hi > self.lo else self.lo

    def value(self) -> float:
        return round(self.spin.value(), 1)

    def set_value(self, v: float) -> None:
        """Show ``v`` without reporting a change."""
        for w in (self.slider, self.spin):
            w.blockSignals(True)
        self.spin.setValue(v)
        self.slider.setValue(self.to_steps(v))
        for w in (self.slider, self.spin):
            w.blockSignals(False)


class ViewControls(QWidget):
    """Signals: ``viewEdited(View, object drag_id, bool draft)``, ``dragFinished()``,
    ``captureEdited(object focal_mm, object distance_cm)`` (None: use the estimate),
    ``exportRequested()``, ``exportMeshRequested()``."""

    viewEdited = Signal(object, object, bool)
    dragFinished = Signal()
    captureEdited = Signal(object, object)
    exportRequested = Signal()
    exportMeshRequested = Signal()
    qualityOriginalChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.capture_focal = 26.0
        self._drag_id = 0
        self._held: SliderRow | None = None
        layout = QVBoxLayout(self)

        head = QGroupBox("Head")
        g = QGridLayout(head)
        self.yaw = SliderRow(g, 0, "&Yaw", " °", *YAW_RANGE, 0.0, tip="Turn the head: + moves the nose to the right.")
        self.pitch = SliderRow(g, 1, "&Pitch", " °", *PITCH_RANGE, 0.0, tip="Tilt the head: + lifts the chin.")
        layout.addWidget(head)

        lens = QGroupBox("Lens")
        g = QGridLayout(lens)
        self.focal = SliderRow(g, 0, "&Focal", " mm", 26.0, MAX_FOCAL_MM, 26.0, log=True,
                               tip="Virtual lens (35 mm-equivalent); the camera moves back so the face keeps its size.")
        buttons = QHBoxLayout()
        self.undistort = QPushButton(f"&Undistort ({UNDISTORT_FOCAL_MM:g} mm)")
        self.undistort.setToolTip("The one-click fix: a portrait lens from farther away, same face size.")
        self.undistort_all = QPushButton("Undistort &All Faces")
        self.undistort_all.setToolTip(f"The portrait-lens fix ({UNDISTORT_FOCAL_MM:g} mm) for every face that can be edited.")
        self.undistort_all.setVisible(False)  # (a photo with several faces)
        self._several_faces = False
        self.reset = QPushButton("&Reset")
        self.reset.setToolTip("Back to the photo as taken.")
        buttons.addWidget(self.undistort, 2)
        buttons.addWidget(self.reset, 1)
        g.addLayout(buttons, 1, 0, 1, 3)
        g.addWidget(self.undistort_all, 2, 0, 1, 3)  # (under Undistort: the panel is narrow)
        layout.addWidget(lens)

        capture = self.capture_box = QGroupBox("Capture camera (estimated)")
        form = QFormLayout(capture)
        self.capture_focal_spin = _estimate_spin(5.0, 1200.0, " mm", "35 mm-equivalent focal length of the lens that took the photo. Edit to re-analyse.")
        self.capture_focal_source = QLabel()
        self.distance_spin = _estimate_spin(10.0, 2000.0, " cm", "Distance from the camera to the eyes. Edit to re-analyse.")
        self.distance_source = QLabel()
        self.reestimate = QPushButton("Use the estimates")
        self.reestimate.setToolTip("Forget the values you typed and estimate focal and distance again.")
        form.addRow("Focal", self._pair(self.capture_focal_spin, self.capture_focal_source))
        form.addRow("Distance", self._pair(self.distance_spin, self.distance_source))
        form.addRow(self.reestimate)
        layout.addWidget(capture)

        export = self.export_box = QGroupBox("Export")
        form = QFormLayout(export)
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(95)
        self.quality.setToolTip("JPEG quality (PNG and TIFF are lossless).")
        form.addRow("JPEG quality", self.quality)
        self.quality_original = QCheckBox("Same as the original")
        self.quality_original.setToolTip("Write a JPEG with the quality estimated from the original JPEG's "
                                         "quantisation tables (its chroma subsampling is always kept).")
        self.quality_original.toggled.connect(self._quality_original_toggled)
        form.addRow(self.quality_original)  # the whole row: its text names the estimate
        row = QHBoxLayout()
        self.export_button = QPushButton("Export…")
        self.export_mesh_button = QPushButton("Export Mesh…")
        row.addWidget(self.export_button)
        row.addWidget(self.export_mesh_button)
        form.addRow(row)
        layout.addWidget(export)
        layout.addStretch(1)
        tips = self.tips = QLabel("Hold <b>\\</b> to see the original · <b>Ctrl+B</b> before/after split · wheel to zoom, "
                      "drag to pan · <b>Ctrl+0</b> fit · <b>Ctrl+1</b> 100% · double-click a slider to reset · "
                      "arrow keys on the photo turn the head")
        tips.setWordWrap(True)
        tips.setEnabled(False)  # drawn in the dim, disabled text colour
        layout.addWidget(tips)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.setMinimumWidth(300)

        for row in (self.yaw, self.pitch, self.focal):
            row.slider.valueChanged.connect(lambda i, r=row: self._slider_moved(r, i))
            row.slider.sliderPressed.connect(lambda r=row: self._pressed(r))
            row.slider.sliderReleased.connect(self._released)
            row.slider.resetRequested.connect(lambda r=row: self._set_one(r, r.default))
            row.spin.valueChanged.connect(lambda v, r=row: self._set_one(r, v))
        self.undistort.clicked.connect(lambda: self._set_one(self.focal, UNDISTORT_FOCAL_MM))
        self.reset.clicked.connect(self._reset_all)
        # A re-analysis takes about a second: a run of arrow clicks on a capture field asks for one, when
        # the clicks stop (Enter on a typed value likewise waits that moment).
        self._capture_edits: set[str] = set()
        self._capture_timer = QTimer(self)
        self._capture_timer.setSingleShot(True)
        self._capture_timer.setInterval(CAPTURE_SETTLE_MS)
        self._capture_timer.timeout.connect(self._emit_capture)
        self.capture_focal_spin.valueChanged.connect(lambda _: self._capture_changed("focal"))
        self.distance_spin.valueChanged.connect(lambda _: self._capture_changed("distance"))
        self.reestimate.clicked.connect(self._use_estimates)
        self.export_button.clicked.connect(self.exportRequested)
        self.export_mesh_button.clicked.connect(self.exportMeshRequested)
        self.set_editable(False)
        self.clear_capture()

    @staticmethod
    def _pair(a: QWidget, b: QWidget) -> QWidget:
        w = QWidget()
        h = QHBoxLayout(w)
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(a)
        h.addWidget(b, 1)
        return w

    # -- state ---------------------------------------------------------------------------------------

    def view(self) -> View:
        f = self.focal.value()
        return View(self.yaw.value(), self.pitch.value(), None if abs(f - self.capture_focal) < 0.05 else f)

    def set_view(self, view: View) -> None:
        self.yaw.set_value(view.yaw_deg)
        self.pitch.set_value(view.pitch_deg)
        self.focal.set_value(self.capture_focal if view.focal_35mm is None else view.focal_35mm)

    def set_supported(self, supported) -> None:
        """Mark on each slider the range this photo supports (core.coverage.SupportedRanges; None: forget)."""
        rows = ((self.yaw, "yaw", "°"), (self.pitch, "pitch", "°"), (self.focal, "focal", " mm"))
        for row, name, unit in rows:
            rng = None if supported is None else getattr(supported, name)
            row.set_supported(None if rng is None else rng.lo, None if rng is None else rng.hi, unit)

    def set_original_quality(self, quality: int | None) -> None:
        """The open photo's estimated JPEG quality (None: not a JPEG, or no estimate): named on the checkbox."""
        self._original_quality = quality
        self.quality_original.setText("Same as the original" + (f" (about {quality})" if quality else ""))

    def jpeg_quality(self) -> int | str:
        """The export's JPEG quality: 1..100, or "original" (the original JPEG's estimated quality)."""
        return "original" if self.quality_original.isChecked() else self.quality.value()

    def _quality_original_toggled(self, on: bool) -> None:
        self.quality.setEnabled(not on)
        self.qualityOriginalChanged.emit(on)

    def clear_capture(self) -> None:
        """No estimates (no photo, or none could be made): the capture fields are empty and disabled."""
        self._capture_timer.stop()
        self._capture_edits.clear()
        for spin in (self.capture_focal_spin, self.distance_spin):
            spin.set_blank(True)
        for label in (self.capture_focal_source, self.distance_source):
            label.clear()
        for w in (self.capture_focal_spin, self.distance_spin, self.reestimate):
            w.setEnabled(False)

    def has_capture(self) -> bool:
        return not self.capture_focal_spin.blank

    def set_capture(self, focal_mm: float, focal_source: str, distance_cm: float, distance_source: str) -> None:
        """Show the capture camera of the prepared photo; the focal slider starts at its focal."""
        self._capture_timer.stop()
        self._capture_edits.clear()
        self.capture_focal = round(focal_mm, 1)
        for spin, v in ((self.capture_focal_spin, focal_mm), (self.distance_spin, distance_cm)):
            spin.blockSignals(True)
            spin.set_blank(False)
            spin.setValue(v)
            spin.blockSignals(False)
        self.capture_focal_source.setText(SOURCE_WORDS.get(focal_source, focal_source))
        self.distance_source.setText(SOURCE_WORDS.get(distance_source, distance_source))
        self._user_focal = focal_source == "user"
        self._user_distance = distance_source == "user"
        self.focal.set_range(self.capture_focal, max(MAX_FOCAL_MM, self.capture_focal))
        self.focal.default = self.capture_focal
        self.undistort.setEnabled(self.capture_focal < UNDISTORT_FOCAL_MM)

    def _capture_changed(self, which: str) -> None:
        self._capture_edits.add(which)
        self._capture_timer.start()

    def _emit_capture(self) -> None:
        """The capture camera as now typed: a field edited now or earlier is the user's, else None (estimate)."""
        edits, self._capture_edits = self._capture_edits, set()
        focal = round(self.capture_focal_spin.value(), 1) if "focal" in edits or getattr(self, "_user_focal", False) else None
        distance = round(self.distance_spin.value(), 1) if "distance" in edits or getattr(self, "_user_distance", False) else None
        self.captureEdited.emit(focal, distance)

    def _use_estimates(self) -> None:
        self._capture_timer.stop()
        self._capture_edits.clear()
        self.captureEdited.emit(None, None)

    def set_editable(self, on: bool, capture: bool | None = None) -> None:
        """Enable the view controls (a prepared photo) and the capture fields (a loaded photo)."""
        for w in (self.yaw.slider, self.yaw.spin, self.pitch.slider, self.pitch.spin, self.focal.slider, self.focal.spin,
                  self.reset, self.export_button, self.export_mesh_button):
            w.setEnabled(on)
        self.undistort.setEnabled(on and self.capture_focal < UNDISTORT_FOCAL_MM)
        self.undistort_all.setEnabled(on and self._several_faces and self.capture_focal < UNDISTORT_FOCAL_MM)
        capture = on if capture is None else capture
        for w in (self.capture_focal_spin, self.distance_spin, self.reestimate):
            w.setEnabled(capture and not self.capture_focal_spin.blank)
        if not capture:  # another photo or analysis under way: a capture edit still waiting is void
            self._capture_timer.stop()
            self._capture_edits.clear()

    def set_several_faces(self, on: bool) -> None:
        """The photo has several faces that can be edited: Undistort All Faces is shown."""
        self._several_faces = on
        self.undistort_all.setVisible(on)
        self.undistort_all.setEnabled(on and self.undistort.isEnabled())

    def dragging(self) -> bool:
        return self._held is not None

    # -- user edits ----------------------------------------------------------------------------------

    def _pressed(self, row: SliderRow) -> None:
        self._drag_id += 1
        self._held = row

    def _released(self) -> None:
        self._held = None
        self.dragFinished.emit()

    def _slider_moved(self, row: SliderRow, steps: int) -> None:
        v = row.from_steps(steps)
        row.spin.blockSignals(True)
        row.spin.setValue(v)
        row.spin.blockSignals(False)
        held = self._held is row and row.slider.isSliderDown()
        self.viewEdited.emit(self.view(), self._drag_id if held else None, held)

    def _set_one(self, row: SliderRow, v: float) -> None:
        row.set_value(v)
        self.viewEdited.emit(self.view(), None, False)

    def _reset_all(self) -> None:
        self.set_view(View())
        self.viewEdited.emit(self.view(), None, False)


class EstimateSpin(QDoubleSpinBox):
    """A number field for an estimate the user may override, which can also show nothing (no estimate)."""

    def __init__(self, suffix: str):
        super().__init__()
        self._suffix = suffix
        self.blank = False
        self.setSuffix(suffix)

    def set_blank(self, on: bool) -> None:
        """Empty (the field shows nothing, not its minimum) until a value is set with ``set_blank(False)``."""
        if on == self.blank:
            return
        self.blank = on
        was_blocked = self.blockSignals(True)
        if on:
            self.setSpecialValueText(" ")
            self.setSuffix("")
            self.setValue(self.minimum())
        else:
            self.setSpecialValueText("")
            self.setSuffix(self._suffix)
        self.blockSignals(was_blocked)


def _estimate_spin(low: float, high: float, suffix: str, tip: str) -> EstimateSpin:
    """A number field for an estimate the user may override. Typed values count as they are typed: a
    re-analysis starts once the typing (or arrow clicks) pause for CAPTURE_SETTLE_MS, or on Enter."""
    spin = EstimateSpin(suffix)
    spin.setRange(low, high)
    spin.setDecimals(1)
    spin.setKeyboardTracking(True)
    spin.setToolTip(tip)
    return spin
