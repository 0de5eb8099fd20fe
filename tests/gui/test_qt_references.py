"""The Qt bindings keep Python's reference counts: an editing session makes millions of Qt calls, and a
binding that returns None from a void method without a reference (PySide6 6.12.0 on Python 3.11) takes one
from None's count each time, until Python stops with "Fatal Python error: none_dealloc"."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF, QRectF  # noqa: E402
from PySide6.QtGui import QColor, QImage, QPainter  # noqa: E402


def test_painting_keeps_nones_reference_count(qapp):
    target = QImage(64, 64, QImage.Format.Format_RGB32)
    frame = QImage(16, 16, QImage.Format.Format_RGB32)
    painter = QPainter(target)
    try:
        before = sys.getrefcount(None)
        for _ in range(2000):  # what the viewer does for every frame it paints
            painter.fillRect(QRectF(0, 0, 64, 64), QColor(38, 38, 40))
            frame.setDevicePixelRatio(1.0)
            painter.drawImage(QPointF(4, 4), frame)
            painter.drawImage(QRectF(0, 0, 32, 32), frame)
        after = sys.getrefcount(None)
    finally:
        painter.end()
    assert after >= before - 100, f"None lost {before - after} references in 8,000 Qt calls"
