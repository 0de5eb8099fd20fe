"""Close-up figures (printed, never asserted). Alone: .venv/bin/python -m bench.detail_perf [PHOTO]

Zoomed in past the preview's pixels, the editor renders a settled view again at the photo's full
resolution (the close-up). Two figures on the 12 MP portrait bench/perf.py makes:

* the close-up's render time on the render thread's path (``FaceRenderers.render(full=True)``, upload,
  both passes and the release of the full-resolution textures), drawn whole (exports) and, where the code
  has it, in pieces inside ``tiles.cancellable`` (the editor's close-ups): median of a few, interleaved;
* in a real editor window (offscreen): a slider pressed and moved while a close-up is being drawn, at
  several moments into it, until the frame of that move is painted: median and worst.

Run it against an older checkout by copying this file into that checkout's bench/ and running it there.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DELAYS_S = (0.05, 0.2, 0.35, 0.5, 0.7, 0.9)  # a move this long after the close-up was asked for


def render_times(photo: Path, repeats: int) -> list[tuple[str, str]]:
    from super_gui.app.group import FaceRenderers
    from super_gui.app.pipeline import prepare
    from super_gui.core.camera import View
    from super_gui.core.image_io import load_photo
    from super_gui.render import tiles

    prepared = prepare(load_photo(photo))
    faces = FaceRenderers()
    view = View(yaw_deg=12, focal_35mm=85)
    edits = [(prepared, view)]
    faces.render(edits)  # the preview, as on screen before a close-up
    whole, pieces, gaps = [], [], []
    cancellable = getattr(tiles, "cancellable", None)
    for _ in range(repeats):
        t = time.perf_counter()
        faces.render(edits, full=True)
        whole.append(time.perf_counter() - t)
        if cancellable is not None:
            stamps = [time.perf_counter()]
            with cancellable(lambda: stamps.append(time.perf_counter()) and False):
                faces.render(edits, full=True)
            stamps.append(time.perf_counter())
            pieces.append(stamps[-1] - stamps[0])
            gaps += [b - a for a, b in zip(stamps[1:-1], stamps[2:-1])]  # between two checks: one piece
    faces.release()
    rows = [(f"close-up render, 12 MP, drawn whole (median of {repeats})", f"{statistics.median(whole) * 1000:.0f} ms")]
    if pieces:
        rows += [(f"close-up render, 12 MP, in pieces (median of {repeats})", f"{statistics.median(pieces) * 1000:.0f} ms"),
                 ("close-up pieces: count / median / worst", f"{len(gaps) // repeats + 1} / {statistics.median(gaps) * 1000:.0f} / "
                                                             f"{max(gaps) * 1000:.0f} ms")]
    return rows


def move_during_close_up(photo: Path) -> list[tuple[str, str]]:
    from bench.editor_perf import Editor
    from super_gui.core.camera import View

    with tempfile.TemporaryDirectory() as tmp:
        ed = Editor(Path(tmp))
        try:
            w = ed.window
            ed.open(photo)
            latencies, slider = [], w.controls.yaw.slider
            for i, delay in enumerate(DELAYS_S):
                view = View(yaw_deg=10.0 + 2 * (i % 2))
                w.set_view(view)
                ed.wait(lambda: ed.settled() and w.last_frame.view == view, "the settled preview")
                w.viewer.set_zoom(2.0)  # past the preview's pixels: the close-up is asked for 0.3 s later
                ed.wait(lambda: w.session._last_request is not None and w.session._last_request[3], "the close-up request")
                asked = time.perf_counter()
                # (a timer, not a processEvents() loop: PySide6's processEvents() drops a reference to None each call)
                ed.run_loop(lambda: time.perf_counter() - asked >= delay, 1, "the moment to move")
                slider.setSliderDown(True)
                t = time.perf_counter()
                slider.setValue(slider.value() + 40)
                ed.waiting.append((w.session._seq, t))
                before = len(ed.latencies)
                ed.wait(lambda: len(ed.latencies) > before, "the move's frame")
                latencies.append(ed.latencies[-1])
                slider.setSliderDown(False)
                ed.wait(ed.settled, "the settled frame")
                w.viewer.fit()
            ms = sorted(x * 1000 for x in latencies)
            stopped = getattr(w.session.render_thread, "stopped_renders", 0)
            return [(f"slider move during a close-up -> its frame painted, {len(ms)} moves 0.05-0.9 s into it: median / worst",
                     f"{statistics.median(ms):.0f} / {ms[-1]:.0f} ms ({stopped} close-ups stopped)"),
                    ("  each, by the move's moment (s after the close-up was asked)",
                     ", ".join(f"{d:g}: {x * 1000:.0f}" for d, x in zip(DELAYS_S, latencies)) + " ms")]
        finally:
            ed.close()


def detail_rows(photo: Path, repeats: int = 3) -> list[tuple[str, str]]:
    return render_times(photo, repeats) + move_during_close_up(photo)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("photo", nargs="?", type=Path, help="default: the 12 MP portrait bench/perf.py makes")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    from bench.perf import make_12mp_selfie, print_table
    from super_gui.core.native_log import silence_native_logging

    silence_native_logging()
    with tempfile.TemporaryDirectory() as tmp:
        photo = args.photo or make_12mp_selfie(Path(tmp))
        print_table(detail_rows(photo, args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
