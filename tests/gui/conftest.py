"""GUI fixtures: a fresh QSettings per test, dialogs captured instead of shown, a window torn down
with its threads."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

WAIT_MS = 90_000  # analysis + inversion on a slow, busy 2-core machine


@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "super_gui.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def dialogs(monkeypatch) -> list[tuple[str, str]]:
    """Every warning box the window would show, as (title, message), instead of blocking the test."""
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda parent, title, text, *a, **k: shown.append((title, text))))
    return shown


@pytest.fixture
def window(qtbot, settings, dialogs):
    from super_gui.gui.main_window import MainWindow

    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def wait_ready(qtbot, window, timeout: int = WAIT_MS) -> None:
    """Until the photo is analysed and its first frame is on screen."""
    qtbot.waitUntil(lambda: window.session.current is not None and window.last_frame is not None
                    and window.last_frame.generation == window.session.generation, timeout=timeout)


def wait_frame(qtbot, window, view, draft: bool = False, timeout: int = 30_000) -> None:
    qtbot.waitUntil(lambda: window.last_frame is not None and window.last_frame.view == view
                    and window.last_frame.draft == draft, timeout=timeout)
