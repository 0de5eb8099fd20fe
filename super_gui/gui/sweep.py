"""View > Sweep: the editor shows off by itself. The head turns ±20° while the lens goes from the capture focal to
135 mm and back, in a smooth loop, until any key, click, wheel or touch stops it (and is spent on stopping it).
Where the photo supports less (its slider ranges, core.coverage: Grace Hopper's yaw ends near ±18°), the loop
stays inside them, but never turns less than ±:data:`MIN_YAW`: a loop is for looking good.

The loop drives the window's own sliders (shown, not edited: no undo steps) and asks the render thread for one
frame at a time: a QTimer asks for the next view only once the previous frame is on screen, so frames never
queue and the loop runs at whatever rate the preview renders. It moves with the clock (one loop every
:data:`PERIOD_S` seconds) but never more than :data:`MAX_STEP` of a loop per frame, so a slow renderer makes it
slower, not jerky. Stopping gives the window back the view it had before.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QEvent, QObject, QPoint, QTimer, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QApplication

from super_gui.app.pipeline import MAX_FOCAL_MM
from super_gui.core.camera import View

SWEEP_YAW = 20.0  # degrees each way
MIN_YAW = 8.0  # ... or as far as the photo supports, but at least this
SWEEP_FOCAL = 135.0  # mm at the far end of the loop
PERIOD_S = 8.0  # one loop: right, back with the long lens, left, back with the capture lens
MAX_STEP = 1 / 160  # of a loop per frame at most (< 0.8° of yaw)
TICK_MS = 8  # how often the timer looks whether the last frame has arrived
STALL_S = 2.0  # a frame not back by then (dropped) is asked for again
DRAFT = False  # full preview frames: the loop is for looking at
MOVE_SLOP_PX = 12  # the pointer moved this far counts as input (a nudge of the table does not)
_INPUT = {QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride, QEvent.Type.MouseButtonPress,
          QEvent.Type.MouseButtonDblClick, QEvent.Type.Wheel, QEvent.Type.TouchBegin, QEvent.Type.TabletPress}
_KEYS = {QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride, QEvent.Type.KeyRelease}


def sweep_view(phase: float, capture_focal: float, pitch: float = 0.0,
               yaw_span: tuple[float, float] = (-SWEEP_YAW, SWEEP_YAW), top_focal: float = SWEEP_FOCAL) -> View:
    """The view at ``phase`` (0..1) of the loop: yaw sin·``yaw_span`` (to the right, then the left), and the focal
    from the capture focal to ``top_focal`` and back (on a log scale, as the slider) with (1 - cos)/2, so the lens
    is longest when the head faces the camera."""
    a = 2 * math.pi * (phase % 1.0)
    yaw = math.sin(a) * (yaw_span[1] if math.sin(a) >= 0 else -yaw_span[0])
    top = min(max(top_focal, capture_focal), MAX_FOCAL_MM)
    t = (1 - math.cos(a)) / 2
    focal = capture_focal * (top / capture_focal) ** t
    return View(round(yaw, 2), pitch, None if focal - capture_focal < 0.05 else round(focal, 2))


def sweep_limits(prepared) -> tuple[tuple[float, float], float]:
    """The loop's yaw span and longest focal for ``prepared``: ±SWEEP_YAW and SWEEP_FOCAL, within what the photo
    supports (``prepared.supported``; yaw never less than ±MIN_YAW)."""
    supported = getattr(prepared, "supported", None)
    if supported is None:
        return (-SWEEP_YAW, SWEEP_YAW), SWEEP_FOCAL
    lo = -min(SWEEP_YAW, max(MIN_YAW, -supported.yaw.lo))
    hi = min(SWEEP_YAW, max(MIN_YAW, supported.yaw.hi))
    return (lo, hi), min(SWEEP_FOCAL, supported.focal.hi)


class Sweep(QObject):
    """The loop for ``window`` (a MainWindow). ``requested``: the views asked for, in order (for tests and
    diagnostics, the last 2000); ``shown``: how many of them reached the screen."""

    started = Signal()
    stopped = Signal()

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.phase = 0.0
        self.pending: View | None = None
        self.requested: list[View] = []
        self.shown = 0
        self._base: View | None = None
        self._asked_at = self._last = 0.0
        self._pointer = QPoint()
        self._swallow: int | None = None  # the key that stopped the loop: its other events are spent too
        self._filtering = False
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> bool:
        """Start the loop from the view on screen; False when there is no edited photo to sweep."""
        w = self.window
        if self.running or w.session.current is None or w._picking:
            return False
        self._base = w.view
        self._span, self._top = sweep_limits(w.session.current)
        self.phase, self.pending, self.shown = 0.0, None, 0
        self.requested.clear()
        self._last = time.monotonic()
        self._pointer = QCursor.pos()
        w.tabs.setCurrentWidget(w.viewer)
        w.frameShown.connect(self._on_frame)
        w.session.photoLoaded.connect(self.stop)
        w.session.renderFailed.connect(self.stop)
        self._filter(True)
        self._swallow = None
        self._timer.start()
        w.set_status("Sweep: press any key or touch the screen to stop.")
        self.started.emit()
        self._tick()
        return True

    def stop(self, *_args) -> None:
        """Stop and give the window its view back (its own sliders and a settled frame)."""
        if not self.running:
            return
        w = self.window
        self._timer.stop()
        if self._swallow is None:
            self._filter(False)
        w.frameShown.disconnect(self._on_frame)
        w.session.photoLoaded.disconnect(self.stop)
        w.session.renderFailed.disconnect(self.stop)
        self.pending = None
        if w.session.current is not None and self._base is not None:
            w.set_view(self._base)
            w.set_status("Sweep stopped.")
        self.stopped.emit()

    def _filter(self, on: bool) -> None:
        if on != self._filtering:
            self._filtering = on
            app = QApplication.instance()
            app.installEventFilter(self) if on else app.removeEventFilter(self)

    def _tick(self) -> None:
        if not self.running:
            return
        now = time.monotonic()
        if self.pending is not None and now - self._asked_at < STALL_S:
            return  # the last frame is not on screen yet: never queue another
        w = self.window
        if w.session.current is None:
            self.stop()
            return
        self.phase = (self.phase + min(now - self._last, PERIOD_S * MAX_STEP) / PERIOD_S) % 1.0
        self._last = now
        view = sweep_view(self.phase, w.controls.capture_focal, self._base.pitch_deg, self._span, self._top)
        w.controls.set_view(view)  # the sliders follow (silently: not an edit)
        if w.session.request(view, draft=DRAFT):
            self.pending, self._asked_at = view, now
            self.requested.append(view)
            del self.requested[:-2000]

    def _on_frame(self, frame) -> None:
        if self.pending is not None and frame.view == self.pending:
            self.pending = None
            self.shown += 1
            QTimer.singleShot(0, self._tick)  # the next view at once: the timer only catches what this misses

    def eventFilter(self, obj, event) -> bool:
        t = event.type()
        if self._swallow is not None and t in _KEYS and event.key() == self._swallow:
            if t == QEvent.Type.KeyRelease and not event.isAutoRepeat():
                self._swallow = None
                if not self.running:
                    self._filter(False)
            event.accept()
            return True
        if not self.running:
            return False
        if t == QEvent.Type.MouseMove:
            if (QCursor.pos() - self._pointer).manhattanLength() > MOVE_SLOP_PX:
                self.stop()
            return False
        if t in _INPUT:
            if t in _KEYS:
                self._swallow = event.key()
            self.stop()
            event.accept()  # spent on stopping: a key runs no shortcut, a click presses no button
            return True
        return False
