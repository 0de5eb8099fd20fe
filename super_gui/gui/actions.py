"""Menus and their shortcuts, the recent-files list and the About box."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox

from super_gui import __version__

MAX_RECENT = 10

ABOUT_HTML = f"""
<h3>super_gui {__version__}</h3>
<p>Re-photographs the head in a close-up selfie: undistort the wide-angle look, or turn the head,
following SUPER (Selfie Undistortion and Head Pose Editing with Identity Preservation, arXiv 2406.12700).</p>
<p><b>Built with</b></p>
<ul>
<li>Google MediaPipe face landmarks and person segmentation, Apache License 2.0</li>
<li>Qt 6 through PySide6 (Qt for Python), GNU LGPL v3</li>
<li>ModernGL (MIT licence), OpenCV (Apache 2.0), NumPy, SciPy, Pillow, trimesh, kornia and PyTorch</li>
</ul>
<p>The face template used to measure head pose (<code>resources/face_template.npz</code>) was measured on renders
of &ldquo;Infinite, 3D Head Scan&rdquo; by Lee Perry-Smith, licensed under Creative Commons Attribution 3.0 (CC BY 3.0).</p>
"""


def recent_files(settings: QSettings) -> list[str]:
    value = settings.value("recent_files", [])
    if isinstance(value, str):  # QSettings returns a lone string for a one-item list in ini files
        value = [value]
    return [str(v) for v in (value or [])]


def add_recent_file(settings: QSettings, path: str | Path) -> None:
    p = str(Path(path).resolve())
    files = [f for f in recent_files(settings) if f != p]
    settings.setValue("recent_files", [p, *files][:MAX_RECENT])


def _action(window: QMainWindow, menu: QMenu, text: str, slot, shortcut=None, *, checkable: bool = False,
            tip: str = "") -> QAction:
    a = QAction(text, window)
    if shortcut is not None:
        shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
        a.setShortcuts([QKeySequence(s) for s in shortcuts])
    a.setCheckable(checkable)
    if tip:
        a.setStatusTip(tip)
    a.triggered.connect(slot)
    menu.addAction(a)
    return a


def build_menus(w) -> dict[str, QAction]:
    """The window's menu bar; returns the actions by name (for enabling and tests)."""
    bar = w.menuBar()
    acts: dict[str, QAction] = {}
    file = bar.addMenu("&File")
    acts["open"] = _action(w, file, "&Open…", w.open_dialog, QKeySequence.StandardKey.Open)
    w.recent_menu = file.addMenu("Open &Recent")
    w.recent_menu.aboutToShow.connect(lambda: fill_recent_menu(w))
    acts["selfie"] = _action(w, file, "Take a &Selfie…", w.take_selfie, "Ctrl+Shift+T")
    file.addSeparator()
    acts["export"] = _action(w, file, "&Export…", w.export_dialog, "Ctrl+E", tip="Write the edited photo at full resolution")
    acts["export_mesh"] = _action(w, file, "Export &Mesh…", w.export_mesh_dialog, "Ctrl+Shift+E",
                                  tip="Write the 3D mesh as GLB, OBJ or PLY")
    file.addSeparator()
    acts["cancel"] = _action(w, file, "&Cancel Analysis", w.cancel_job, "Esc")
    file.addSeparator()
    acts["quit"] = _action(w, file, "&Quit", w.close, QKeySequence.StandardKey.Quit)

    edit = bar.addMenu("&Edit")
    acts["undo"] = w.undo_stack.createUndoAction(w, "&Undo")
    acts["undo"].setShortcut(QKeySequence("Ctrl+Z"))
    acts["redo"] = w.undo_stack.createRedoAction(w, "&Redo")
    acts["redo"].setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    edit.addAction(acts["undo"])
    edit.addAction(acts["redo"])
    edit.addSeparator()
    acts["undistort"] = _action(w, edit, "Un&distort (85 mm)", w.controls.undistort.click, "Ctrl+U")
    acts["undistort_all"] = _action(w, edit, "Undistort &All Faces", w.undistort_all_faces, "Ctrl+Shift+U",
                                    tip="The portrait-lens fix for every face of a group photo")
    acts["reset"] = _action(w, edit, "&Reset View", w.controls.reset.click, "Ctrl+R")
    edit.addSeparator()
    # The platform's Preferences key; where it has none (X11 without a desktop's bindings), Ctrl+, as most editors
    preferences_key = QKeySequence.StandardKey.Preferences
    if not QKeySequence.keyBindings(preferences_key):
        preferences_key = "Ctrl+,"
    acts["preferences"] = _action(w, edit, "&Preferences…", w.preferences_dialog, preferences_key,
                                  tip="The 3D reconstruction: the fast landmark backend or EG3D, its checkpoint and device")
    acts["preferences"].setMenuRole(QAction.MenuRole.PreferencesRole)

    view = bar.addMenu("&View")
    acts["fit"] = _action(w, view, "&Fit to Window", w.viewer.fit, "Ctrl+0")
    acts["actual"] = _action(w, view, "&Actual Size (100%)", w.viewer.actual_size, "Ctrl+1")
    acts["zoom_in"] = _action(w, view, "Zoom &In", lambda: w.viewer.set_zoom(w.viewer.zoom() * 1.25), QKeySequence.StandardKey.ZoomIn)
    acts["zoom_out"] = _action(w, view, "Zoom &Out", lambda: w.viewer.set_zoom(w.viewer.zoom() / 1.25), QKeySequence.StandardKey.ZoomOut)
    view.addSeparator()
    acts["split"] = _action(w, view, "&Split Before/After", w.viewer.set_split, "Ctrl+B", checkable=True,
                            tip="Drag the divider to compare the original and the edit")
    acts["original"] = _action(w, view, "Show &Original (hold \\)", w.viewer.set_show_before, checkable=True)
    view.addSeparator()
    acts["mesh"] = _action(w, view, "&3D Mesh", lambda on: w.tabs.setCurrentWidget(w.mesh_panel if on else w.viewer),
                           "Ctrl+3", checkable=True, tip="The reconstructed head with the capture and virtual cameras")
    view.addSeparator()
    acts["present"] = _action(w, view, "&Present", w.toggle_presentation, "F11", checkable=True,
                              tip="Full screen with large type, before and after side by side (Esc or F11 leaves)")
    acts["sweep"] = _action(w, view, "S&weep", w.toggle_sweep, checkable=True,
                            tip="Turn the head and change the lens in a loop; any key or touch stops it")

    help_menu = bar.addMenu("&Help")
    _action(w, help_menu, "&About super_gui", lambda: QMessageBox.about(w, "About super_gui", ABOUT_HTML))
    _action(w, help_menu, "About &Qt", lambda: QMessageBox.aboutQt(w))
    return acts


def fill_recent_menu(w) -> None:
    menu: QMenu = w.recent_menu
    menu.clear()
    files = recent_files(w.settings)
    for i, f in enumerate(files):
        a = menu.addAction(f"&{(i + 1) % 10} {Path(f).name}")
        a.setStatusTip(f)
        a.triggered.connect(lambda checked=False, f=f: w.open_photo(f))
    if not files:
        menu.addAction("No recent photos").setEnabled(False)
    else:
        menu.addSeparator()
        menu.addAction("Clear Menu").triggered.connect(lambda: w.settings.setValue("recent_files", []))
