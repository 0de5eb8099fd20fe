"""Edit > Preferences… and the EG3D backend in the editor (issue 11, item 5): the dialog stores and restores its
values and refuses what cannot work; a photo opened with EG3D shows the fit's steps and time left, Cancel stops it
between steps; on the CPU the editor asks first, and "use the fast backend" fits with the landmark backend; a
backend changed while a photo is open offers to fit it again, and a Cancel of that fit keeps the old one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFileDialog, QMessageBox

from super_gui.core.camera import View
from super_gui.gui.preferences import (InversionSettings, PreferencesDialog, load_inversion_settings,
                                       save_inversion_settings)
from tests.gui.conftest import wait_frame, wait_ready

NO_CUDA = (False, "PyTorch finds no CUDA GPU on this computer.")


@pytest.fixture(scope="module")
def tiny_pkl(tiny_eg3d_checkpoint) -> Path:
    return tiny_eg3d_checkpoint


@pytest.fixture
def eg3d_cache(tmp_path, monkeypatch) -> Path:
    """The EG3D cache (converted checkpoint, fits) in this test's folder: every test fits afresh."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg"


def eg3d_settings(settings, pkl: Path, steps: str = "2") -> InversionSettings:
    values = InversionSettings(backend="eg3d", checkpoint=str(pkl), steps=steps, device="cpu")
    save_inversion_settings(settings, values)
    return values


def ok_button(dialog: PreferencesDialog):
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


# -- the dialog -------------------------------------------------------------------------------------------------------


def test_preferences_store_and_restore_their_values(qtbot, settings, tiny_pkl, tmp_path):
    assert load_inversion_settings(settings) == InversionSettings()  # landmark, quick, auto by default
    weights = tmp_path / "vgg16.pth"
    weights.write_bytes(b"not read by the dialog")
    d = PreferencesDialog(load_inversion_settings(settings), cuda=NO_CUDA)
    qtbot.addWidget(d)
    assert d.backend_buttons.button(0).isChecked() and not d.eg3d_box.isEnabled()
    d.backend_buttons.button(1).setChecked(True)
    assert d.eg3d_box.isEnabled()
    d.checkpoint.setText(str(tiny_pkl))
    d.lpips_weights.setText(str(weights))
    d.steps.setCurrentIndex(d.steps.findData("custom"))
    assert d.custom_steps.isEnabled()
    d.custom_steps.setValue(7)
    d.device_buttons.button(1).setChecked(True)
    assert ok_button(d).isEnabled() and d.problems() == {}
    want = InversionSettings("eg3d", str(tiny_pkl), str(weights), "7", "cpu")
    assert d.values() == want
    assert want.backend_options() == {"checkpoint": str(tiny_pkl), "steps": "7", "device": "cpu", "lpips_weights": str(weights)}
    save_inversion_settings(settings, d.values())
    assert load_inversion_settings(settings) == want
    again = PreferencesDialog(load_inversion_settings(settings), cuda=NO_CUDA)
    qtbot.addWidget(again)
    assert again.values() == want and again.custom_steps.value() == 7
    assert "steps" in again.steps.itemText(0) and "quick" in again.steps.itemText(0).lower()
    assert "minutes" in again.estimate.text() and "CPU" in again.estimate.text()
    assert "non-commercial" in again.note.text() and "not shipped" in again.note.text()


def test_a_missing_checkpoint_is_refused_next_to_the_field(qtbot, tmp_path, tiny_pkl):
    d = PreferencesDialog(InversionSettings(), cuda=NO_CUDA)
    qtbot.addWidget(d)
    d.show()
    d.backend_buttons.button(1).setChecked(True)  # EG3D, no checkpoint yet
    assert not ok_button(d).isEnabled()
    assert d.checkpoint_error.isVisible() and "Choose NVIDIA's EG3D checkpoint" in d.checkpoint_error.text()
    d.checkpoint.setText(str(tmp_path / "ffhq512-128.pkl"))
    assert not ok_button(d).isEnabled() and "no file" in d.checkpoint_error.text()
    d.checkpoint.setText(str(tmp_path))
    assert not ok_button(d).isEnabled() and "folder" in d.checkpoint_error.text()
    d.checkpoint.setText(str(tiny_pkl))
    assert ok_button(d).isEnabled() and not d.checkpoint_error.isVisible()
    d.lpips_weights.setText(str(tmp_path / "vgg16.pth"))  # optional, but if given it must be there
    assert not ok_button(d).isEnabled() and d.lpips_error.isVisible() and "no file" in d.lpips_error.text()
    d.lpips_weights.setText("")
    assert ok_button(d).isEnabled()
    d.checkpoint.setText("")
    d.backend_buttons.button(0).setChecked(True)  # the landmark backend needs none of it
    assert ok_button(d).isEnabled() and not d.checkpoint_error.isVisible()


def test_cuda_is_offered_only_where_pytorch_finds_it(qtbot):
    d = PreferencesDialog(InversionSettings(backend="eg3d", device="cuda"), cuda=NO_CUDA)
    qtbot.addWidget(d)
    cuda = d.device_buttons.button(2)
    assert not cuda.isEnabled() and "no CUDA GPU" in cuda.toolTip()
    assert d.values().device == "auto"  # a stored "cuda" cannot be chosen here
    d2 = PreferencesDialog(InversionSettings(backend="eg3d", device="cuda"), cuda=(True, "Runs on a test GPU."))
    qtbot.addWidget(d2)
    assert d2.device_buttons.button(2).isEnabled() and d2.values().device == "cuda"
    assert "GPU" in d2.estimate.text()


def test_browse_fills_the_path(qtbot, monkeypatch, tiny_pkl):
    d = PreferencesDialog(InversionSettings(backend="eg3d"), cuda=NO_CUDA)
    qtbot.addWidget(d)
    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: asked.append(a) or (str(tiny_pkl), "")))
    d.browse_buttons[d.checkpoint].click()
    assert d.checkpoint.text() == str(tiny_pkl) and "*.pkl" in asked[0][3]


def test_edit_preferences_menu_opens_the_dialog_and_stores_on_ok(qtbot, window, settings, monkeypatch, tiny_pkl):
    action = window.actions_by_name["preferences"]
    assert action.text() == "&Preferences…" and not action.shortcut().isEmpty()
    assert action in window.menuBar().actions()[1].menu().actions()  # Edit

    def accept(dialog):
        dialog.backend_buttons.button(1).setChecked(True)
        dialog.checkpoint.setText(str(tiny_pkl))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(PreferencesDialog, "exec", accept)
    action.trigger()
    assert load_inversion_settings(settings).backend == "eg3d"
    assert load_inversion_settings(settings).checkpoint == str(tiny_pkl)
    monkeypatch.setattr(PreferencesDialog, "exec", lambda dialog: QDialog.DialogCode.Rejected)
    action.trigger()  # Cancel changes nothing
    assert load_inversion_settings(settings).backend == "eg3d"


# -- the editor with EG3D ---------------------------------------------------------------------------------------------


def statuses(window) -> list[str]:
    """Every text the status bar shows from now on."""
    seen: list[str] = []
    orig = window.set_status

    def record(text: str) -> None:
        seen.append(text)
        orig(text)

    window.set_status = record
    return seen


def test_eg3d_photo_shows_the_fits_steps_and_exports_its_settings(qtbot, window, settings, grace_jpg, tiny_pkl,
                                                                   eg3d_cache, monkeypatch, tmp_path, dialogs):
    eg3d_settings(settings, tiny_pkl)
    asked: list[float] = []
    monkeypatch.setattr(type(window), "_ask_cpu_fit", lambda self, seconds: asked.append(seconds) or True)
    seen = statuses(window)
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window, timeout=180_000)
    assert len(asked) == 1 and asked[0] > 0  # on the CPU the editor asked first (with the estimate for this checkpoint)
    assert window.session.current.inversion.backend == "eg3d" and not dialogs
    steps = [t for t in seen if "step" in t]
    assert steps and steps[0].startswith("Fitting the 3D face (camera): step 1 of 5, about ") and steps[0].endswith(" left…")
    assert any("step 5 of 5" in t for t in steps)
    # An export records the backend; its reproduce command names it.
    window.controls.undistort.click()
    wait_frame(qtbot, window, View(0.0, 0.0, 85.0))
    out = tmp_path / "gui.jpg"
    assert window.export_to(out)
    qtbot.waitUntil(lambda: window.last_report is not None, timeout=60_000)
    sidecar = json.loads((tmp_path / "gui.jpg.json").read_text())
    assert sidecar["settings"]["backend"] == "eg3d" and sidecar["settings"]["backend_options"]["checkpoint"] == str(tiny_pkl.resolve())
    assert f"--backend eg3d --checkpoint {tiny_pkl.resolve()} --steps 2 --device cpu" in sidecar["reproduce"]


def test_cancel_during_the_fit_leaves_no_prepared_photo(qtbot, window, settings, grace_jpg, tiny_pkl, eg3d_cache,
                                                        monkeypatch, dialogs):
    eg3d_settings(settings, tiny_pkl, steps="40")
    monkeypatch.setattr(type(window), "_ask_cpu_fit", lambda self, seconds: True)
    seen: list[str] = []
    window.session.progress.connect(lambda f, m: seen.append(m))
    window.open_photo(grace_jpg)
    qtbot.waitUntil(lambda: any("step 1 of" in m for m in seen), timeout=180_000)
    assert window.cancel_button.isVisible()
    window.cancel_button.click()
    assert "cancelled" in window.status_text().lower() and not window.session.running
    qtbot.waitUntil(lambda: all(w.done for w in window.session._workers), timeout=60_000)  # stopped between steps
    qtbot.wait(300)
    assert window.session.current is None and window.last_frame is None and not dialogs
    assert not any("step 85 of" in m for m in seen)  # it did not run to the end
    assert not window.actions_by_name["export"].isEnabled()


def test_answering_use_the_fast_backend_fits_with_landmark(qtbot, window, settings, grace_jpg, tiny_pkl, eg3d_cache,
                                                           monkeypatch, dialogs):
    eg3d_settings(settings, tiny_pkl)
    asked: list[float] = []
    monkeypatch.setattr(type(window), "_ask_cpu_fit", lambda self, seconds: asked.append(seconds) or False)
    seen: list[str] = []
    window.session.progress.connect(lambda f, m: seen.append(m))
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    assert asked and window.session.current.inversion.backend == "landmark" and window.session.backend == ("landmark", {})
    assert not any("EG3D" in m or "step" in m for m in seen) and not dialogs
    assert load_inversion_settings(settings).backend == "eg3d"  # for this photo only


def test_changing_the_backend_offers_a_refit_and_cancel_keeps_the_old_fit(qtbot, window, settings, grace_jpg, tiny_pkl,
                                                                          eg3d_cache, monkeypatch, dialogs):
    window.open_photo(grace_jpg)  # the default: landmark
    wait_ready(qtbot, window)
    window.controls.yaw.spin.setValue(10.0)
    view = View(10.0, 0.0, None)
    wait_frame(qtbot, window, view)
    before = window.session.current
    offered: list[tuple] = []
    monkeypatch.setattr(type(window), "_offer_refit", lambda self, backend, seconds: offered.append((backend, seconds)) or True)
    monkeypatch.setattr(type(window), "_ask_cpu_fit", lambda self, seconds: pytest.fail("asked twice"))
    seen: list[str] = []
    window.session.progress.connect(lambda f, m: seen.append(m))
    window.apply_preferences(InversionSettings(backend="eg3d", checkpoint=str(tiny_pkl), steps="40", device="cpu"))
    assert offered and offered[0][0] == "eg3d" and offered[0][1] > 0
    assert window.session.running and not window.controls.yaw.slider.isEnabled()
    qtbot.waitUntil(lambda: any("step 1 of" in m for m in seen), timeout=180_000)
    window.cancel_job()
    assert "keeps its previous fit" in window.status_text()
    assert window.session.current is before and window.session.backend == ("landmark", {})
    assert window.view == view and window.controls.yaw.slider.isEnabled() and window.undo_stack.count() == 1
    wait_frame(qtbot, window, view)
    qtbot.waitUntil(lambda: all(w.done for w in window.session._workers), timeout=60_000)
    assert window.session.current is before and not dialogs
    # The same settings again, or back to the backend the photo has: nothing to offer.
    offered.clear()
    window.apply_preferences(InversionSettings(backend="eg3d", checkpoint=str(tiny_pkl), steps="40", device="cpu"))
    window.apply_preferences(InversionSettings())
    assert not offered and not window.session.running


def test_a_refit_that_fails_keeps_the_old_fit(qtbot, window, grace_jpg, tmp_path, dialogs):
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    before = window.session.current
    window.refit(("eg3d", {"checkpoint": str(tmp_path / "gone.pkl")}))
    qtbot.waitUntil(lambda: bool(dialogs), timeout=30_000)
    assert dialogs[0][0] == "Cannot fit the photo again" and "gone.pkl" in dialogs[0][1]
    assert window.session.current is before and window.controls.yaw.slider.isEnabled()


@pytest.mark.parametrize("answer, started", [("Start", True), ("Use the fast backend for this photo", False)])
def test_the_cpu_question_and_its_answers(window, monkeypatch, answer, started):
    shown: list[str] = []

    def click(box):
        shown.append(box.text())
        next(b for b in box.buttons() if b.text() == answer).click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", click)
    assert window._ask_cpu_fit(55 * 60) is started
    assert shown == ["Fitting EG3D on the CPU takes about 55 minutes for this photo. Start?"]
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box.informativeText())
                        or next(b for b in box.buttons() if b.text() == "Fit Again").click())
    assert window._offer_refit("eg3d", 6 * 3600) is True and "about 6 hours" in shown[-1]
