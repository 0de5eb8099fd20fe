"""Frames from a camera, for File > Take a Selfie….

The selfie dialog takes its pictures from a :class:`FrameSource`: anything with ``start()``, ``stop()`` and a
``frameReady(QImage)`` signal (``failed(str)`` too, for a camera that stops working). :class:`QtCameraSource`
is the real one (Qt Multimedia: ``QMediaDevices``, ``QCamera``, ``QMediaCaptureSession``, ``QVideoSink``);
:class:`ImageFrameSource` plays a list of images instead (tests, demos: CI has no camera).
:func:`camera_unavailable` says in plain words why no camera can be used, or None when one can.

Qt Multimedia comes with the PySide6-Addons package (and needs the PulseAudio client library on Linux): it is
imported only here, and only when asked, so that the editor runs without it.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage

NO_MULTIMEDIA = ("Taking a selfie needs Qt Multimedia (the PySide6-Addons package), which is not installed "
                 "or cannot load here.")
NO_CAMERA = "No camera was found: connect one and this turns on by itself."


class FrameSource(Protocol):
    """Where the selfie dialog's pictures come from. ``frameReady`` carries each new picture as a QImage;
    ``failed`` a sentence when the source stops working. ``start`` may be called again after ``stop``."""

    frameReady: Signal
    failed: Signal

    def start(self) -> None: ...

    def stop(self) -> None: ...


def multimedia():
    """The QtMultimedia module, or None when it is not installed or cannot load (a missing system library).
    Its start-up chatter (optional libraries it probes for: PipeWire, VA-API) is not the user's business:
    those log categories are silenced, warnings from elsewhere are kept."""
    from PySide6.QtCore import QLoggingCategory

    QLoggingCategory.setFilterRules("qt.multimedia.symbolsresolver=false\nqt.multimedia.ffmpeg.info=false\n"
                                    "qt.multimedia.ffmpeg=false")
    try:
        from PySide6 import QtMultimedia
    except (ImportError, OSError):
        return None
    return QtMultimedia


def camera_unavailable() -> str | None:
    """Why no camera can be used, in a sentence for the user; None when there is one."""
    mm = multimedia()
    if mm is None:
        return NO_MULTIMEDIA
    if not mm.QMediaDevices.videoInputs():
        return NO_CAMERA
    return None


class QtCameraSource(QObject):
    """The default camera (or ``device``, a QCameraDevice) through Qt Multimedia, at its largest picture
    that still comes at 15 frames a second or more."""

    frameReady = Signal(QImage)
    failed = Signal(str)

    def __init__(self, device=None, parent: QObject | None = None):
        super().__init__(parent)
        mm = multimedia()
        if mm is None:
            raise RuntimeError(NO_MULTIMEDIA)
        device = device if device is not None else mm.QMediaDevices.defaultVideoInput()
        self.camera = mm.QCamera(device, self)
        formats = [f for f in device.videoFormats() if f.maxFrameRate() >= 15]
        if formats:
            best = max(formats, key=lambda f: (f.resolution().width() * f.resolution().height(), f.maxFrameRate()))
            self.camera.setCameraFormat(best)
        self.capture = mm.QMediaCaptureSession(self)
        self.capture.setCamera(self.camera)
        self.sink = mm.QVideoSink(self)
        self.capture.setVideoSink(self.sink)
        self.sink.videoFrameChanged.connect(self._on_frame)
        self.camera.errorOccurred.connect(self._on_error)
        self.description = device.description()

    def start(self) -> None:
        self.camera.start()

    def stop(self) -> None:
        self.camera.stop()

    def _on_frame(self, frame) -> None:
        image = frame.toImage()
        if not image.isNull():
            self.frameReady.emit(image)

    def _on_error(self, _error, text: str) -> None:
        self.failed.emit(f"The camera stopped working: {text or 'no reason given'}.")


def qimage_from_array(rgb: np.ndarray) -> QImage:
    """An (h, w, 3) uint8 RGB array as a QImage that owns its pixels."""
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class ImageFrameSource(QObject):
    """Plays ``images`` (QImages or (h, w, 3) uint8 arrays) at ``fps``, over and over: a camera for tests and
    demos. ``started`` and ``stopped`` count the calls; ``fail(text)`` acts out a camera that breaks."""

    frameReady = Signal(QImage)
    failed = Signal(str)

    def __init__(self, images: Sequence, fps: float = 15.0, parent: QObject | None = None):
        super().__init__(parent)
        self.images = [im if isinstance(im, QImage) else qimage_from_array(im) for im in images]
        if not self.images:
            raise ValueError("ImageFrameSource needs at least one image")
        self.sent = 0
        self.started = self.stopped = 0
        self._timer = QTimer(self)
        self._timer.setInterval(max(1, round(1000 / fps)))
        self._timer.timeout.connect(self._next)

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        self.started += 1
        self._timer.start()
        QTimer.singleShot(0, self._next)  # the first picture at once, as a camera that is already on

    def stop(self) -> None:
        self.stopped += 1
        self._timer.stop()

    def fail(self, text: str) -> None:
        self._timer.stop()
        self.failed.emit(text)

    def _next(self) -> None:
        if self._timer.isActive():
            self.frameReady.emit(self.images[self.sent % len(self.images)])
            self.sent += 1
