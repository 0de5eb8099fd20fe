"""The 3D Mesh tab while a slider is dragged: it follows the drag with frames of its own (the photo tab, not on
screen, is not rendered meanwhile), and the photo tab shows the current view when it comes back."""

from __future__ import annotations

import itertools

import numpy as np

from super_gui.core.camera import View
from tests.gui.conftest import wait_frame, wait_ready


def test_the_3d_tab_follows_a_slider_drag_and_the_photo_catches_up(qtbot, window, grace_jpg):
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    session, panel, canvas, yaw = window.session, window.mesh_panel, window.mesh_panel.canvas, window.controls.yaw
    window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: canvas.image_array() is not None, timeout=30_000)
    portraits, meshes = [], []
    session.frameReady.connect(portraits.append)
    session.meshFrameReady.connect(meshes.append)
    shown = [canvas.image_array()]  # the frame before the drag, then each new one the canvas was given during it
    yaw.slider.setSliderDown(True)
    steps = itertools.cycle([*range(0, 200, 25), *range(200, 0, -25)])  # 0 to 20 degrees and back
    for moves in range(400):  # a move every 50 ms until the canvas has shown 3 new frames (8 moves at least)
        yaw.slider.setValue(next(steps))
        qtbot.wait(50)
        if canvas.image_array() is not shown[-1]:
            shown.append(canvas.image_array())
        if len(shown) > 3 and moves >= 8:
            break
    yaw.slider.setValue(175)  # the drag ends at 17.5 degrees
    # the last move's 3D frame arrives, with the head turned as far as the slider went
    qtbot.waitUntil(lambda: meshes and session._last_mesh[1] == View(17.5, 0.0, None)
                    and meshes[-1].seq == session._seq and canvas.image_array() is meshes[-1].image, timeout=30_000)
    yaw.slider.setSliderDown(False)
    assert window.view == View(17.5, 0.0, None)
    assert len(meshes) >= 3 and len(shown) > 3  # new frames during the drag, not only after it
    assert np.abs(meshes[-1].image.astype(int) - meshes[0].image).mean() > 0.5  # the head turned in 3D
    qtbot.wait(200)
    assert portraits == []  # no photo frames while the photo tab is hidden, drafts or settled

    window.tabs.setCurrentWidget(window.viewer)  # back to the photo: a settled frame of the view the drag left
    wait_frame(qtbot, window, View(17.5, 0.0, None))
    qtbot.waitUntil(lambda: window.viewer.result_array() is window.last_frame.image, timeout=5000)
    assert portraits and not portraits[-1].draft and portraits[-1].view == View(17.5, 0.0, None)
    assert window.last_frame.generation == session.generation
