"""Starting the editor: the QApplication, the window, and the unattended demo/screenshot mode.

Environment (for demos, the README screenshot and its test):

* ``SUPER_GUI_DEMO_VIEW="yaw=15,pitch=5,focal=85,split=0.5"``: once the photo is analysed, set this
  view (``split`` turns the before/after divider on at that fraction of the width; ``mesh=shaded``
  shows the 3D tab in that mode instead; ``present=1`` opens presentation mode first; ``sweep=1`` starts the
  sweep once the photo is ready, and the screenshot is taken after its SWEEP_SHOT_FRAMES-th frame);
* ``SUPER_GUI_SCREENSHOT=PATH``: when the first settled frame of that view is on screen (and its
  identity readout, where the model is installed), save the window as a PNG to PATH and quit (exit
  status 0; 2 on an error, which is printed instead of shown);
* ``SUPER_GUI_TIMING=1`` (``bench/perf.py``): print ``window-shown T`` to stderr when the window first
  paints, and ``first-frame T`` when the first full-quality frame of the view the controls show is handed
  to the photo view (it paints next); T is ``time.perf_counter()`` (on Linux the system-wide monotonic clock, so another process can
  subtract its own reading).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QtMsgType, QTimer, qInstallMessageHandler
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from super_gui.core.camera import View

SCREENSHOT_TIMEOUT_S = 180
SWEEP_SHOT_FRAMES = 40
IDENTITY_WAIT_MS = 8000  # a screenshot waits this long at most for the identity readout


def parse_demo_view(text: str) -> tuple[View, dict]:
    """``"yaw=15,pitch=5,focal=85,split=0.5,mesh=shaded"`` -> (View, {"split": 0.5, "mesh": "shaded"})."""
    from super_gui.render.mesh_view import MODES  # (not at start-up: it brings the GL scene and SciPy)

    values: dict[str, float] = {}
    extra: dict = {}
    for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
        key, _, value = (x.strip() for x in part.partition("="))
        if key == "mesh":
            if value not in MODES:
                raise ValueError(f"SUPER_GUI_DEMO_VIEW: mesh must be one of {', '.join(MODES)}")
            extra["mesh"] = value
        elif key in ("present", "sweep"):
            if value not in ("0", "1"):
                raise ValueError(f"SUPER_GUI_DEMO_VIEW: {key} must be 0 or 1, not {value!r}")
            extra[key] = value == "1"
        elif key in ("yaw", "pitch", "focal", "split"):
            try:
                values[key] = float(value)
            except ValueError:
                raise ValueError(f"SUPER_GUI_DEMO_VIEW: {key} must be a number, not {value!r}") from None
        else:
            raise ValueError(f"SUPER_GUI_DEMO_VIEW: unknown setting {key!r} (use yaw, pitch, focal, split, mesh, present, "
                             "sweep)")
    if "split" in values:
        extra["split"] = values["split"]
    return View(values.get("yaw", 0.0), values.get("pitch", 0.0), values.get("focal")), extra


def _unattended(window, shot: str | None, demo: tuple[View, dict] | None) -> None:
    """Apply the demo view when the photo is ready; save a screenshot of its first settled frame."""
    app = QApplication.instance()
    window.show_dialogs = not shot
    state = {"view": None, "saved": False}
    extra = demo[1] if demo else {}

    def on_prepared(_prepared) -> None:
        if demo is not None:
            view, _ = demo
            if "split" in extra:
                window.actions_by_name["split"].setChecked(True)
                window.viewer.set_split(True)
                window.viewer.set_split_fraction(extra["split"])
            window.controls.set_view(view)
            window.controls.viewEdited.emit(window.controls.view(), None, False)
            if "mesh" in extra:
                window.mesh_panel.set_mode(extra["mesh"])
                window.actions_by_name["mesh"].trigger()
        state["view"] = window.view
        if extra.get("sweep"):
            window.start_sweep()

    def on_frame(frame) -> None:
        wanted = "mesh" not in extra and frame.view == state["view"] and not frame.draft
        if extra.get("sweep"):
            wanted = window.sweep.running and window.sweep.shown >= SWEEP_SHOT_FRAMES
        if shot and not state["saved"] and state["view"] is not None and wanted:
            state["saved"] = True
            if extra.get("sweep"):
                save()  # (the frame on screen now: the loop goes on)
            elif window.limits.identity_on:  # the readout follows the frame (~0.1 s, plus the model's first load)
                window.limits.identityShown.connect(lambda _d: QTimer.singleShot(400, save))
                QTimer.singleShot(IDENTITY_WAIT_MS, save)
            else:
                QTimer.singleShot(400, save)

    def on_mesh_frame(_frame) -> None:
        if shot and not state["saved"] and "mesh" in extra and state["view"] is not None:
            state["saved"] = True
            QTimer.singleShot(400, save)

    def save() -> None:
        if state.get("written"):
            return
        state["written"] = True
        Path(shot).parent.mkdir(parents=True, exist_ok=True)
        ok = window.grab().save(shot, "PNG")
        print(f"screenshot {'saved to' if ok else 'could not be written to'} {shot}", file=sys.stderr)
        window.close()
        app.exit(0 if ok else 1)

    if extra.get("present"):
        QTimer.singleShot(0, window.enter_presentation)
    window.session.prepared.connect(on_prepared)
    window.frameShown.connect(on_frame)
    window.session.meshFrameReady.connect(on_mesh_frame)
    if shot:
        QTimer.singleShot(SCREENSHOT_TIMEOUT_S * 1000, lambda: (print("error: screenshot timed out", file=sys.stderr), app.exit(3)))


class _Timing(QObject):
    """``SUPER_GUI_TIMING``: the window's first paint and its first full-quality frame, once each."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        window.installEventFilter(self)
        window.frameShown.connect(self._on_frame)

    @staticmethod
    def _print(what: str) -> None:
        print(f"{what} {time.perf_counter():.6f}", file=sys.stderr, flush=True)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.window and event.type() == QEvent.Type.Paint:
            self.window.removeEventFilter(self)
            self._print("window-shown")
        return False

    def _on_frame(self, frame) -> None:
        if not frame.draft and frame.view == self.window.view:
            self.window.frameShown.disconnect(self._on_frame)
            self._print("first-frame")


def _qt_messages(kind, context, message: str) -> None:
    # Descriptor 2 is silenced (MediaPipe's native chatter); Qt's serious messages still reach the user.
    if kind in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg) or os.environ.get("SUPER_GUI_DEBUG"):
        print(f"qt: {message}", file=sys.stderr)


def _dark_theme(app: QApplication) -> None:
    """A dark, neutral grey UI, as photo editors have, so the photo's colours stand out."""
    from PySide6.QtGui import QColor, QPalette

    app.setStyle("Fusion")
    p = QPalette()
    base, window, text, accent = QColor(30, 30, 32), QColor(48, 48, 51), QColor(225, 225, 228), QColor(255, 176, 0)
    for role, colour in ((QPalette.ColorRole.Window, window), (QPalette.ColorRole.WindowText, text),
                         (QPalette.ColorRole.Base, base), (QPalette.ColorRole.AlternateBase, window),
                         (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, QColor(60, 60, 64)),
                         (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.ToolTipBase, base),
                         (QPalette.ColorRole.ToolTipText, text), (QPalette.ColorRole.Highlight, accent),
                         (QPalette.ColorRole.HighlightedText, QColor(20, 20, 20)), (QPalette.ColorRole.Link, accent),
                         (QPalette.ColorRole.PlaceholderText, QColor(135, 135, 140))):
        p.setColor(role, colour)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 125))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.PlaceholderText, QColor(90, 90, 95))
    app.setPalette(p)


def app_icon() -> QIcon:
    """The application's icon (resources/super-gui.svg, the one the desktop entry names)."""
    from super_gui.core.resources import resource_path

    return QIcon(str(resource_path("super-gui.svg")))


def _head_start(photo: str | None):
    """The head start for ``photo`` (app.headstart: main.py begins it before anything else; otherwise it begins
    here), told to fit with the landmark backend when the Preferences choose it. None without a photo."""
    from super_gui.app import headstart

    if photo is None:
        return None
    head = headstart.take(photo) or headstart.begin(photo)
    from PySide6.QtCore import QSettings

    from super_gui.gui.preferences import load_inversion_settings
    from super_gui.gui.session import LANDMARK

    if load_inversion_settings(QSettings("super_gui", "super_gui")).fit() == LANDMARK:
        head.fit_with_landmark()  # (another backend: the session decides once the photo has loaded)
    return head


def run(photo: str | None = None) -> int:
    """Open the editor (on ``photo`` if given) and run until it is closed; returns the exit status."""
    from super_gui.core.native_log import silence_native_logging

    silence_native_logging()
    head = _head_start(photo)
    from super_gui.gui.main_window import MainWindow

    qInstallMessageHandler(_qt_messages)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("super_gui")
    app.setApplicationName("super_gui")
    app.setApplicationDisplayName("super_gui")
    app.setDesktopFileName("super-gui")  # matches resources/super-gui.desktop (Wayland docks, task bars)
    app.setWindowIcon(app_icon())
    _dark_theme(app)
    shot = os.environ.get("SUPER_GUI_SCREENSHOT") or None
    demo_text = os.environ.get("SUPER_GUI_DEMO_VIEW")
    try:  # before the window exists: its threads must never be left running by an early return
        demo = parse_demo_view(demo_text) if demo_text else None
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        if head is not None:
            head.cancel()
        return 2
    window = MainWindow()
    window.session.head_start = head  # (taken when the photo is opened, below)
    if shot or demo:
        _unattended(window, shot, demo)
    if os.environ.get("SUPER_GUI_TIMING"):
        _Timing(window)
    window.show()
    if photo:
        window.open_photo(photo)
    code = app.exec()
    window.close()
    if head is not None:  # (its threads must not run on while the interpreter shuts down)
        head.cancel()
        head.wait()
    return code
