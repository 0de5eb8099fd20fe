"""A real window under Xvfb (Qt's xcb platform): ``python main.py PHOTO`` opens the editor, shows a
corrected preview and, asked by SUPER_GUI_SCREENSHOT, saves a screenshot of itself and quits."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def xvfb_display():
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.skip("Xvfb is not on PATH (apt-get install xvfb): no X server to open a real window on")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([exe, "-displayfd", str(write_fd), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], 20)
        number = os.read(read_fd, 64).decode().strip() if ready else ""
        if not number:
            pytest.skip("Xvfb did not start")
        yield f":{number}"
    finally:
        os.close(read_fd)
        proc.terminate()
        proc.wait(10)


def test_main_py_photo_shows_a_corrected_preview_in_a_real_window(xvfb_display, grace_jpg, tmp_path):
    shot = tmp_path / "editor.png"
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY",)}
    env.update(DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path / "config"),
               SUPER_GUI_SCREENSHOT=str(shot), SUPER_GUI_DEMO_VIEW="yaw=15,focal=85,split=0.5")
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), str(grace_jpg)], env=env, capture_output=True, text=True,
                       timeout=240, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    img = np.asarray(Image.open(shot).convert("RGB")).astype(np.float32)
    h, w = img.shape[:2]
    assert w >= 800 and h >= 500
    assert img.std() > 20 and len(np.unique(img.reshape(-1, 3), axis=0)) > 5000  # a photo, not a blank window
    # The settings went to the test's own config folder, with the photo in the recent files.
    conf = tmp_path / "config" / "super_gui" / "super_gui.conf"
    assert conf.is_file() and "grace_hopper.jpg" in conf.read_text()
