"""Drag frames: drawn no larger than the photo on screen, and smaller while they take longer than their budget."""

from __future__ import annotations

import pytest

from super_gui.app.drafts import BUSY_MIN_RATIO, MIN_RATIO, RATIO_STEP, SCREEN_MIN_RATIO, DraftPace, screen_ratio


def test_a_drag_frame_is_drawn_at_the_size_the_photo_has_on_screen():
    preview = 1024 / 4032  # a 12 MP portrait's preview
    # shown 732 px high (a 1280x820 window): 0.72 of the preview, so drawn at 0.75 of it
    assert screen_ratio(732 / 4032, preview) == 0.75
    assert screen_ratio(preview, preview) == 1.0  # the preview's own size
    assert screen_ratio(2.0, preview) == 1.0  # zoomed in: never more than the preview
    assert screen_ratio(0.01, preview) == SCREEN_MIN_RATIO  # a thumbnail-sized window
    for shown in range(260, 1100, 37):  # every size: a multiple of the step, never below what the screen shows
        r = screen_ratio(shown / 4032, preview)
        assert r * 1024 >= min(shown, 1024) - 1e-6 and (r / RATIO_STEP) == pytest.approx(round(r / RATIO_STEP))


def test_the_pace_lowers_the_resolution_while_frames_are_slow_and_raises_it_again():
    pace = DraftPace(budget_s=0.008)
    assert pace.ratio(0.75) == 0.75  # nothing measured yet
    for _ in range(10):  # 12 ms for a 300k pixel window at 0.75: over the budget
        pace.record(0.012, 300_000, 0.75)
    slow = pace.ratio(0.75)
    assert MIN_RATIO < slow < 0.75
    # the frame it asks for takes at most the budget (time per pixel x its pixels), one step more would not
    assert (0.012 / 300_000) * (300_000 / 0.75 ** 2) * slow ** 2 <= 0.008
    assert (0.012 / 300_000) * (300_000 / 0.75 ** 2) * (slow + RATIO_STEP) ** 2 > 0.008
    for _ in range(10):  # slower: at half the preview's resolution a frame takes less than twice the budget
        pace.record(0.008 * 1.9 * (slow / MIN_RATIO) ** 2, 300_000 * slow ** 2 / 0.75 ** 2, slow)
    assert pace.ratio(0.75) == MIN_RATIO
    for _ in range(10):  # a busy computer: more than twice, so lower, but never below the busy floor
        pace.record(0.5, 300_000 * MIN_RATIO ** 2 / 0.75 ** 2, MIN_RATIO)
    assert pace.ratio(0.75) == BUSY_MIN_RATIO
    for _ in range(30):  # quick again: back up, but never above what the screen needs
        pace.record(0.001, 300_000 * BUSY_MIN_RATIO ** 2 / 0.75 ** 2, BUSY_MIN_RATIO)
    assert pace.ratio(0.75) == 0.75 and pace.ratio(1.0) > 0.75
    assert DraftPace(budget_s=float("inf")).ratio(1.0) == 1.0


def test_the_renderer_draws_smaller_drag_frames_when_they_are_slow(grace_jpg):
    from super_gui.app.pipeline import PortraitRenderer, prepare
    from super_gui.core.camera import View
    from super_gui.core.image_io import load_photo

    renderer = PortraitRenderer(prepare(load_photo(grace_jpg)))
    try:
        renderer.pace = DraftPace(budget_s=1e-9)  # no frame is ever quick enough
        full = renderer.output_size(renderer.preview_scale)
        first = renderer.render(View(yaw_deg=10), draft=True)
        assert first.image.shape[:2] == full[::-1]  # the first frame: nothing measured yet
        second = renderer.render(View(yaw_deg=11), draft=True)
        # (however slow: no smaller than the busy floor)
        assert second.image.shape[1] == round(full[0] * BUSY_MIN_RATIO) and second.timings_s["ratio"] == BUSY_MIN_RATIO
        assert second.scale == pytest.approx(renderer.preview_scale * BUSY_MIN_RATIO, rel=0.01)
        settled = renderer.render(View(yaw_deg=11))  # a settled frame is always the preview's
        assert settled.image.shape[:2] == full[::-1]
    finally:
        renderer.release()


def test_a_drag_frame_differs_from_the_photo_only_inside_the_window_it_names(grace_jpg):
    """(The editor repaints only the windows of consecutive drag frames: anything drawn outside would stay
    stale on screen.)"""
    import numpy as np

    from super_gui.app.pipeline import PortraitRenderer, prepare
    from super_gui.core.camera import View
    from super_gui.core.image_io import load_photo

    renderer = PortraitRenderer(prepare(load_photo(grace_jpg)))
    try:
        renderer.pace = DraftPace(budget_s=float("inf"))
        for view, ratio in ((View(yaw_deg=25, pitch_deg=-10), 0.5), (View(yaw_deg=-20, focal_35mm=135), 1.0)):
            frame = renderer.render(view, draft=True, draft_ratio=ratio)
            base = renderer.draft_base(ratio)
            x, y, w, h = (round(v * frame.scale) for v in frame.window)
            outside = np.ones(base.shape[:2], bool)
            outside[y : y + h, x : x + w] = False
            changed = np.abs(frame.image.astype(int) - base.astype(int)).max(axis=2) > 0
            assert changed[~outside].sum() > 1000  # the head moved inside it
            assert not changed[outside].any()
    finally:
        renderer.release()
