"""The 3D tab: the depth-induced mesh with the capture camera (white) and the virtual camera (amber).

Frames are drawn offscreen by the render thread (:mod:`super_gui.render.mesh_view`) and shown here as
images, so the view works on every Qt platform, the offscreen one included. Drag to orbit, wheel to move
closer, double-click to go back to the starting view.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QRadioButton, QSizePolicy, QVBoxLayout, QWidget

from super_gui.core.camera import View
from super_gui.render.mesh_view import MODES, Orbit
from super_gui.gui.viewer import qimage_from_rgb

MAX_RENDER_SIDE = 1280


def qimage_from_frame(image: np.ndarray) -> QImage:
    """A QImage (owning its pixels, 32-bit xRGB: what Qt paints fastest) of a 3D frame: (h, w, 3) RGB, or
    (h, w, 4) RGBX as the render thread reads it back."""
    if image.shape[2] == 3:
        return qimage_from_rgb(image)
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    return QImage(image.data, w, h, 4 * w, QImage.Format.Format_RGBX8888).convertToFormat(QImage.Format.Format_RGB32)


class MeshCanvas(QWidget):
    """Shows the latest 3D frame; mouse drags change the orbit (``orbitChanged``)."""

    orbitChanged = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.orbit = Orbit()
        self._image = None
        self._press: QPointF | None = None
        self.placeholder = "The 3D head appears here once a photo is analysed"

    def render_size(self) -> tuple[int, int]:
        dpr = self.devicePixelRatioF()
        w, h = self.width() * dpr, self.height() * dpr
        k = min(1.0, MAX_RENDER_SIDE / max(w, h, 1))
        return max(16, int(w * k)), max(16, int(h * k))

    def set_image(self, image: np.ndarray | None) -> None:
        """Show ``image``: (h, w, 3) RGB or (h, w, 4) RGBX uint8 (None: the placeholder)."""
        self._image = None if image is None else (image, qimage_from_frame(image))
        self.update()

    def image_array(self) -> np.ndarray | None:
        return None if self._image is None else self._image[0]

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(33, 33, 36))
        if self._image is None:
            p.setPen(QColor(150, 150, 155))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        img = self._image[1]
        k = min(self.width() / img.width(), self.height() / img.height())
        w, h = img.width() * k, img.height() * k
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawImage(QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h), img)

    def set_orbit(self, yaw: float, pitch: float, distance_scale: float) -> None:
        self.orbit = Orbit(yaw, float(np.clip(pitch, -85.0, 85.0)), float(np.clip(distance_scale, 0.2, 5.0)))
        self.orbitChanged.emit()

    def mousePressEvent(self, event) -> None:
        self._press = event.position()
        self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event) -> None:
        if self._press is None:
            return
        d = event.position() - self._press
        self._press = event.position()
        o = self.orbit
        self.set_orbit(o.yaw_deg - 0.4 * d.x(), o.pitch_deg + 0.4 * d.y(), o.distance_scale)

    def mouseReleaseEvent(self, event) -> None:
        self._press = None
        self.unsetCursor()

    def mouseDoubleClickEvent(self, event) -> None:
        o = Orbit()
        self.set_orbit(o.yaw_deg, o.pitch_deg, o.distance_scale)

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        o = self.orbit
        self.set_orbit(o.yaw_deg, o.pitch_deg, o.distance_scale * 0.85 ** steps)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.orbitChanged.emit()


class MeshPanel(QWidget):
    """The 3D tab: a mode switch, a legend and the canvas. ``view()`` gives the editor's current view;
    frames are asked of ``session`` only while the tab is visible."""

    def __init__(self, session, view: Callable[[], View], parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self._view = view
        self.canvas = MeshCanvas()
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 4, 8, 4)
        self.modes = QButtonGroup(self)
        for i, mode in enumerate(MODES):
            b = QRadioButton(mode.capitalize())
            b.setChecked(i == 0)
            self.modes.addButton(b, i)
            bar.addWidget(b)
        bar.addStretch(1)
        legend = QLabel('<span style="color:#ebebeb">&#9632;</span> capture camera &nbsp; '
                        '<span style="color:#ffb000">&#9632;</span> virtual camera &nbsp; '
                        '<span style="color:#909090">drag to orbit · wheel to zoom · double-click to reset</span>')
        bar.addWidget(legend)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)
        self.modes.idClicked.connect(lambda _i: self.refresh())
        self.canvas.orbitChanged.connect(self.refresh)
        session.meshFrameReady.connect(self._on_frame)
        session.photoLoaded.connect(lambda _loaded: self.canvas.set_image(None))

    def mode(self) -> str:
        return MODES[self.modes.checkedId()]

    def set_mode(self, mode: str) -> None:
        self.modes.button(MODES.index(mode)).setChecked(True)
        self.refresh()

    def refresh(self) -> None:
        """Ask for a frame of the current view, if this tab is on screen."""
        if not self.isVisible() or self.session.current is None:
            return
        self.session.request_mesh(self._view(), self.canvas.orbit, self.mode(), self.canvas.render_size())

    def _on_frame(self, frame) -> None:
        self.canvas.set_image(frame.image)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()
