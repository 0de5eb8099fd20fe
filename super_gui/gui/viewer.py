"""The photo view: the edited image (or the original) as a QImage, zoomable and pannable, with a
before/after split divider and the detected faces outlined for picking.

Everything is placed in photo pixel coordinates, so a preview frame, the original and the face outlines
line up whatever their own resolution. No rendering happens here: frames arrive as numpy arrays.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QFont, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

MAX_ZOOM = 16.0
DIVIDER_GRAB_PX = 8
TWO_UP_GAP = 24  # px between the original and the edit side by side
# What the view paints text and marks with (RGB, or RGBA for a box over the photo); presentation mode swaps in
# its own, of higher contrast.
COLOURS = {"background": (38, 38, 40), "placeholder": (150, 150, 155), "label_text": (255, 255, 255),
           "label_box": (0, 0, 0, 150), "prompt_text": (255, 196, 0), "prompt_box": (20, 20, 22, 215),
           "chosen": (255, 196, 0), "usable": (255, 255, 255), "unusable": (214, 72, 60), "tag_text": (20, 20, 20)}


def qimage_from_rgb(rgb: np.ndarray) -> QImage:
    """A QImage (owning its pixels) of an (h, w, 3) uint8 RGB array, in the format Qt paints fastest:
    32-bit xRGB. (Drawn scaled, an RGB888 image costs ~5x as much: Qt converts it on every paint.)"""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).convertToFormat(QImage.Format.Format_RGB32)


class ImageViewer(QWidget):
    """Signals: ``facePicked(int)`` when a face outline is clicked, ``zoomChanged(float)`` (photo pixels
    per device pixel: 1.0 is 100 %)."""

    facePicked = Signal(int)
    zoomChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._size: tuple[int, int] | None = None  # photo (width, height)
        self._after: tuple[np.ndarray, QImage] | None = None
        self._before: tuple[np.ndarray, QImage] | None = None
        self._faces: list[QPolygonF] = []
        self._usable: list[bool] = []
        self._prompt = ""  # a line shown over the top of the picture ("click the face to edit")
        self._chosen = -1
        self._picking = False
        self._hover = -1
        self.fit_mode = True
        self._scale = 1.0  # widget (logical) pixels per photo pixel
        self._centre = QPointF(0, 0)  # photo point at the widget's centre
        self.show_before = False
        self.split = False
        self.two_up = False  # the original and the edit side by side, where that shows them larger than a split
        self.colours = dict(COLOURS)
        self._split_at = 0.5  # fraction of the photo's width
        self._drag: str | None = None
        self._press = QPointF()
        self._moved = False
        self.placeholder = "Open a photo (Ctrl+O) or drop one here"
        self._changed: tuple[float, float, float, float] | None = None  # the last frame's (set_result)

    # -- content -----------------------------------------------------------------------------------

    def set_photo(self, width: int, height: int, original: np.ndarray) -> None:
        self._size = (width, height)
        self._changed = None
        img = (original, qimage_from_rgb(original))
        self._before = self._after = img
        self._faces, self._usable, self._chosen, self._picking, self._hover = [], [], -1, False, -1
        self._prompt = ""
        self.fit()

    def set_original(self, original: np.ndarray) -> None:
        """Show the original (before/after, split) from ``original``: the photo at any resolution."""
        self._before = (original, qimage_from_rgb(original))
        self.update()

    def original_array(self) -> np.ndarray | None:
        return None if self._before is None else self._before[0]

    def clear(self) -> None:
        self._size = self._after = self._before = None
        self._faces, self._usable, self._prompt = [], [], ""
        self.update()

    def set_result(self, image: np.ndarray, qimage: QImage | None = None,
                   changed: tuple[float, float, float, float] | None = None) -> None:
        """Show ``image``; ``qimage``: the same pixels as :func:`qimage_from_rgb` makes them, if already made.
        ``changed``: (x, y, w, h) in photo pixels, where alone ``image`` differs from the base it was laid on
        (a drag frame's window): after another such image of the same size only the two windows are
        painted again (a drag frame then repaints a fifth of the view, not all of it)."""
        before, last = self._after, self._changed
        self._after = (image, qimage if qimage is not None else qimage_from_rgb(image))
        self._changed = changed
        if (changed is None or last is None or before is None or before[0].shape != image.shape
                or before[1].size() != self._after[1].size() or self.show_before
                or self.two_up_shown() or self._size is None):
            self.repaint()
            return
        grow = 2.0 + self._scale * self._size[0] / image.shape[1]  # (a scaled draw blends neighbours in)
        rect = QRectF()
        for x, y, w, h in (last, changed):
            rect = rect.united(QRectF(self.to_widget(QPointF(x, y)), self.to_widget(QPointF(x + w, y + h))))
        self.repaint(rect.adjusted(-grow, -grow, grow, grow).toAlignedRect().intersected(self.rect()))

    def result_array(self) -> np.ndarray | None:
        return None if self._after is None else self._after[0]

    def set_faces(self, ovals: list[np.ndarray], chosen: int, picking: bool, usable: list[bool] | None = None,
                  edited: list[bool] | None = None) -> None:
        """Outline faces ((n, 2) photo-pixel polygons); ``picking``: a click on one picks it; ``usable``: per
        face, whether it can be edited (the others are drawn dotted in red); ``edited``: per face, whether it
        has an edit of its own (its number tag gets a check mark)."""
        self._faces = [QPolygonF([QPointF(float(x), float(y)) for x, y in oval]) for oval in ovals]
        self._usable = list(usable) if usable is not None else [True] * len(ovals)
        self._edited = list(edited) if edited is not None else [False] * len(ovals)
        self._chosen, self._picking = chosen, picking
        self.update()

    def set_prompt(self, text: str | None) -> None:
        """A line of text over the top of the picture (what to do next); None or "" hides it."""
        self._prompt = text or ""
        self.update()

    def prompt(self) -> str:
        return self._prompt

    def chosen_face_centre(self) -> QPointF | None:
        """The centre of the edited face's outline, in photo pixels (None without faces)."""
        if not 0 <= self._chosen < len(self._faces):
            return None
        return self._faces[self._chosen].boundingRect().center()

    def set_show_before(self, on: bool) -> None:
        if on != self.show_before:
            self.show_before = on
            self.update()

    def set_split(self, on: bool) -> None:
        self.split = on
        self.update()

    def split_fraction(self) -> float:
        return self._split_at

    def set_split_fraction(self, f: float) -> None:
        self._split_at = float(np.clip(f, 0.0, 1.0))
        self.update()

    # -- zoom and pan ------------------------------------------------------------------------------

    def _fit_scale(self) -> float:
        if self._size is None:
            return 1.0
        w, h = self._size
        return max(1e-3, min((self.width() - 16) / w, (self.height() - 16) / h))

    def fit(self) -> None:
        self.fit_mode = True
        self._apply_fit()
        self.update()
        self.zoomChanged.emit(self.zoom())

    def _apply_fit(self) -> None:
        if self._size is not None:
            self._scale = self._fit_scale()
            self._centre = QPointF(self._size[0] / 2, self._size[1] / 2)

    def actual_size(self) -> None:
        """100 %: one photo pixel per device pixel, centred on the edited face (the photo's centre without one)."""
        self.set_zoom(1.0)
        centre = self.chosen_face_centre()
        if centre is not None and self._size is not None:
            self._centre = centre
            self._clamp()
            self.update()

    def zoom(self) -> float:
        return self._scale * self.devicePixelRatioF()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        if self._size is None:
            return
        dpr = self.devicePixelRatioF()
        new = float(np.clip(zoom / dpr, min(self._fit_scale(), 0.05), MAX_ZOOM / dpr))
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        p = self.to_photo(anchor)
        self._scale = new
        self.fit_mode = False
        self._centre = p - (anchor - QPointF(self.width() / 2, self.height() / 2)) / new
        self._clamp()
        self.update()
        self.zoomChanged.emit(self.zoom())

    def _clamp(self) -> None:
        w, h = self._size
        self._centre = QPointF(float(np.clip(self._centre.x(), 0, w)), float(np.clip(self._centre.y(), 0, h)))

    def to_photo(self, p: QPointF) -> QPointF:
        return (p - QPointF(self.width() / 2, self.height() / 2)) / self._scale + self._centre

    def to_widget(self, p: QPointF) -> QPointF:
        return (p - self._centre) * self._scale + QPointF(self.width() / 2, self.height() / 2)

    def paint_size(self) -> tuple[int, int] | None:
        """The device pixels the photo covers when shown alone and whole (None before a photo is open, and when
        zoomed in past the window's edges)."""
        if self._size is None:
            return None
        r, dpr = self.photo_rect(), self.devicePixelRatioF()
        if not QRectF(self.rect()).adjusted(-1, -1, 1, 1).contains(r):
            return None
        return (max(1, round(r.width() * dpr)), max(1, round(r.height() * dpr)))

    def _draw_photo(self, p: QPainter, target: QRectF, image: QImage) -> None:
        """Draw ``image`` over ``target``: a pixel-exact blit where it is already the target's size in device
        pixels (a drag frame scaled on the render thread), else scaled."""
        dpr = self.devicePixelRatioF()
        if (image.width(), image.height()) == (round(target.width() * dpr), round(target.height() * dpr)):
            image.setDevicePixelRatio(dpr)
            p.drawImage(QPointF(round(target.left() * dpr) / dpr, round(target.top() * dpr) / dpr), image)
        else:
            p.drawImage(target, image)

    def photo_rect(self) -> QRectF:
        w, h = self._size
        return QRectF(self.to_widget(QPointF(0, 0)), self.to_widget(QPointF(w, h)))

    def resizeEvent(self, event) -> None:
        if self.fit_mode:
            self._apply_fit()
        super().resizeEvent(event)

    # -- painting ----------------------------------------------------------------------------------

    def _colour(self, name: str) -> QColor:
        return QColor(*self.colours[name])

    def two_up_shown(self) -> bool:
        """The original and the edit are side by side (``two_up``, no face to pick, and the photo's shape makes
        each at least 3/4 the size a single picture would be)."""
        if not self.two_up or self._size is None or self._picking or self.show_before:
            return False
        w, h = self._size
        return self._two_up_scale() >= 0.75 * min((self.width() - 16) / w, (self.height() - 16) / h)

    def _two_up_scale(self) -> float:
        w, h = self._size
        return max(1e-3, min((self.width() - 16 - TWO_UP_GAP) / (2 * w), (self.height() - 16) / h))

    def two_up_rects(self) -> tuple[QRectF, QRectF]:
        """Where the original and the edit are drawn side by side."""
        s = self._two_up_scale()
        w, h = self._size[0] * s, self._size[1] * s
        top = (self.height() - h) / 2
        return (QRectF(self.width() / 2 - TWO_UP_GAP / 2 - w, top, w, h), QRectF(self.width() / 2 + TWO_UP_GAP / 2, top, w, h))

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self._colour("background"))
        if self._size is None or self._after is None:
            p.setPen(self._colour("placeholder"))
            f = QFont(self.font())
            f.setPointSizeF(f.pointSizeF() * 1.3)
            p.setFont(f)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom() < 2.0)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        target = self.photo_rect()
        before, after = self._before[1], self._after[1]
        if self.show_before:
            p.drawImage(target, before)
            self._label(p, "Original", target, left=True)
        elif self.two_up_shown():
            left, right = self.two_up_rects()
            p.drawImage(left, before)
            p.drawImage(right, after)
            self._label(p, "Before", left, left=True)
            self._label(p, "After", right, left=True)
        elif self.split:
            x = self._divider_x()
            p.save()
            p.setClipRect(QRectF(target.left(), target.top(), x - target.left(), target.height()))
            p.drawImage(target, before)
            p.setClipRect(QRectF(x, target.top(), target.right() - x, target.height()))
            self._draw_photo(p, target, after)
            p.restore()
            p.setPen(QPen(QColor(255, 255, 255, 230), 2))
            p.drawLine(QPointF(x, target.top()), QPointF(x, target.bottom()))
            mid = QPointF(x, min(max(target.center().y(), 20), self.height() - 20))
            p.setBrush(QColor(255, 255, 255, 230))
            p.drawEllipse(mid, 9, 9)
            p.setPen(QPen(QColor(40, 40, 40), 2))
            p.drawLine(mid + QPointF(-4, 0), mid + QPointF(-1, -3))
            p.drawLine(mid + QPointF(-4, 0), mid + QPointF(-1, 3))
            p.drawLine(mid + QPointF(4, 0), mid + QPointF(1, -3))
            p.drawLine(mid + QPointF(4, 0), mid + QPointF(1, 3))
            self._label(p, "Before", target, left=True)
            self._label(p, "After", target, left=False)
        else:
            self._draw_photo(p, target, after)
        self._draw_faces(p)
        self._draw_prompt(p, target)

    def outlines_shown(self) -> bool:
        """Face outlines are drawn: several faces (or one to pick), and never over the Original or the
        before/after split, which are for looking at the faces, unless a face must be picked."""
        if (len(self._faces) < 2 and not self._picking) or self.two_up_shown():
            return False
        return self._picking or not (self.show_before or self.split)

    def _draw_prompt(self, p: QPainter, target: QRectF) -> None:
        if not self._prompt:
            return
        visible = target.intersected(QRectF(self.rect()))
        f = QFont(self.font())
        f.setPointSizeF(f.pointSizeF() * 1.25)
        f.setBold(True)
        p.setFont(f)
        fm = p.fontMetrics()
        w = min(visible.width() - 20, fm.horizontalAdvance(self._prompt) + 36)
        box = QRectF(visible.center().x() - w / 2, visible.top() + 14, w, fm.height() + 18)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self._colour("prompt_box"))
        p.drawRoundedRect(box, 8, 8)
        p.setPen(self._colour("prompt_text"))
        p.drawText(box.adjusted(10, 0, -10, 0), Qt.AlignmentFlag.AlignCenter,
                   fm.elidedText(self._prompt, Qt.TextElideMode.ElideRight, int(box.width() - 20)))

    def _label(self, p: QPainter, text: str, target: QRectF, left: bool) -> None:
        visible = target.intersected(QRectF(self.rect()))
        fm = p.fontMetrics()
        w, h = fm.horizontalAdvance(text) + 16, fm.height() + 8
        x = visible.left() + 10 if left else visible.right() - 10 - w
        box = QRectF(x, visible.top() + 10, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self._colour("label_box"))
        p.drawRoundedRect(box, 4, 4)
        p.setPen(self._colour("label_text"))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _draw_faces(self, p: QPainter) -> None:
        if not self.outlines_shown():
            return
        for i, poly in enumerate(self._faces):
            wpoly = QPolygonF([self.to_widget(q) for q in poly])
            chosen = i == self._chosen and not self._picking
            usable = i >= len(self._usable) or self._usable[i]
            colour = self._colour("chosen" if chosen else "usable" if usable else "unusable")
            pen = QPen(colour, 3 if i == self._hover else 2)
            if not chosen:
                pen.setStyle(Qt.PenStyle.DashLine if usable else Qt.PenStyle.DotLine)
            p.setPen(pen)
            p.setBrush(QColor(255, 255, 255, 40) if i == self._hover and usable else Qt.BrushStyle.NoBrush)
            p.drawPolygon(wpoly)
            r = wpoly.boundingRect()
            edited = i < len(getattr(self, "_edited", ())) and self._edited[i]
            half = 20 if edited else 12  # an edited face's tag: a pill with a check mark
            tag = QRectF(r.center().x() - half, r.top() - 30, 2 * half, 24)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(colour)
            if edited:
                p.drawRoundedRect(tag, 12, 12)
            else:
                p.drawEllipse(tag)
            p.setPen(self._colour("tag_text"))
            p.drawText(tag, Qt.AlignmentFlag.AlignCenter, f"{i + 1} \u2713" if edited else str(i + 1))

    def _divider_x(self) -> float:
        return self.to_widget(QPointF(self._split_at * self._size[0], 0)).x()

    # -- mouse -------------------------------------------------------------------------------------

    def _face_at(self, pos: QPointF) -> int:
        q = self.to_photo(pos)
        for i, poly in enumerate(self._faces):
            if poly.containsPoint(q, Qt.FillRule.OddEvenFill):
                return i
        return -1

    def wheelEvent(self, event) -> None:
        if self._size is None or self.two_up_shown():  # (side by side is always the whole photo)
            return
        steps = event.angleDelta().y() / 120.0
        self.set_zoom(self.zoom() * (1.25 ** steps), event.position())

    def mousePressEvent(self, event) -> None:
        if self._size is None or self.two_up_shown():
            return
        self._press, self._moved = event.position(), False
        if self.split and not self.show_before and abs(event.position().x() - self._divider_x()) <= DIVIDER_GRAB_PX:
            self._drag = "divider"
        elif event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            self._drag = "pan"
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event) -> None:
        if self._size is None:
            return
        pos = event.position()
        if self._drag == "divider":
            self.set_split_fraction(self.to_photo(pos).x() / self._size[0])
            return
        if self._drag == "pan":
            delta = pos - self._press
            if self._moved or abs(delta.x()) + abs(delta.y()) > 4:
                self._moved = True
                self._press = pos
                self.fit_mode = False
                self._centre -= delta / self._scale
                self._clamp()
                self.update()
            return
        hover = self._face_at(pos) if self.outlines_shown() else -1
        if hover != self._hover:
            self._hover = hover
            self.update()
        near_divider = self.split and not self.two_up_shown() and abs(pos.x() - self._divider_x()) <= DIVIDER_GRAB_PX
        self.setCursor(QCursor(Qt.CursorShape.SplitHCursor if near_divider else
                               Qt.CursorShape.ArrowCursor if hover < 0 else Qt.CursorShape.PointingHandCursor
                               if hover >= len(self._usable) or self._usable[hover] else Qt.CursorShape.ForbiddenCursor))

    def mouseReleaseEvent(self, event) -> None:
        drag, self._drag = self._drag, None
        self.unsetCursor()
        if drag == "pan" and not self._moved and event.button() == Qt.MouseButton.LeftButton and self.outlines_shown():
            i = self._face_at(event.position())
            if i >= 0:
                self.facePicked.emit(i)

    def leaveEvent(self, event) -> None:
        if self._hover != -1:
            self._hover = -1
            self.update()
