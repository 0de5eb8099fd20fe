"""The editor window: the photo view, the side panel, menus and the status bar, wired to the session.

The window only connects things: photos and jobs live in :class:`~super_gui.gui.session.EditSession`,
pixels come from the render thread, settings changes go through the undo stack.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QUndoStack
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QFileDialog, QLabel, QLineEdit, QMainWindow, QMessageBox,
                               QProgressBar, QPushButton, QScrollArea, QSplitter, QTabWidget, QWidget)

from super_gui.core.camera import View
from super_gui.core.image_io import SUPPORTED_SUFFIXES
from super_gui.app.pipeline import PITCH_RANGE, YAW_RANGE
from super_gui.gui.actions import add_recent_file, build_menus
from super_gui.gui.controls import SOURCE_WORDS, ViewControls
from super_gui.gui.exporting import ExportMixin
from super_gui.gui.faces import FacePickMixin
from super_gui.gui.fitting import FittingMixin
from super_gui.gui.limits import LimitsReadout
from super_gui.gui.present import PresentMixin
from super_gui.gui.selfie import SelfieMixin
from super_gui.gui.mesh_view import MeshPanel
from super_gui.gui.session import EditSession, LoadedPhoto
from super_gui.gui.undo import CaptureCommand, ViewCommand
from super_gui.gui.viewer import ImageViewer
from super_gui.gui.workers import Frame

# A settled view's identity is measured once the view has held still this long: an embedding costs ~0.1 s of
# CPU, and a slider moved again right after letting go must not share the two cores with it.
IDENTITY_DELAY_MS = 400
DETAIL_ZOOM = 1.25  # past this many screen pixels per preview pixel, a settled view is also rendered at full resolution
DETAIL_DELAY_MS = 300  # ... once the view has stayed put this long
FRAME_TEXT_S = 0.25  # the status bar's frame time, while a slider moves: renewed this often
_NUDGE = {Qt.Key.Key_Left: (-1.0, 0.0), Qt.Key.Key_Right: (1.0, 0.0), Qt.Key.Key_Up: (0.0, 1.0), Qt.Key.Key_Down: (0.0, -1.0)}
OPEN_FILTER = "Photos (" + " ".join(f"*{s}" for s in SUPPORTED_SUFFIXES) + ");;All files (*)"
# Keys a text field always keeps, and those it keeps only while the user is typing in it (undo of the typed text).
_FIELD_KEYS = (QKeySequence.StandardKey.SelectAll, QKeySequence.StandardKey.Copy, QKeySequence.StandardKey.Cut,
               QKeySequence.StandardKey.Paste)
_TYPING_KEYS = (QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo)


def is_typing(field: QWidget) -> bool:
    """A text or number field holds text the user typed and has not applied yet."""
    if isinstance(field, QAbstractSpinBox):
        shown = field.text()
        if getattr(field, "specialValueText", None) and field.specialValueText() and field.value() == field.minimum():
            return shown != field.specialValueText()
        if hasattr(field, "textFromValue"):
            return shown != field.prefix() + field.textFromValue(field.value()) + field.suffix()
        return field.lineEdit().isUndoAvailable()
    if isinstance(field, QLineEdit):
        return field.isModified() and field.isUndoAvailable()
    return False


class MainWindow(ExportMixin, FacePickMixin, FittingMixin, PresentMixin, SelfieMixin, QMainWindow):
    """The editor. ``settings``: where geometry, folders and recent files live (a fresh one per test)."""

    frameShown = Signal(object)  # the Frame now on screen

    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.settings = settings if settings is not None else QSettings("super_gui", "super_gui")
        self.show_dialogs = True  # False when run unattended (screenshots): errors go to stderr
        self.session = EditSession(self)
        self.session.choose_backend = self.backend_for_photo  # (Edit > Preferences; may ask before a long fit)
        self.viewer = ImageViewer()
        self.controls = ViewControls()
        self.undo_stack = QUndoStack(self)
        self.view = View()  # the view the controls show (the last one asked for)
        self._picking = False
        self._view_after_prepare: View | None = None  # the view a face switch (or its undo) comes back with
        self._render_error_shown = False
        self.last_frame: Frame | None = None
        self.last_report: dict | None = None
        self._full_original: LoadedPhoto | None = None  # the photo whose full-resolution original is shown
        self._detail_timer = QTimer(self)
        self._detail_timer.setSingleShot(True)
        self._detail_timer.setInterval(DETAIL_DELAY_MS)
        self._detail_timer.timeout.connect(self._request_detail)
        self._identity_timer = QTimer(self)
        self._identity_timer.setSingleShot(True)
        self._identity_timer.setInterval(IDENTITY_DELAY_MS)
        self._identity_timer.timeout.connect(self._measure_identity)

        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(self.controls.minimumWidth() + 20)
        self.mesh_panel = MeshPanel(self.session, lambda: self.view)
        self.session.screen_scale = self.viewer.zoom  # drag frames no larger than the photo on screen
        self.session.paint_size = self.viewer.paint_size
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.viewer, "Photo")
        self.tabs.addTab(self.mesh_panel, "3D Mesh")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tabs)
        split.addWidget(scroll)
        split.setStretchFactor(0, 1)
        split.setCollapsible(0, False)
        self.setCentralWidget(split)
        self._build_status_bar()
        self.actions_by_name = build_menus(self)
        self._init_faces()  # each face's own edit, Tab through faces, Undistort All Faces
        # File > Take a Selfie… is on only with a camera: asked when the File menu first opens (or presentation
        # starts), not here: Qt Multimedia's start-up next to the render thread's GL start-up could hang.
        self.menuBar().actions()[0].menu().aboutToShow.connect(self.watch_cameras)
        self.setAcceptDrops(True)
        self.setMinimumSize(820, 560)
        self.setWindowTitle("super_gui")
        if not self.restoreGeometry(self.settings.value("geometry", b"")):
            self.resize(1280, 820)
        self.controls.quality.setValue(int(self.settings.value("jpeg_quality", 95)))
        self.controls.quality_original.setChecked(str(self.settings.value("jpeg_quality_original", "false")).lower() == "true")

        s = self.session
        s.photoLoaded.connect(self._on_loaded)
        s.prepared.connect(self._on_prepared)
        s.frameReady.connect(self._on_frame)
        s.progress.connect(self._on_progress)
        s.busy.connect(self._on_busy)
        s.idle.connect(self._on_idle)
        s.cancelled.connect(self._on_cancelled)
        s.failed.connect(self._on_failed)
        s.renderFailed.connect(self._on_render_failed)
        s.exported.connect(self._on_exported)
        s.meshExported.connect(lambda p: self.set_status(f"Mesh written to {p}"))
        s.identityMeasured.connect(self.limits.identity_measured)
        s.identityUnavailable.connect(self.limits.identity_unavailable)
        c = self.controls
        c.viewEdited.connect(self._on_view_edited)
        c.dragFinished.connect(lambda: self._request(self.view, draft=False))
        c.captureEdited.connect(self._on_capture_edited)
        c.exportRequested.connect(self.export_dialog)
        c.exportMeshRequested.connect(self.export_mesh_dialog)
        c.quality.valueChanged.connect(lambda q: self.settings.setValue("jpeg_quality", q))
        c.qualityOriginalChanged.connect(lambda on: self.settings.setValue("jpeg_quality_original", bool(on)))
        self.viewer.facePicked.connect(self._on_face_picked)
        self.viewer.zoomChanged.connect(lambda _: self._consider_detail())
        self._update_actions()
        self.viewer.setFocus(Qt.FocusReason.OtherFocusReason)
        QApplication.instance().installEventFilter(self)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.status_label = QLabel("Open a photo to start.")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(180)
        self.progress_bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_job)
        self.estimates_label = QLabel()
        self.render_label, self._frame_text_at = QLabel(), 0.0  # (when a drag frame last set its text)
        self.render_label.setMinimumWidth(self.render_label.fontMetrics().horizontalAdvance("Frame 0000 ms (full resolution)"))
        self.render_label.setToolTip("Time to render the last frame shown")
        bar.addWidget(self.status_label, 1)
        for w in (self.progress_bar, self.cancel_button):
            bar.addPermanentWidget(w)
        self.limits = LimitsReadout(bar, self)  # "outside the range this photo supports", identity
        for w in (self.estimates_label, self.render_label):
            bar.addPermanentWidget(w)
        self.progress_bar.hide()
        self.cancel_button.hide()

    # -- opening -----------------------------------------------------------------------------------

    def last_folder(self) -> str:
        return str(self.settings.value("last_folder", str(Path.home())))

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Photo", self.last_folder(), OPEN_FILTER)
        if path:
            self.open_photo(path)

    def focus_photo(self) -> None:
        """Keyboard focus to the photo (or the 3D view), where the arrow keys turn the head."""
        self.tabs.currentWidget().setFocus(Qt.FocusReason.OtherFocusReason)

    def _set_editable(self, on: bool, capture: bool | None = None) -> None:
        """Enable or disable the side panel; a field that had focus and is now disabled gives it to the photo
        (Qt would hand it to the next enabled field: the JPEG quality, where the arrow keys would go)."""
        before = QApplication.focusWidget()
        self.controls.set_editable(on, capture=capture)
        after = QApplication.focusWidget()
        if before is not None and (after is not before or not before.isEnabled()) and self.controls.isAncestorOf(before):
            self.focus_photo()

    def open_photo(self, path: str | Path) -> None:
        """Open ``path`` (cancels whatever is running); errors come back as a dialog."""
        path = Path(path)
        self.focus_photo()
        self.settings.setValue("last_folder", str(path.resolve().parent))
        self._show_progress(0.0, f"Opening {path.name}…", cancellable=True)
        self.session.open(path)

    def cancel_job(self) -> None:
        if self.session.running:
            self.session.cancel()

    def _on_loaded(self, loaded: LoadedPhoto) -> None:
        if not loaded.photo.in_memory:  # (a selfie has no file yet)
            add_recent_file(self.settings, loaded.path)
        self._render_error_shown = False
        p = loaded.photo
        self.viewer.set_photo(p.width, p.height, loaded.original)
        self._full_original = None
        self.undo_stack.clear()
        self.view = View()
        self._view_after_prepare = None
        self.controls.set_view(self.view)
        self._set_editable(False, capture=False)
        self.controls.clear_capture()  # the new photo's estimates come with its analysis
        self.controls.set_original_quality(getattr(p.meta, "jpeg_quality", None))
        self.controls.set_supported(None)
        self.limits.set_photo(None)
        self.limits.set_view(self.view)
        self.last_frame = None
        self.estimates_label.setText(f"{p.width}×{p.height}")
        self.render_label.clear()
        self.setWindowTitle(f"{loaded.path.name} — super_gui")
        self._update_actions()
        warnings = tuple(getattr(p, "warnings", ()) or ())
        if warnings:  # after this slot: the analysis starts first, the dialog does not hold it up
            QTimer.singleShot(0, lambda: self._warn("The photo may be damaged", "\n\n".join(warnings)))

    def _warn(self, title: str, message: str) -> None:
        """A warning the user should read (the photo still opens): a dialog, or stderr when unattended."""
        if self.show_dialogs:
            QMessageBox.warning(self, title, message)
        else:
            import sys

            print(f"warning: {message}", file=sys.stderr)

    def _on_prepared(self, prepared) -> None:
        a = prepared.analysis
        faces = a.faces
        if self._view_after_prepare is not None:
            self.view, self._view_after_prepare = self._view_after_prepare, None
        self.controls.set_capture(a.focal.focal_35mm, a.focal.source, a.distance_m * 100.0, a.distance_source)
        if self.view.focal_35mm is not None and self.view.focal_35mm < self.controls.capture_focal:
            self.view = View(self.view.yaw_deg, self.view.pitch_deg, None)
        self.controls.set_view(self.view)
        self.controls.set_supported(prepared.supported)
        self.limits.set_photo(prepared)
        self.limits.set_view(self.view)
        self._picking = False  # (every face has its own edit: none has to be picked first)
        self._show_faces()
        self._set_editable(True, capture=True)
        self._show_estimates(a)
        self.viewer.set_prompt(None)
        self.set_status(self._faces_status(faces))
        self._update_actions()
        self._request(self.view, draft=False)

    def _show_estimates(self, a) -> None:
        s = a.summary()
        pose = s["head_pose_deg"]
        n = s["faces"]
        self.estimates_label.setText(
            f"{s['capture_focal_35mm']:g} mm ({SOURCE_WORDS.get(s['capture_focal_source'], '')}) · "
            f"{s['capture_distance_cm']:.0f} cm · yaw {pose['yaw']:+.0f}° pitch {pose['pitch']:+.0f}° "
            f"roll {pose['roll']:+.0f}° · {n} face{'s' if n != 1 else ''}")
        self.estimates_label.setToolTip("Capture focal (35 mm-equivalent), distance to the eyes, head pose "
                                        "relative to the line of sight, faces found")

    # -- view edits --------------------------------------------------------------------------------

    def _on_view_edited(self, view: View, drag_id, draft: bool) -> None:
        if view == self.view and drag_id is None:
            return
        self.undo_stack.push(ViewCommand(self.view, view, drag_id, self.set_view))
        self.view = view
        self.limits.set_view(view)
        self._request(view, draft)

    def set_view(self, view: View) -> None:
        """Show ``view`` (undo/redo, scripts): controls and a settled frame."""
        if self._view_after_prepare is not None:  # a face is being analysed: it comes back with this view
            self._view_after_prepare = view
        self.view = view
        self.controls.set_view(view)
        self.limits.set_view(view)
        self._request(view, draft=False)

    def _request(self, view: View, draft: bool) -> None:
        """Frames for whichever view is on screen (the other catches up when it is shown)."""
        if self.tabs.currentWidget() is self.viewer:
            self.session.request(view, draft)
        else:
            self.mesh_panel.refresh()

    def _on_tab_changed(self, index: int) -> None:
        self.actions_by_name["mesh"].setChecked(self.tabs.currentWidget() is self.mesh_panel)
        self._request(self.view, draft=False)

    def nudge(self, d_yaw: float, d_pitch: float) -> None:
        """Arrow keys on the photo: turn the head by a degree."""
        if self.session.current is None or self._picking:
            return
        v = self.view
        yaw = min(max(v.yaw_deg + d_yaw, YAW_RANGE[0]), YAW_RANGE[1])
        pitch = min(max(v.pitch_deg + d_pitch, PITCH_RANGE[0]), PITCH_RANGE[1])
        view = View(round(yaw, 1), round(pitch, 1), v.focal_35mm)
        self.controls.set_view(view)
        self._on_view_edited(view, None, False)

    def _on_capture_edited(self, focal, distance) -> None:
        s = self.session
        old, new = (s.capture_focal, s.distance_cm), (focal, distance)
        if s.loaded is None or old == new:
            return
        self.undo_stack.push(CaptureCommand(old, new, self._apply_capture))

    def _apply_capture(self, capture: tuple) -> None:
        s = self.session
        self._show_progress(0.0, "Analysing with the new capture camera…", cancellable=True)
        self._set_editable(False, capture=False)
        s.reprepare(face_index=s.face_index, capture_focal=capture[0], distance_cm=capture[1])
        self._update_actions()

    def _on_frame(self, frame: Frame) -> None:
        self.viewer.set_result(frame.image, frame.qimage, changed=frame.window if frame.draft else None)
        self.last_frame = frame
        now = time.monotonic()  # a drag's frames name their time a few times a second (each new text
        if not frame.draft or now - self._frame_text_at >= FRAME_TEXT_S:  # repaints the whole status bar)
            self._frame_text_at = now if frame.draft else 0.0
            kind = " (draft)" if frame.draft else " (full resolution)" if frame.scale == 1.0 and self.session.preview_scale < 1.0 else ""
            self.render_label.setText(f"Frame {frame.seconds * 1000:.0f} ms{kind}")
        self.limits.frame_shown(frame)
        if not frame.draft and frame.view == self.view and self.limits.identity_on:
            self._identity_timer.start()
        else:
            self._identity_timer.stop()
        self.frameShown.emit(frame)
        self._consider_detail()

    def _measure_identity(self) -> None:
        """The settled frame on screen has held still: measure it (if it is still the current view's)."""
        f = self.last_frame
        if f is not None and not f.draft and f.view == self.view:
            self.session.measure_identity(f)

    # -- full-resolution detail --------------------------------------------------------------------

    def _wants_detail(self) -> bool:
        """Zoomed in past the preview's pixels on a settled preview of the current view: the close look
        deserves the photo's own pixels (what an export would write)."""
        s, f = self.session, self.last_frame
        return (s.current is not None and s.preview_scale < 1.0 and self.tabs.currentWidget() is self.viewer
                and self.viewer.zoom() > DETAIL_ZOOM * s.preview_scale
                and f is not None and not f.draft and f.scale < 1.0 and f.view == self.view
                and f.generation == s.generation)

    def _consider_detail(self) -> None:
        if self._wants_detail():
            self._detail_timer.start()  # (re)started: a burst of nudges or wheel steps asks once
        else:
            self._detail_timer.stop()

    def _request_detail(self) -> None:
        if not self._wants_detail():
            return
        loaded = self.session.loaded
        if self._full_original is not loaded:
            self._full_original = loaded
            self.viewer.set_original(loaded.photo.rgb8)  # the before/after at full resolution too
        if self.session.request(self.view, draft=False, full=True):
            self.render_label.setText("Rendering at full resolution…")

    # -- status ------------------------------------------------------------------------------------

    def set_status(self, text: str) -> None:
        self.status_label.setText(text)

    def status_text(self) -> str:
        return self.status_label.text()

    def _show_progress(self, fraction: float, message: str, cancellable: bool) -> None:
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setValue(int(fraction * 100))
        self.progress_bar.show()
        self.cancel_button.setVisible(cancellable)
        self.set_status(message)
        self._update_actions()

    def _on_progress(self, fraction: float, message: str) -> None:
        self._show_progress(fraction, message + "…", cancellable=True)

    def _on_busy(self, message: str) -> None:
        self.progress_bar.setRange(0, 0)  # indeterminate
        self.progress_bar.show()
        self.cancel_button.hide()
        self.set_status(message + "…")

    def _on_idle(self) -> None:
        if not (self.session.running or self.session.exporting):
            self.progress_bar.hide()
            self.cancel_button.hide()
        self._update_actions()

    def _on_cancelled(self, message: str) -> None:
        self.set_status(message)
        self._on_idle()

    def _on_failed(self, title: str, message: str) -> None:
        self.set_status(message)
        self._on_idle()
        if self.session.loaded is not None and self.session.current is None and not self.session.running:
            self._set_editable(False, capture=True)  # e.g. no face with this capture camera: fixable
        if self.show_dialogs:
            QMessageBox.warning(self, title, message)
        else:
            import sys

            print(f"error: {message}", file=sys.stderr)
            QApplication.instance().exit(2)

    def _on_render_failed(self, message: str) -> None:
        if self._render_error_shown:  # once per photo: a broken renderer fails on every slider move
            self.set_status(message)
        else:
            self._render_error_shown = True
            self._on_failed("Rendering failed", message)

    def _update_actions(self) -> None:
        ready = self.session.current is not None and not self._picking
        self._update_face_actions(ready)
        for name in ("export", "export_mesh", "undistort", "reset", "sweep"):
            self.actions_by_name[name].setEnabled(ready)
        self.actions_by_name["cancel"].setEnabled(self.session.running)

    # -- events ------------------------------------------------------------------------------------

    def eventFilter(self, obj, event) -> bool:
        # Hold backslash anywhere in the window to see the original (a spin box would swallow it).
        t = event.type()
        if (t in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and isinstance(obj, (QAbstractSpinBox, QLineEdit))
                and obj.window() is self and self._is_app_shortcut(obj, event)):
            # Not the field's: the window's shortcut runs; and when its action is disabled (a photo being
            # analysed) the key does nothing rather than its text-field meaning (Ctrl+U: delete the line).
            event.ignore()
            return True
        if (t == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and isinstance(obj, QAbstractSpinBox) and self.controls.isAncestorOf(obj)):
            QTimer.singleShot(0, self.focus_photo)  # the field applies its value first, then the photo has focus
            return False
        if t == QEvent.Type.KeyPress and obj is self.viewer and event.key() in _NUDGE:
            self.nudge(*_NUDGE[event.key()])
            return True
        if t in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and isinstance(obj, QWidget) and obj.window() is self:
            if event.key() == Qt.Key.Key_Backslash and event.modifiers() in (Qt.KeyboardModifier.NoModifier,):
                if not event.isAutoRepeat():
                    self.viewer.set_show_before(t == QEvent.Type.KeyPress)
                return True
        return super().eventFilter(obj, event)

    def _is_app_shortcut(self, field: QWidget, event) -> bool:
        """A key pressed in a text field is one of the window's shortcuts that the field should not keep.

        The field keeps select-all, copy, cut and paste, and undo/redo while the user is typing in it
        (that undoes the typed text); everything else a window action is bound to is the window's (under
        X11's key bindings a field would otherwise take Ctrl+U as "delete the line" and Ctrl+E as "end")."""
        M = Qt.KeyboardModifier
        if not event.modifiers() & (M.ControlModifier | M.AltModifier | M.MetaModifier):
            return False  # plain keys (digits, arrows, Enter) are typing
        if any(event.matches(k) for k in _FIELD_KEYS):
            return False
        if any(event.matches(k) for k in _TYPING_KEYS) and is_typing(field):
            return False
        pressed = QKeySequence(event.keyCombination())
        return any(any(sc.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch for sc in a.shortcuts())
                   for a in self.actions_by_name.values())

    def dragEnterEvent(self, event) -> None:
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.open_photo(files[0])

    def closeEvent(self, event) -> None:
        self.leave_presentation()  # (the geometry remembered is the window's own, not the full screen's)
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.sync()
        QApplication.instance().removeEventFilter(self)
        self.session.shutdown()
        super().closeEvent(event)
