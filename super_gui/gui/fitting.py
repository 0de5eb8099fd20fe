"""Which inversion backend fits a photo, for the editor window (a mixin of
:class:`~super_gui.gui.main_window.MainWindow`): Edit > Preferences…, the question before a long EG3D fit on
the CPU, and the offer to fit the open photo again when the backend changes.

The session asks :meth:`FittingMixin.backend_for_photo` when a photo has loaded; the answer holds for that
photo (another face or capture camera is fitted the same way). It must not fit or hold photo state itself
(that is the session's). The questions are methods (``_ask_cpu_fit``, ``_offer_refit``) so that tests can
answer them.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QMessageBox

from super_gui.errors import UserInputError
from super_gui.gui.preferences import (InversionSettings, PreferencesDialog, duration_words, load_inversion_settings,
                                       save_inversion_settings)
from super_gui.gui.session import LANDMARK, Backend

FAST_BACKEND_NOTE = "Using the fast landmark backend for this photo (Edit > Preferences chooses the backend)."


def cpu_seconds(backend: Backend) -> float | None:
    """About how long ``backend`` takes per photo when it runs on the CPU; None when it runs elsewhere, is the
    fast backend, or cannot be made (the photo's preparation then reports why). Imports torch for EG3D."""
    name, options = backend
    if name == LANDMARK[0]:
        return None
    try:
        from super_gui.inversion.backends import backend as make_backend

        inverter = make_backend(name, **options)
    except (UserInputError, ImportError, OSError):  # (the preparation, which makes it again, says why in a dialog)
        return None
    device = getattr(inverter, "device", None)
    if getattr(device, "type", None) != "cpu" or not hasattr(inverter, "estimate_seconds"):
        return None
    return float(inverter.estimate_seconds())


class FittingMixin:
    def inversion_settings(self) -> InversionSettings:
        return load_inversion_settings(self.settings)

    def backend_for_photo(self) -> Backend:
        """The backend for the photo that has just loaded: the Preferences' choice; on the CPU, EG3D only if
        the user agrees to wait (or, run unattended, as set)."""
        backend = self.inversion_settings().fit()
        seconds = cpu_seconds(backend)
        if seconds is not None and self.show_dialogs and not self._ask_cpu_fit(seconds):
            self.set_status(FAST_BACKEND_NOTE)
            return LANDMARK
        return backend

    def _ask_cpu_fit(self, seconds: float) -> bool:
        """True: fit with EG3D on the CPU; False: use the fast backend for this photo."""
        box = QMessageBox(QMessageBox.Icon.Question, "Fit with EG3D on the CPU?",
                          f"Fitting EG3D on the CPU takes {duration_words(seconds)} for this photo. Start?", parent=self)
        box.setInformativeText("The fit runs in the background; Cancel in the status bar stops it.")
        start = box.addButton("Start", QMessageBox.ButtonRole.AcceptRole)
        fast = box.addButton("Use the fast backend for this photo", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(start)
        box.setEscapeButton(fast)
        box.exec()
        return box.clickedButton() is start

    def preferences_dialog(self) -> None:
        """Edit > Preferences…: store the new values; if the backend changed while a photo is open, offer to
        fit it again."""
        old = self.inversion_settings()
        dialog = PreferencesDialog(old, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.apply_preferences(dialog.values(), old)

    def apply_preferences(self, new: InversionSettings, old: InversionSettings | None = None) -> None:
        old = self.inversion_settings() if old is None else old
        save_inversion_settings(self.settings, new)
        s = self.session
        if s.loaded is None or new.fit() == old.fit() or new.fit() == s.backend:
            return
        seconds = cpu_seconds(new.fit())
        if self._offer_refit(new.backend, seconds):
            self.refit(new.fit())

    def _offer_refit(self, backend: str, seconds: float | None) -> bool:
        """True: fit the open photo again with the new settings now."""
        which = "with EG3D" if backend == "eg3d" else "with the fast landmark backend"
        box = QMessageBox(QMessageBox.Icon.Question, "Fit the photo again?",
                          f"Fit the open photo again {which}?", parent=self)
        info = "Cancel in the status bar keeps the current fit."
        if seconds is not None:
            info = f"On the CPU this takes {duration_words(seconds)}. " + info
        box.setInformativeText(info)
        again = box.addButton("Fit Again", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Not Now", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(again)
        box.exec()
        return box.clickedButton() is again

    def refit(self, backend: Backend) -> None:
        """Fit the open photo again with ``backend`` (progress and Cancel in the status bar)."""
        self._show_progress(0.0, "Fitting the photo again…", cancellable=True)
        self._set_editable(False, capture=False)
        self.viewer.set_prompt(None)
        self.session.refit(backend)
        self._update_actions()
