"""Presentation mode for the editor window (a mixin of :class:`~super_gui.gui.main_window.MainWindow`): F11 or
View > Present; Esc or F11 leaves.

Full screen, for a stand or a big screen: large type (18 pt at 1080 lines, more on a taller screen, never under
16 pt), every text colour at least 7:1 against what it is drawn on (WCAG's contrast ratio, AAA), the original
and the edit side by side (or split, for a landscape photo), and the window's own sliders with handles big enough
for a finger (44 px). The side panel keeps only the head and lens, with **Sweep** (the loop of
:mod:`super_gui.gui.sweep`), **Take a Selfie** and **Leave**. Everything it changes is noted on the way in and
put back on the way out: the window's state and geometry, menus, status bar, splitter, tab, the photo view's
mode and zoom, and the side panel's groups.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QVBoxLayout, QWidget

from super_gui.gui.sweep import Sweep

# Colours (#rrggbb). Every (text, background) pair the presentation draws is in TEXT_PAIRS, checked >= 7:1.
BG = "#0e0e10"  # window, panels, status bar
FIELD = "#000000"  # number fields, tooltips, menus
BUTTON = "#2b2b30"
BUTTON_DOWN = "#404047"
BUTTON_OFF = "#1a1a1d"
TEXT = "#ffffff"
TEXT_OFF = "#bdbdc2"  # disabled text: dimmer, still 7:1 on every background it can have
ACCENT = "#ffb000"  # slider handles, focus frames, selections
ON_ACCENT = "#000000"
LINE = "#8c8c94"  # borders (not text)
TEXT_PAIRS = [(TEXT, bg) for bg in (BG, FIELD, BUTTON, BUTTON_DOWN, BUTTON_OFF)] + \
             [(TEXT_OFF, bg) for bg in (BG, FIELD, BUTTON_OFF)] + [(ON_ACCENT, ACCENT)]
# The photo view's text over the photo: boxes nearly opaque, so that whatever the photo is underneath (a white
# or a black picture) the pair stays >= 7:1 (tests/gui/test_present.py composites them over both).
VIEWER_COLOURS = {"background": (14, 14, 16), "placeholder": (255, 255, 255), "label_text": (255, 255, 255),
                  "label_box": (0, 0, 0, 230), "prompt_text": (255, 196, 0), "prompt_box": (0, 0, 0, 235),
                  "chosen": (255, 196, 0), "usable": (255, 255, 255), "unusable": (255, 120, 110), "tag_text": (0, 0, 0)}
LIMIT_COLOURS = {"warn": (255, 170, 80), "bad": (255, 130, 120)}  # the status bar's warnings (gui/limits.py)
VIEWER_TEXT_PAIRS = [("placeholder", "background"), ("label_text", "label_box"), ("prompt_text", "prompt_box"),
                     ("tag_text", "chosen"), ("tag_text", "usable"), ("tag_text", "unusable")]
BASE_PT = 18.0  # at 1080 lines
MIN_PT = 16.0
HANDLE_PX = 44
PITCH = ("Close-up selfies give big noses and hide the ears. super_gui rebuilds the head in 3D and takes the "
         "photo again from farther away: drag the sliders, or press Sweep.")


def relative_luminance(colour: str | tuple) -> float:
    """WCAG 2 relative luminance of an sRGB colour ("#rrggbb" or (r, g, b) 0..255)."""
    if isinstance(colour, str):
        colour = tuple(int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))

    def lin(c: float) -> float:
        c /= 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a, b) -> float:
    """WCAG contrast ratio of two colours, 1..21."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def point_size(screen_height: int) -> float:
    """The presentation's type size for a screen ``screen_height`` logical pixels tall."""
    return max(MIN_PT, round(BASE_PT * screen_height / 1080.0, 1))


def style_sheet(pt: float) -> str:
    handle_margin = (HANDLE_PX - 10) // 2
    return f"""
QWidget {{ font-size: {pt:g}pt; color: {TEXT}; background-color: {BG}; }}
QWidget:disabled {{ color: {TEXT_OFF}; }}
QLabel, QCheckBox {{ background: transparent; }}
QGroupBox {{ border: 2px solid {LINE}; border-radius: 10px; margin-top: 1.3em; padding: 14px 10px 10px 10px;
            font-weight: bold; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 14px; padding: 0 6px; color: {TEXT}; }}
QPushButton {{ background-color: {BUTTON}; color: {TEXT}; border: 2px solid {LINE}; border-radius: 10px;
              min-height: 52px; padding: 4px 18px; }}
QPushButton:pressed {{ background-color: {BUTTON_DOWN}; }}
QPushButton:focus {{ border-color: {ACCENT}; }}
QPushButton:disabled {{ background-color: {BUTTON_OFF}; color: {TEXT_OFF}; border-style: dashed; }}
QAbstractSpinBox {{ background-color: {FIELD}; color: {TEXT}; border: 2px solid {LINE}; border-radius: 6px;
                    min-height: 44px; padding: 0 6px; selection-background-color: {ACCENT};
                    selection-color: {ON_ACCENT}; }}
QAbstractSpinBox:focus {{ border-color: {ACCENT}; }}
QAbstractSpinBox:disabled {{ color: {TEXT_OFF}; border-style: dashed; }}
QSlider {{ min-height: {HANDLE_PX + 8}px; background: transparent; }}
QSlider::groove:horizontal {{ height: 10px; background: #5a5a62; border-radius: 5px; }}
QSlider::handle:horizontal {{ background: {ACCENT}; border: 3px solid {TEXT}; width: {HANDLE_PX - 6}px;
                              margin: -{handle_margin}px 0; border-radius: {HANDLE_PX // 2}px; }}
QSlider::handle:horizontal:disabled {{ background: #6a6a72; border-color: {TEXT_OFF}; }}
QScrollArea, QSplitter::handle {{ border: none; background-color: {BG}; }}
QStatusBar, QStatusBar QLabel {{ background-color: {BG}; color: {TEXT}; }}
QProgressBar {{ background-color: {FIELD}; border: 2px solid {LINE}; border-radius: 6px; min-height: 24px; }}
QProgressBar::chunk {{ background-color: {ACCENT}; }}
QToolTip {{ background-color: {FIELD}; color: {TEXT}; border: 2px solid {LINE}; }}
QMenu {{ background-color: {FIELD}; color: {TEXT}; }}
QMenu::item:selected {{ background-color: {ACCENT}; color: {ON_ACCENT}; }}
QMenu::item:disabled {{ color: {TEXT_OFF}; }}
"""


class PresentPanel(QWidget):
    """The top of the side panel in presentation mode: what this is, Sweep, Take a Selfie, Leave."""

    def __init__(self, window):
        super().__init__()
        self.window_ = window
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 8)
        self.pitch = QLabel(PITCH)
        self.pitch.setWordWrap(True)
        self.sweep = QPushButton("Sweep")
        self.selfie = QPushButton("Take a Selfie")
        self.leave = QPushButton("Leave Presentation (Esc)")
        for w in (self.pitch, self.sweep, self.selfie, self.leave):
            layout.addWidget(w)
        self.sweep.clicked.connect(window.start_sweep)
        self.selfie.clicked.connect(window.take_selfie)
        self.leave.clicked.connect(window.leave_presentation)
        for button, name in ((self.sweep, "sweep"), (self.selfie, "selfie")):  # on and off with their actions
            action = window.actions_by_name[name]
            action.changed.connect(lambda b=button, a=action: self._follow(b, a))
            self._follow(button, action)

    @staticmethod
    def _follow(button: QPushButton, action) -> None:
        button.setEnabled(action.isEnabled())
        if action.statusTip():
            button.setToolTip(action.statusTip())

    def eventFilter(self, obj, event) -> bool:
        """(Installed on the application while presenting.) Esc leaves presentation mode, from anywhere in the
        window; a dialog keeps its own Esc."""
        w = self.window_
        if (w.presenting and event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress)
                and event.key() == Qt.Key.Key_Escape and not event.modifiers()
                and isinstance(obj, QWidget) and obj.window() is w):
            event.accept()
            if event.type() == QEvent.Type.KeyPress:
                w.leave_presentation()
            return True
        return False


class PresentMixin:
    _present: dict | None = None  # what presentation mode changed, to be put back; None: not presenting
    _present_panel: PresentPanel | None = None
    _sweep: Sweep | None = None

    @property
    def presenting(self) -> bool:
        return self._present is not None

    @property
    def sweep(self) -> Sweep:
        if self._sweep is None:
            self._sweep = Sweep(self)
            self._sweep.started.connect(lambda: self.actions_by_name["sweep"].setChecked(True))
            self._sweep.stopped.connect(lambda: self.actions_by_name["sweep"].setChecked(False))
        return self._sweep

    def toggle_sweep(self, on: bool | None = None) -> None:
        """View > Sweep."""
        on = not self.sweep.running if on is None else on
        if on:
            self.start_sweep()
        else:
            self.sweep.stop()

    def start_sweep(self) -> bool:
        if not self.sweep.start():
            self.actions_by_name["sweep"].setChecked(False)
            self.set_status("Open a photo (or take a selfie) and let it be analysed first: Sweep turns its head.")
            return False
        return True

    def toggle_presentation(self, on: bool | None = None) -> None:
        """F11 / View > Present."""
        on = not self.presenting if on is None else on
        self.enter_presentation() if on else self.leave_presentation()

    def _present_widgets(self) -> list[QWidget]:
        """The window's parts that presentation mode hides."""
        c = self.controls
        return [self.menuBar(), c.capture_box, c.export_box, c.tips, self.estimates_label, self.render_label,
                self.tabs.tabBar()]

    # Off while presenting: the 3D tab and the Preferences dialog are for the desk, not the stand (and keep
    # their own, dimmer colours).
    _PRESENT_OFF = ("mesh", "preferences")

    def enter_presentation(self) -> None:
        if self.presenting:
            return
        self.watch_cameras()  # (the panel's Take a Selfie follows that action)
        if self._present_panel is None:
            self._present_panel = PresentPanel(self)
            self.controls.layout().insertWidget(0, self._present_panel)
            self.addActions(list(self.actions_by_name.values()))  # their keys work with the menu bar hidden
        v, split = self.viewer, self.centralWidget()
        self._present = {
            "state": self.windowState(), "rect": self.geometry(), "style": self.styleSheet(),
            "limits": dict(self.limits.colours), "on": {n: self.actions_by_name[n].isEnabled() for n in self._PRESENT_OFF},
            "shown": [w for w in self._present_widgets() if w.isVisibleTo(w.parentWidget() or self)],
            "splitter": split.saveState(), "tab": self.tabs.currentIndex(),
            "viewer": (dict(v.colours), v.two_up, v.split, v.split_fraction(), v.fit_mode, v._scale, v._centre),
        }
        QApplication.instance().installEventFilter(self._present_panel)
        for w in self._present_widgets():
            w.hide()
        self._present_panel.show()
        self.tabs.setCurrentWidget(self.viewer)
        screen = (self.screen() or QApplication.primaryScreen()).geometry()
        self.setStyleSheet(style_sheet(point_size(screen.height())))
        v.colours = dict(VIEWER_COLOURS)
        self.limits.set_colours(LIMIT_COLOURS)
        for name in self._PRESENT_OFF:
            self.actions_by_name[name].setEnabled(False)
        v.two_up, v.split = True, True
        v.set_split_fraction(0.5)
        self.showFullScreen()
        panel = max(460, int(screen.width() * 0.3))
        split.setSizes([max(1, screen.width() - panel), panel])
        v.fit()
        # Without a window manager (a bare X server) nothing makes the window full screen: cover the screen.
        QTimer.singleShot(300, lambda: self.presenting and self.geometry() != screen and self.setGeometry(screen))
        self.actions_by_name["present"].setChecked(True)
        self.focus_photo()

    def leave_presentation(self) -> None:
        if not self.presenting:
            return
        if self._sweep is not None:
            self._sweep.stop()
        state, self._present = self._present, None
        QApplication.instance().removeEventFilter(self._present_panel)
        self.setStyleSheet(state["style"])
        self.limits.set_colours(state["limits"])
        for name, on in state["on"].items():
            self.actions_by_name[name].setEnabled(on)
        self._present_panel.hide()
        for w in state["shown"]:
            w.show()
        self.tabs.setCurrentIndex(state["tab"])
        if state["state"] & Qt.WindowState.WindowFullScreen:
            self.showFullScreen()
        elif state["state"] & Qt.WindowState.WindowMaximized:
            self.showMaximized()
        else:
            self.showNormal()
            self.setGeometry(state["rect"])
        self.centralWidget().restoreState(state["splitter"])
        v = self.viewer
        colours, v.two_up, v.split, fraction, fit_mode, scale, centre = state["viewer"]
        v.colours = colours
        v.set_split_fraction(fraction)
        if fit_mode:
            v.fit()
        else:
            v.fit_mode, v._scale, v._centre = False, scale, centre
            v.update()
        self.actions_by_name["present"].setChecked(False)
        self.focus_photo()
