"""Edit > Preferences…: how the editor reconstructs the head in 3D (the inversion backend, issue 11).

The values live in the window's ``QSettings`` under ``inversion/``; :class:`InversionSettings` turns them into
the backend's name and options for :func:`~super_gui.app.pipeline.prepare`. The dialog refuses what cannot
work (EG3D without its checkpoint, a path with no file) next to the field, with OK disabled. PyTorch is
imported only when the dialog opens (to ask whether CUDA is there), never for the landmark backend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton, QSpinBox, QVBoxLayout, QWidget)

BACKENDS = (("landmark", "Landmark — fast, default"), ("eg3d", "EG3D — the paper's 3D GAN, needs NVIDIA's checkpoint"))
DEVICES = (("auto", "Automatic"), ("cpu", "CPU"), ("cuda", "CUDA"))
PRESETS = ("quick", "paper")
MAX_STEPS = 5000  # super_gui.inversion.eg3d.invert.Schedule.parse's limit
CHECKPOINT_FILTER = "EG3D network pickle (*.pkl);;All files (*)"
WEIGHTS_FILTER = "PyTorch weights (*.pth *.pt *.safetensors);;All files (*)"
LICENCE_NOTE = ("EG3D's weights come from NVIDIA under a non-commercial licence and are not shipped with super_gui: "
                "download NVIDIA's checkpoint (ffhq512-128.pkl) yourself and choose it here. The VGG16 weights "
                "(torchvision's) are optional: without them the fit uses no perceptual loss.")
_ERROR_STYLE = "color: rgb(240, 95, 80);"  # the editor's red (gui/limits.py)
_KEY = "inversion/"


@dataclass(frozen=True)
class InversionSettings:
    """The Preferences' inversion values: ``steps`` is "quick", "paper" or a whole number as text."""

    backend: str = "landmark"
    checkpoint: str = ""
    lpips_weights: str = ""
    steps: str = "quick"
    device: str = "auto"

    def backend_options(self) -> dict:
        """The backend's keyword arguments (``prepare(backend_options=...)``); none for the landmark backend."""
        if self.backend != "eg3d":
            return {}
        options = {"checkpoint": self.checkpoint, "steps": self.steps, "device": self.device}
        if self.lpips_weights:
            options["lpips_weights"] = self.lpips_weights
        return options

    def fit(self) -> tuple[str, dict]:
        """(backend name, options): what a photo is fitted with."""
        return self.backend, self.backend_options()

    def problems(self) -> dict[str, str]:
        """What makes these values unusable, by field ("checkpoint", "lpips_weights"), in plain words. The
        EG3D fields are only checked when EG3D is chosen."""
        if self.backend != "eg3d":
            return {}
        found = {}
        if not self.checkpoint.strip():
            found["checkpoint"] = "Choose NVIDIA's EG3D checkpoint (a .pkl file) to use EG3D."
        elif (why := _not_a_file(self.checkpoint)) is not None:
            found["checkpoint"] = why
        if self.lpips_weights.strip() and (why := _not_a_file(self.lpips_weights)) is not None:
            found["lpips_weights"] = why
        return found


def _not_a_file(path: str) -> str | None:
    p = Path(path).expanduser()
    if p.is_file():
        return None
    return "This is a folder, not a file." if p.is_dir() else "There is no file at this path."


def load_inversion_settings(settings: QSettings) -> InversionSettings:
    """The stored values (anything unknown falls back to the default)."""
    d = InversionSettings()
    backend = str(settings.value(_KEY + "backend", d.backend))
    device = str(settings.value(_KEY + "device", d.device))
    steps = str(settings.value(_KEY + "steps", d.steps)).strip().lower()
    if steps not in PRESETS and not (steps.isdigit() and 1 <= int(steps) <= MAX_STEPS):
        steps = d.steps
    return InversionSettings(
        backend=backend if backend in dict(BACKENDS) else d.backend,
        checkpoint=str(settings.value(_KEY + "checkpoint", "") or ""),
        lpips_weights=str(settings.value(_KEY + "lpips_weights", "") or ""),
        steps=steps,
        device=device if device in dict(DEVICES) else d.device,
    )


def save_inversion_settings(settings: QSettings, values: InversionSettings) -> None:
    for name in ("backend", "checkpoint", "lpips_weights", "steps", "device"):
        settings.setValue(_KEY + name, getattr(values, name))
    settings.sync()


def cuda_status() -> tuple[bool, str]:
    """(whether PyTorch can use a CUDA GPU, why not / which GPU). Imports torch: call it only when needed."""
    try:
        import torch
    except ImportError as e:
        return False, f"PyTorch cannot be imported ({e})."
    if not torch.cuda.is_available():
        return False, "PyTorch finds no CUDA GPU on this computer (or this PyTorch was built without CUDA)."
    return True, f"Runs on {torch.cuda.get_device_name(0)}."


def duration_words(seconds: float) -> str:
    """``about 55 minutes`` / ``about 6 hours``: how long a fit takes, in words."""
    minutes = max(1, math.ceil(seconds / 60))
    if minutes < 120:
        return f"about {minutes} minute{'s' if minutes != 1 else ''}"
    return f"about {round(minutes / 60)} hours"


def total_steps(steps: str) -> int:
    """How many steps ``steps`` ("quick", "paper" or N) runs (imports the eg3d backend, and with it torch)."""
    from super_gui.inversion.eg3d.invert import Schedule

    return Schedule.parse(steps).total


def seconds_per_step(device: str) -> float:
    """The backend's estimate of one step of the full-size generator on ``device`` ("cpu" or "cuda")."""
    from super_gui.inversion.eg3d import backend

    return backend.CUDA_SECONDS_PER_STEP if device == "cuda" else backend.CPU_SECONDS_PER_STEP


class PreferencesDialog(QDialog):
    """The Preferences dialog; :meth:`values` gives what it shows. ``cuda``: (available, reason), for tests
    (default: asked of PyTorch when the dialog opens)."""

    def __init__(self, values: InversionSettings, parent: QWidget | None = None, *, cuda: tuple[bool, str] | None = None):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.cuda = cuda_status() if cuda is None else cuda
        self.browse_buttons: dict[QLineEdit, QPushButton] = {}

        self.backend_buttons = QButtonGroup(self)
        backend_box = QGroupBox("3D reconstruction of the head")
        v = QVBoxLayout(backend_box)
        for i, (name, text) in enumerate(BACKENDS):
            b = QRadioButton(text)
            b.setObjectName(f"backend_{name}")
            self.backend_buttons.addButton(b, i)
            v.addWidget(b)

        self.eg3d_box = QGroupBox("EG3D")
        form = QFormLayout(self.eg3d_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.checkpoint = QLineEdit()
        self.checkpoint.setPlaceholderText("NVIDIA's ffhq512-128.pkl")
        self.checkpoint_error = self._error_label()
        form.addRow("Checkpoint:", self._path_field(self.checkpoint, self.checkpoint_error, "Choose the EG3D Checkpoint",
                                                    CHECKPOINT_FILTER))
        self.lpips_weights = QLineEdit()
        self.lpips_weights.setPlaceholderText("Optional: torchvision's vgg16 weights (.pth)")
        self.lpips_error = self._error_label()
        form.addRow("VGG16 weights (LPIPS):", self._path_field(self.lpips_weights, self.lpips_error, "Choose the VGG16 Weights",
                                                               WEIGHTS_FILTER))

        self.steps = QComboBox()
        for name in PRESETS:
            self.steps.addItem(f"{name.capitalize()} ({total_steps(name)} steps)", name)
        self.steps.addItem("Custom", "custom")
        self.custom_steps = QSpinBox()
        self.custom_steps.setRange(1, MAX_STEPS)
        self.custom_steps.setValue(100)
        self.custom_steps.setToolTip("Latent and tuning steps each (camera warm-up: an eighth of them)")
        steps_row = QHBoxLayout()
        steps_row.setContentsMargins(0, 0, 0, 0)
        steps_row.addWidget(self.steps)
        steps_row.addWidget(self.custom_steps)
        steps_row.addStretch(1)
        form.addRow("Steps:", steps_row)

        self.device_buttons = QButtonGroup(self)
        device_row = QHBoxLayout()
        device_row.setContentsMargins(0, 0, 0, 0)
        for i, (name, text) in enumerate(DEVICES):
            b = QRadioButton(text)
            b.setObjectName(f"device_{name}")
            self.device_buttons.addButton(b, i)
            device_row.addWidget(b)
        device_row.addStretch(1)
        cuda_button = self.device_buttons.button(2)
        if not self.cuda[0]:
            cuda_button.setEnabled(False)
            cuda_button.setToolTip(self.cuda[1])
        else:
            cuda_button.setToolTip(self.cuda[1])
        self.device_buttons.button(0).setToolTip("CUDA when PyTorch finds a GPU, else the CPU")
        form.addRow("Device:", device_row)
        self.estimate = QLabel()
        form.addRow("", self.estimate)
        self.note = QLabel(LICENCE_NOTE)
        self.note.setWordWrap(True)
        form.addRow(self.note)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(backend_box)
        layout.addWidget(self.eg3d_box)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(600)

        self.set_values(values)
        for signal in (self.backend_buttons.idToggled, self.device_buttons.idToggled):
            signal.connect(lambda *_: self._update())
        self.checkpoint.textChanged.connect(self._update)
        self.lpips_weights.textChanged.connect(self._update)
        self.steps.currentIndexChanged.connect(self._update)
        self.custom_steps.valueChanged.connect(self._update)
        self._update()

    @staticmethod
    def _error_label() -> QLabel:
        label = QLabel()
        label.setStyleSheet(_ERROR_STYLE)
        label.hide()
        return label

    def _path_field(self, field: QLineEdit, error: QLabel, title: str, name_filter: str) -> QWidget:
        """The path, its Browse… button, and under them the message when the path cannot be used."""
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        row = QHBoxLayout()
        row.addWidget(field, 1)
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse(field, title, name_filter))
        self.browse_buttons[field] = browse
        row.addWidget(browse)
        column.addLayout(row)
        column.addWidget(error)
        return box

    def _browse(self, field: QLineEdit, title: str, name_filter: str) -> None:
        current = Path(field.text().strip()).expanduser() if field.text().strip() else None
        start = str(current if current is not None and current.exists() else current.parent if current else Path.home())
        path, _ = QFileDialog.getOpenFileName(self, title, start, name_filter)
        if path:
            field.setText(path)

    # -- values ------------------------------------------------------------------------------------

    def set_values(self, values: InversionSettings) -> None:
        names = [n for n, _ in BACKENDS]
        self.backend_buttons.button(names.index(values.backend) if values.backend in names else 0).setChecked(True)
        self.checkpoint.setText(values.checkpoint)
        self.lpips_weights.setText(values.lpips_weights)
        if values.steps in PRESETS:
            self.steps.setCurrentIndex(PRESETS.index(values.steps))
        else:
            self.steps.setCurrentIndex(len(PRESETS))
            self.custom_steps.setValue(int(values.steps))
        devices = [n for n, _ in DEVICES]
        device = values.device if values.device in devices else "auto"
        if device == "cuda" and not self.cuda[0]:
            device = "auto"  # (kept in the settings until OK; here CUDA cannot be chosen)
        self.device_buttons.button(devices.index(device)).setChecked(True)

    def values(self) -> InversionSettings:
        steps = self.steps.currentData()
        return InversionSettings(
            backend=BACKENDS[max(0, self.backend_buttons.checkedId())][0],
            checkpoint=self.checkpoint.text().strip(),
            lpips_weights=self.lpips_weights.text().strip(),
            steps=str(self.custom_steps.value()) if steps == "custom" else steps,
            device=DEVICES[max(0, self.device_buttons.checkedId())][0],
        )

    def _update(self) -> None:
        values = self.values()
        eg3d = values.backend == "eg3d"
        self.eg3d_box.setEnabled(eg3d)
        self.custom_steps.setEnabled(self.steps.currentData() == "custom")
        problems = values.problems()
        for label, key in ((self.checkpoint_error, "checkpoint"), (self.lpips_error, "lpips_weights")):
            label.setText(problems.get(key, ""))
            label.setVisible(key in problems)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problems)
        device = values.device if values.device != "auto" else ("cuda" if self.cuda[0] else "cpu")
        seconds = total_steps(values.steps) * seconds_per_step(device)
        self.estimate.setText(f"{duration_words(seconds).capitalize()} per photo on the {'GPU' if device == 'cuda' else 'CPU'} "
                              "(the full-size generator).")

    def problems(self) -> dict[str, str]:
        """The messages shown next to the fields now (empty: OK is enabled)."""
        return self.values().problems()
