"""The render thread's warm-up (render.warmup) and the programs a context keeps (render.context.program):
warmed or not, and whichever scene linked a program first, every frame is the same bytes; a scene's
release leaves the context's programs for the next scene."""

from __future__ import annotations

import numpy as np
import pytest

from super_gui.app.pipeline import PortraitRenderer, prepare
from super_gui.core.camera import View
from super_gui.core.image_io import load_photo
from super_gui.render.context import create_context
from super_gui.render.scene import scene_programs

VIEWS = (View(12.0, 0.0, 85.0), View(-20.0, 5.0, 50.0))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, grace_rgb):
    from tests.conftest import save

    return prepare(load_photo(save(grace_rgb, tmp_path_factory.mktemp("warm") / "grace.jpg", quality=95)))


def frames(renderer: PortraitRenderer) -> list[np.ndarray]:
    """Settled previews and drag frames (at the preview's resolution: the pace held) of VIEWS, and a
    full-resolution render of the first."""
    renderer.pace.ratio = lambda wanted: wanted
    out = []
    for view in VIEWS:
        out += [renderer.render(view).image, renderer.render(view, draft=True).image]
    return out + [renderer.render(VIEWS[0], full=True).image]


def on_own_thread(fn) -> None:
    """Run ``fn`` on a thread of its own (and raise what it raised): the contexts it creates become current
    there, not on this thread, whose shared context (render.context.thread_context) later tests use."""
    import threading

    failure = []

    def run() -> None:
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - raised again on the test's thread
            failure.append(e)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if failure:
        raise failure[0]


def test_a_warmed_context_renders_the_same_bytes_and_its_scenes_share_its_programs(prepared):
    on_own_thread(lambda: warmed_and_cold(prepared))


def warmed_and_cold(prepared) -> None:
    from super_gui.render.warmup import warm_up

    cold = create_context()
    try:
        expected = frames(PortraitRenderer(prepared, cold))
    finally:
        cold.release()
    ctx = create_context()  # (current from here on)
    try:
        warm_up(ctx)
        warmed = scene_programs(ctx)
        first = PortraitRenderer(prepared, ctx)
        assert (first.scene.mesh_program, first.scene.composite_program) == warmed  # linked once, by the warm-up
        got = frames(first)
        for a, b in zip(expected, got):
            assert a.shape == b.shape and np.array_equal(a, b)
        first.release()
        second = PortraitRenderer(prepared, ctx)  # the programs outlive the first scene, uniforms and all
        assert (second.scene.mesh_program, second.scene.composite_program) == warmed
        for a, b in zip(expected, frames(second)):
            assert np.array_equal(a, b)
        second.release()
    finally:
        ctx.release()
