"""The worker type and the render thread: cancellation, latest request wins, plain data only."""

from __future__ import annotations

import numpy as np
import pytest

from super_gui.core.camera import View
from super_gui.errors import Cancelled, UserInputError
from super_gui.gui.workers import RenderRequest, RenderThread, Worker


class Collect:
    def __init__(self):
        self.items = []

    def __call__(self, *args):
        self.items.append(args[0] if len(args) == 1 else args)


def _run(qtbot, job):
    w = Worker(job)
    got = {"finished": Collect(), "failed": Collect(), "cancelled": Collect(), "progress": Collect()}
    w.finished.connect(got["finished"])
    w.failed.connect(got["failed"])
    w.cancelled.connect(lambda: got["cancelled"](True))
    w.progress.connect(got["progress"])
    return w, got


def test_worker_reports_result_error_or_cancel_as_plain_data(qtbot):
    def ok(progress, is_cancelled):
        progress(0.5, "half")
        return 42

    def bad(progress, is_cancelled):
        raise UserInputError("That photo has no face.")

    def slow(progress, is_cancelled):
        import time

        for _ in range(500):
            if is_cancelled():
                raise Cancelled()
            time.sleep(0.01)
        return "not cancelled"

    for job, key, value in ((ok, "finished", 42), (bad, "failed", "That photo has no face."), (slow, "cancelled", True)):
        w, got = _run(qtbot, job)
        with qtbot.waitSignal(w.qthread.finished, timeout=10_000):
            w.start()
            if job is slow:
                w.cancel()
        qtbot.waitUntil(lambda: bool(got[key].items), timeout=5000)
        assert got[key].items == [value]
        assert sum(bool(got[k].items) for k in ("finished", "failed", "cancelled")) == 1
        w.wait()


@pytest.fixture(scope="module")
def prepared_grace(tmp_path_factory):
    from super_gui.core.image_io import load_photo
    from super_gui.app.pipeline import prepare
    from tests.conftest import _grace_hopper, save

    return prepare(load_photo(save(_grace_hopper(), tmp_path_factory.mktemp("photo") / "grace.jpg", quality=95)))


def test_render_thread_collapses_a_burst_to_the_newest_request(qtbot, prepared_grace):
    thread = RenderThread()
    frames = Collect()
    thread.frame.connect(frames)
    thread.start()
    try:
        thread.set_prepared(prepared_grace, 1)
        n = 40
        for i in range(1, n + 1):
            thread.request(RenderRequest(i, 1, View(yaw_deg=i * 0.5), draft=True))
        qtbot.waitUntil(lambda: any(f.seq == n for f in frames.items), timeout=30_000)
        qtbot.wait(200)
        seqs = [f.seq for f in frames.items]
        assert seqs == sorted(seqs) and seqs[-1] == n and len(seqs) < n  # bursts collapse; the newest is drawn
        last = frames.items[-1]
        assert last.view == View(yaw_deg=20.0) and last.draft and last.image.dtype == np.uint8
        assert isinstance(last.image, np.ndarray) and last.image.shape == (600, 512, 3)
        thread.request(RenderRequest(n + 1, 0, View(yaw_deg=5.0), draft=False))  # an older photo's: dropped
        qtbot.wait(300)
        thread.request(RenderRequest(n + 2, 1, View(yaw_deg=5.0), draft=False))
        qtbot.waitUntil(lambda: frames.items[-1].seq == n + 2, timeout=30_000)
        assert n + 1 not in [f.seq for f in frames.items] and not frames.items[-1].draft
    finally:
        thread.stop()
    assert thread.isFinished()
