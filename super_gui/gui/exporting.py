"""File > Export and Export Mesh for the editor window (a mixin of
:class:`~super_gui.gui.main_window.MainWindow`): file dialogs, the replace-a-file confirmations, and the
hand-over to the session, which renders and writes on the render thread through the CLI's edit path."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from super_gui.core.export import EXPORT_SUFFIXES, check_output_path
from super_gui.errors import UserInputError

EXPORT_FILTER = "JPEG (*.jpg *.jpeg);;PNG (*.png);;TIFF (*.tif *.tiff)"
MESH_FILTER = "glTF binary (*.glb);;Wavefront OBJ (*.obj);;PLY (*.ply)"


class ExportMixin:
    def _export_folder(self) -> str:
        """The last export's folder; else the photo's, or for a photo with no file (a camera capture) Pictures."""
        loaded = self.session.loaded
        if loaded.photo.in_memory:
            from PySide6.QtCore import QStandardPaths

            default = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation) or str(Path.home())
        else:
            default = str(loaded.path.resolve().parent)
        return str(self.settings.value("export_folder", default))

    def _default_export_path(self, suffix: str) -> str:
        return str(Path(self._export_folder()) / f"{self.session.loaded.path.stem}_edited{suffix}")

    def export_dialog(self) -> None:
        if self.session.current is None or self._picking:
            return
        path, chosen = QFileDialog.getSaveFileName(self, "Export Photo", self._default_export_path(".jpg"), EXPORT_FILTER,
                                                   options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            if not Path(path).suffix:
                path += ".png" if "PNG" in chosen else ".tif" if "TIFF" in chosen else ".jpg"
            self.export_to(path)

    def export_to(self, path: str | Path, jpeg_quality: int | None = None) -> bool:
        """Export the current view at full resolution to ``path`` (asks before replacing a file)."""
        path = Path(path)
        loaded = self.session.loaded
        if self.session.current is None or self.session.exporting:
            return False
        quality = self.controls.jpeg_quality() if jpeg_quality is None else jpeg_quality
        overwrite = False
        try:
            if path.suffix.lower() not in EXPORT_SUFFIXES:
                raise UserInputError(f"Cannot write {path.name}: use .jpg, .png or .tif.")
            exists = path.exists() or path.is_symlink()
            original = None if loaded.photo.in_memory else loaded.path  # (a camera capture has no file to protect)
            if original is not None and path.exists() and path.resolve().samefile(original):
                if not self._confirm(f"{path.name} is the original photo.",
                                     "Replace the original with the edited photo? The original cannot be recovered."):
                    return False
                overwrite = True
            elif exists:
                if not self._confirm(f"{path.name} already exists.", "Replace it?"):
                    return False
                overwrite = True  # the user said yes: a link at that path is replaced itself, never its target
            check_output_path(original, path, overwrite=overwrite)
        except UserInputError as e:
            self._on_failed("Cannot export", str(e))
            return False
        self.settings.setValue("export_folder", str(path.resolve().parent))
        self.session.export(self.view, path, quality, overwrite)
        self.focus_photo()
        return True

    def _confirm(self, text: str, question: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Warning, "Replace file?", text, parent=self)
        box.setInformativeText(question)
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        return box.exec() == QMessageBox.StandardButton.Yes

    def _on_exported(self, report: dict) -> None:
        self.last_report = report
        self.focus_photo()
        t = report["timings_s"]
        note = ""
        if report["input"] is not None and not Path(report["input"]).is_file():
            note = (f" The original is no longer at {report['input']}; the settings file records the hash of the "
                    "photo as it was opened." if report.get("input_sha256") else
                    f" The original is no longer at {report['input']}.")
        self.set_status(f"Exported {Path(report['output']).name} ({t.get('render', 0) + t.get('export', 0):.1f} s); "
                        f"settings in {Path(report['sidecar']).name}.{note}")

    def export_mesh_dialog(self) -> None:
        if self.session.current is None:
            return
        loaded = self.session.loaded
        default = str(Path(self._export_folder()) / f"{loaded.path.stem}.glb")
        path, chosen = QFileDialog.getSaveFileName(self, "Export Mesh", default, MESH_FILTER)
        if path:
            if not Path(path).suffix:
                path += ".obj" if "OBJ" in chosen else ".ply" if "PLY" in chosen else ".glb"
            self.session.export_mesh(Path(path))
