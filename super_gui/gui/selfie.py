"""File > Take a Selfie…: a live preview from the camera, a 3-2-1 countdown, and the picture opened in the editor
as a photo that has no file yet (named "Selfie 2026-11-25 17-40.jpg", kept in memory, written only by an export).

:class:`SelfieDialog` shows the frames of a :class:`~super_gui.gui.camera.FrameSource` (mirrored, as a mirror
would show you) and keeps the last one when the countdown ends; the picture itself is not mirrored.
:class:`SelfieMixin` is the window's part (a mixin of :class:`~super_gui.gui.main_window.MainWindow`): the
action's state (off, with the reason in its tip, where there is no camera), the dialog, and the opening. Tests
set ``frame_source_factory`` to feed the dialog without a camera.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from super_gui.gui.camera import FrameSource, QtCameraSource, camera_unavailable

COUNTDOWN = 3
TICK_MS = 1000
NO_PICTURE_MS = 6000  # a camera that has sent nothing by then is said to send nothing
SELFIE_TIP = "Take a photo with the camera (a 3-2-1 countdown) and open it here; it is saved only when you export."


def selfie_name(when: datetime | None = None) -> str:
    """The name a camera picture goes by until it is exported: "Selfie 2026-11-25 17-40.jpg"."""
    return f"Selfie {(when or datetime.now()):%Y-%m-%d %H-%M}.jpg"


def rgb_from_qimage(image: QImage) -> np.ndarray:
    """(h, w, 3) uint8 RGB of ``image`` (a copy)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w = rgb.height(), rgb.width()
    rows = np.frombuffer(rgb.constBits(), np.uint8, count=rgb.bytesPerLine() * h).reshape(h, rgb.bytesPerLine())
    return rows[:, :3 * w].reshape(h, w, 3).copy()


def jpeg_bytes(image: QImage, quality: int = 95) -> bytes:
    """``image`` as a JPEG file's bytes (what a phone would have written; the photo is decoded from them)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb_from_qimage(image)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


class CameraPreview(QWidget):
    """The live picture, mirrored, with the countdown's number over it (or a line of text)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.image: QImage | None = None
        self.number = ""
        self.text = "Starting the camera…"
        self.setMinimumSize(480, 360)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, image: QImage) -> None:
        self.image = image
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(0, 0, 0))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.image is not None and not self.image.isNull():
            size = self.image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRectF((self.width() - size.width()) / 2, (self.height() - size.height()) / 2,
                            size.width(), size.height())
            p.save()
            p.translate(target.center())
            p.scale(-1, 1)  # a mirror: moving right moves the picture right
            p.drawImage(QRectF(-target.width() / 2, -target.height() / 2, target.width(), target.height()), self.image)
            p.restore()
        elif self.text:
            p.setPen(QColor(255, 255, 255))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.text)
        if self.number:  # white on a black disc, outlined: readable over any picture
            d = min(self.width(), self.height()) * 0.45
            centre = QPointF(self.width() / 2, self.height() / 2)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(0, 0, 0, 200))
            p.drawEllipse(centre, d / 2, d / 2)
            font = QFont(self.font())
            font.setPixelSize(max(12, int(d * 0.7)))
            font.setBold(True)
            path = QPainterPath()
            fm_rect = QRectF(centre.x() - d / 2, centre.y() - d / 2, d, d)
            p.setFont(font)
            br = p.fontMetrics().tightBoundingRect(self.number)
            path.addText(QPointF(fm_rect.center().x() - br.center().x(), fm_rect.center().y() - br.center().y()),
                         font, self.number)
            p.setPen(QPen(QColor(0, 0, 0), max(2.0, d / 40)))
            p.setBrush(QColor(255, 255, 255))
            p.drawPath(path)


class SelfieDialog(QDialog):
    """The camera's live picture; **Take Photo** counts 3-2-1 and keeps the picture then (:meth:`image`).
    The source runs while the dialog is open and is stopped however it closes."""

    def __init__(self, source: FrameSource, parent: QWidget | None = None, tick_ms: int | None = None):
        super().__init__(parent)
        self.setWindowTitle("Take a Selfie")
        self.source = source
        self.tick_ms = tick_ms or TICK_MS
        self.remaining = 0  # seconds left on the countdown (0: not counting)
        self._last: QImage | None = None
        self._image: QImage | None = None
        self.preview = CameraPreview()
        self.hint = QLabel("Look into the camera, then press Take Photo: it counts down from 3.")
        self.hint.setWordWrap(True)
        self.take = QPushButton("&Take Photo")
        self.take.setEnabled(False)
        self.take.setDefault(True)
        buttons = QDialogButtonBox()
        buttons.addButton(self.take, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        self.take.clicked.connect(self.start_countdown)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.hint)
        layout.addWidget(buttons)
        self._tick = QTimer(self)
        self._tick.setInterval(self.tick_ms)
        self._tick.timeout.connect(self._count)
        self._silence = QTimer(self)
        self._silence.setSingleShot(True)
        self._silence.setInterval(NO_PICTURE_MS)
        self._silence.timeout.connect(lambda: self._problem("The camera sends no picture. Is another program using it?"))
        source.frameReady.connect(self._on_frame)
        source.failed.connect(self._problem)
        self._running = True
        screen = (parent.screen() if parent is not None else self.screen()).availableGeometry()
        self.resize(min(960, int(screen.width() * 0.7)), min(800, int(screen.height() * 0.8)))
        source.start()
        self._silence.start()

    def image(self) -> QImage | None:
        """The picture taken (not mirrored); None until the countdown has ended."""
        return self._image

    def _on_frame(self, image: QImage) -> None:
        if not self._running:
            return
        self._silence.stop()
        self._last = image
        self.preview.text = ""
        self.preview.set_image(image)
        if not self.remaining:
            self.take.setEnabled(True)

    def _problem(self, text: str) -> None:
        self._tick.stop()
        self.remaining = 0
        self.preview.number = ""
        self.preview.text = text
        if self._last is None:
            self.preview.update()
        self.hint.setText(text)
        self.take.setEnabled(False)

    def start_countdown(self) -> None:
        if self._last is None or self.remaining:
            return
        self.take.setEnabled(False)
        self.remaining = COUNTDOWN
        self.preview.number = str(self.remaining)
        self.preview.update()
        self.hint.setText("Hold still…")
        self._tick.start()

    def _count(self) -> None:
        self.remaining -= 1
        if self.remaining > 0:
            self.preview.number = str(self.remaining)
            self.preview.update()
            return
        self._tick.stop()
        self.preview.number = ""
        self._image = self._last.copy()
        self.accept()

    def done(self, result: int) -> None:
        if self._running:
            self._running = False
            self._tick.stop()
            self._silence.stop()
            self.source.stop()
            self.source.frameReady.disconnect(self._on_frame)
            self.source.failed.disconnect(self._problem)
        super().done(result)


class SelfieMixin:
    frame_source_factory: Callable[[], FrameSource] | None = None  # None: the camera (Qt Multimedia)
    selfie_dialog: SelfieDialog | None = None
    _selfie_names: tuple[str, ...] = ()

    def selfie_unavailable(self) -> str | None:
        """Why File > Take a Selfie… is off, in a sentence; None when it can be used."""
        return None if self.frame_source_factory is not None else camera_unavailable()

    def watch_cameras(self) -> None:
        """Keep the action's state up to date: now, and whenever a camera is plugged in or out."""
        from super_gui.gui.camera import multimedia

        mm = multimedia()
        if mm is not None and getattr(self, "_media_devices", None) is None:
            self._media_devices = mm.QMediaDevices(self)
            self._media_devices.videoInputsChanged.connect(self.update_selfie_action)
        self.update_selfie_action()

    def update_selfie_action(self) -> None:
        reason = self.selfie_unavailable()
        action = self.actions_by_name["selfie"]
        action.setEnabled(reason is None)
        tip = SELFIE_TIP if reason is None else reason
        action.setToolTip(tip)
        action.setStatusTip(tip)

    def take_selfie(self) -> None:
        """File > Take a Selfie…: the dialog (not modal to the code: the window opens the picture when it closes)."""
        if self.selfie_dialog is not None:
            self.selfie_dialog.raise_()
            return
        reason = self.selfie_unavailable()
        if reason is not None:
            self.update_selfie_action()
            self.set_status(reason)
            return
        try:
            source = self.frame_source_factory() if self.frame_source_factory is not None else QtCameraSource()
        except RuntimeError as e:
            self.set_status(str(e))
            return
        dialog = SelfieDialog(source, self)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.finished.connect(lambda result, d=dialog: self._selfie_finished(d, result))
        self.selfie_dialog = dialog
        dialog.open()

    def _selfie_finished(self, dialog: SelfieDialog, result: int) -> None:
        self.selfie_dialog = None
        image = dialog.image() if result == QDialog.DialogCode.Accepted else None
        dialog.deleteLater()
        if image is None:
            self.focus_photo()
            return
        self.open_selfie(image)

    def open_selfie(self, image: QImage, when: datetime | None = None) -> str:
        """Open ``image`` as a photo with no file yet; returns the name it goes by."""
        name = base = selfie_name(when)
        n = 1
        while name in self._selfie_names:  # two in one minute: "Selfie … 17-40 (2).jpg"
            n += 1
            name = base.removesuffix(".jpg") + f" ({n}).jpg"
        self._selfie_names = (*self._selfie_names, name)
        self.focus_photo()
        self._show_progress(0.0, f"Opening {name}…", cancellable=True)
        self.session.open(name, jpeg_bytes(image))
        return name
