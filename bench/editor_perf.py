"""Editor figures for bench/perf.py (printed, never asserted). Alone: .venv/bin/python -m bench.editor_perf

* start-up: ``python main.py PHOTO`` (offscreen, a fresh settings folder) until the window first paints,
  and until the first full-quality frame of a corrected view (yaw 12, 85 mm, set by SUPER_GUI_DEMO_VIEW)
  is on screen; the editor prints both moments when SUPER_GUI_TIMING=1 (gui/app.py);
* live editing, in one editor process (``--live``, run as a child so that its memory is the editor's own,
  not the bench's): open the photo, then drag sliders as a person would, one move every 16 ms. Latency is
  from a slider move (``QSlider.setValue`` while the slider is down) until the viewer has painted a frame
  of that move or of a newer one; memory (VmRSS) after 10 and after 1,000 moves, each drag let go and its
  full-quality frame shown before the next; and the latency drag again with a CPU-bound process (a busy
  loop) running beside the editor.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
DEMO_VIEW = "yaw=12,focal=85"
MOVE_MS = 16  # one slider move per frame of a 60 Hz mouse
LATENCY_MOVES = 200
MEMORY_MOVES = (10, 1000)
DRAG_MOVES = 79  # the moves after the latency drag come in drags of this many, each let go
TIMEOUT_S = 180


# -- start-up (a child process running main.py) --------------------------------------------------------


def bench_startup(photo: Path, runs: int) -> list[tuple[str, str]]:
    # Python compiles the project's modules on the first launch and keeps their bytecode for the next ones,
    # unless told not to (PYTHONDONTWRITEBYTECODE, as some build machines set): compiled here, every run is
    # the launch a user has from the second one on (the first costs ~0.2-0.5 s more on this 2-core machine).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "super_gui"), str(ROOT / "main.py")],
                   check=False, capture_output=True, timeout=TIMEOUT_S)
    shown, first = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(Path(tmp) / "config"),
                       SUPER_GUI_TIMING="1", SUPER_GUI_DEMO_VIEW=DEMO_VIEW,
                       SUPER_GUI_SCREENSHOT=str(Path(tmp) / "shot.png"))  # quits once the view is on screen
            t0 = time.perf_counter()  # the system-wide monotonic clock on Linux, as the child's readings
            r = subprocess.run([sys.executable, str(ROOT / "main.py"), str(photo)], env=env, cwd=tmp,
                               capture_output=True, text=True, timeout=TIMEOUT_S)
        stamps = {}
        for line in r.stderr.splitlines():
            key, _, value = line.partition(" ")
            if key in ("window-shown", "first-frame"):
                stamps[key] = float(value) - t0
        if r.returncode != 0 or len(stamps) != 2:
            sys.stderr.write(r.stderr[-3000:])
            return [("editor start-up", f"not measured (main.py exited with {r.returncode}; its stderr is above)")]
        shown.append(stamps["window-shown"])
        first.append(stamps["first-frame"])
    n = f"median of {runs}" if runs > 1 else "1 run"
    return [(f"editor: `main.py PHOTO` to window shown ({n})", f"{statistics.median(shown) * 1000:.0f} ms"),
            (f"editor: `main.py PHOTO` to first corrected preview, 12 MP ({n})",
             f"{statistics.median(first) * 1000:.0f} ms")]


# -- live editing (this process) -----------------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def sweep(slider, n: int, step: int) -> list[int]:
    """``n`` slider positions from where it is, ``step`` apart, turning back at the ends."""
    v, d, out = slider.value(), step, []
    for _ in range(n):
        if not slider.minimum() <= v + d <= slider.maximum():
            d = -d
        v += d
        out.append(v)
    return out


class Editor(QObject):
    """A MainWindow (offscreen, fresh settings) driven through its sliders, timing what the viewer paints."""

    def __init__(self, settings_dir: Path):
        super().__init__()
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from super_gui.gui.main_window import MainWindow

        self.app = QApplication.instance() or QApplication(sys.argv[:1])
        self.window = w = MainWindow(QSettings(str(settings_dir / "super_gui.ini"), QSettings.Format.IniFormat))
        w.show_dialogs = False  # errors end the event loop instead of waiting in a dialog
        self.errors: list[str] = []
        w.session.failed.connect(self._on_error)
        w.session.renderFailed.connect(self._on_error)
        self.moves = 0
        self.waiting: list[tuple[int, float]] = []  # (request seq, time of the move) not painted yet
        self.latencies: list[float] = []
        self.move_times: list[float] = []  # of the timed moves
        self.render_s: list[float] = []  # render-thread time of each draft frame painted
        self.draft_ratios: list[float | None] = []  # the resolution of each (app.drafts)
        self.last_draft_paint = 0.0
        self._unpainted = None  # the Frame handed to the viewer, before its paint
        self._last_paint = None  # (the image the viewer showed, when its paint was done)
        w.frameShown.connect(self._on_frame)
        w.viewer.installEventFilter(self)
        w.show()

    def _on_error(self, *words: str) -> None:
        self.errors.append(": ".join(words))

    def _on_frame(self, frame) -> None:
        if self._last_paint is not None and self._last_paint[0] is frame.image:
            self._on_painted(frame, self._last_paint[1])  # the viewer painted it before saying so
        else:
            self._unpainted = frame

    def eventFilter(self, obj, event) -> bool:
        if event.type() != QEvent.Type.Paint:
            return False
        obj.paintEvent(event)  # the viewer's own painting, then the time it is done
        self._last_paint = (obj.result_array(), time.perf_counter())
        if self._unpainted is not None and self._unpainted.image is self._last_paint[0]:
            self._on_painted(self._unpainted, self._last_paint[1])
        return True

    def _on_painted(self, frame, now: float) -> None:
        self._unpainted = None
        if frame.draft:
            self.render_s.append(frame.seconds)
            self.draft_ratios.append(frame.timings_s.get("ratio"))
            self.last_draft_paint = now
        done = [t for seq, t in self.waiting if seq <= frame.seq]
        self.latencies += [now - t for t in done]
        self.waiting = [(seq, t) for seq, t in self.waiting if seq > frame.seq]

    def run_loop(self, step, interval_ms: int, what: str, timeout_s: float = TIMEOUT_S) -> None:
        """Run the event loop, calling ``step()`` every ``interval_ms`` until it returns True."""
        loop, timer, state = QEventLoop(), QTimer(), {"done": False}
        deadline = time.perf_counter() + timeout_s

        def tick() -> None:
            if self.errors or time.perf_counter() > deadline:
                loop.quit()
            elif step():
                state["done"] = True
                loop.quit()

        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.setInterval(interval_ms)
        timer.timeout.connect(tick)
        timer.start()
        loop.exec()
        timer.stop()
        if not state["done"]:
            raise RuntimeError("; ".join(self.errors) or f"timed out waiting for {what}")

    def wait(self, pred, what: str) -> None:
        self.run_loop(pred, 5, what)

    def settled(self) -> bool:
        f, w = self.window.last_frame, self.window
        return (f is not None and not f.draft and f.view == w.view and f.generation == w.session.generation
                and self._unpainted is None)

    def open(self, photo: Path) -> None:
        self.window.open_photo(photo)
        self.wait(lambda: self.window.session.current is not None and self.settled(), "the photo to be ready")

    def drag(self, row, positions: list[int], timed: bool = False) -> None:
        """Press the slider, move it through ``positions`` one move per MOVE_MS, let go, wait for the
        full-quality frame. ``timed``: record each move's latency (waiting for the last before letting go)."""
        session, slider = self.window.session, row.slider
        todo = iter(positions)
        slider.setSliderDown(True)  # sliderPressed: the controls start a drag

        def move() -> bool:
            v = next(todo, None)
            if v is None:
                return True
            t = time.perf_counter()
            slider.setValue(v)  # while down: a draft request, synchronously
            self.moves += 1
            if timed:
                self.waiting.append((session._seq, t))  # the number the session gave that request
                self.move_times.append(t)
            return False

        self.run_loop(move, MOVE_MS, "the drag")
        if timed:
            self.wait(lambda: not self.waiting, "the last draft frame")
        slider.setSliderDown(False)  # sliderReleased: the full-quality frame
        self.wait(self.settled, "the settled frame")

    def screen_ratio(self) -> float:
        """The resolution drag frames are asked for: the photo's size on screen (app.drafts.screen_ratio)."""
        from super_gui.app.drafts import screen_ratio

        return screen_ratio(self.window.viewer.zoom(), self.window.session.preview_scale)

    def close(self) -> None:
        self.window.close()


def bench_live(photo: Path) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        ed = Editor(Path(tmp))
        try:
            ed.open(photo)
            c = ed.window.controls
            ed.drag(c.yaw, sweep(c.yaw.slider, MEMORY_MOVES[0], 4))
            rss_10 = rss_mb()
            before = len(ed.render_s)
            ed.drag(c.yaw, sweep(c.yaw.slider, LATENCY_MOVES, 4), timed=True)
            rs = np.array(ed.render_s[before:]) * 1000
            painted = len(rs)
            drafts_s = ed.last_draft_paint - ed.move_times[0]
            moves_ms = np.diff(ed.move_times).mean() * 1000
            lat = np.array(ed.latencies) * 1000
            ratios = [r for r in ed.draft_ratios[before:] if r is not None]
            rows = [(f"editor: slider move to new frame painted, {LATENCY_MOVES}-move yaw drag: median / p95 "
                     "(bar 12 / 20 ms)", f"{np.median(lat):.1f} / {np.percentile(lat, 95):.1f} ms"),
                    ("editor: draft frames painted during that drag",
                     f"{painted} in {drafts_s:.1f} s ({painted / drafts_s:.0f} per s); "
                     f"moves {moves_ms:.1f} ms apart (asked: {MOVE_MS})"),
                    ("editor: their render time in the render thread: median / p95",
                     f"{np.median(rs):.1f} / {np.percentile(rs, 95):.1f} ms"),
                    ("editor: their resolution, as a fraction of the 1024 px preview's (screen: "
                     f"{ed.screen_ratio():.2f}): median / least", f"{np.median(ratios):.2f} / {min(ratios):.2f}" if ratios else "-")]
            drags, rows_in_turn = 2, itertools.cycle((c.pitch, c.focal, c.yaw))
            while ed.moves < MEMORY_MOVES[1]:
                row = next(rows_in_turn)
                drags += 1
                ed.drag(row, sweep(row.slider, min(DRAG_MOVES, MEMORY_MOVES[1] - ed.moves), 6 if row is c.focal else 4))
            rss_1000 = rss_mb()
            n10, n1000 = MEMORY_MOVES
            rows += [(f"editor memory (RSS) after {n10} slider moves", f"{rss_10:.0f} MB"),
                     (f"editor memory (RSS) after {n1000:,} slider moves ({drags} drags, each let go)", f"{rss_1000:.0f} MB"),
                     (f"editor memory growth, {n10} -> {n1000:,} moves (bar 50 MB)", f"{rss_1000 - rss_10:+.0f} MB")]
            return rows + bench_loaded_drag(ed)  # (last: its frames, slower to be shown, do not count as growth)
        finally:
            ed.close()


def cpu_hog() -> subprocess.Popen:
    """A CPU-bound process beside the editor (one core's worth: a busy loop)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def bench_loaded_drag(ed: Editor) -> list[tuple[str, str]]:
    """The latency drag again with a CPU-bound process running beside the editor."""
    c = ed.window.controls
    hog = cpu_hog()
    try:
        time.sleep(0.5)  # (let it take its core)
        n_lat, n_ratio = len(ed.latencies), len(ed.draft_ratios)
        ed.drag(c.yaw, sweep(c.yaw.slider, LATENCY_MOVES, 4), timed=True)
    finally:
        hog.kill()
        hog.wait()
    lat = np.array(ed.latencies[n_lat:]) * 1000
    ratios = [r for r in ed.draft_ratios[n_ratio:] if r is not None]
    return [("editor: the same drag with a CPU-bound process beside the editor: median / p95 (bar 25 ms median)",
             f"{np.median(lat):.1f} / {np.percentile(lat, 95):.1f} ms; resolution median {np.median(ratios):.2f}"
             if ratios else f"{np.median(lat):.1f} / {np.percentile(lat, 95):.1f} ms")]


def bench_live_in_child(photo: Path) -> list[tuple[str, str]]:
    r = subprocess.run([sys.executable, "-m", "bench.editor_perf", "--live", str(photo)], cwd=ROOT,
                       stdout=subprocess.PIPE, text=True, timeout=TIMEOUT_S * 3)
    try:
        return [tuple(row) for row in json.loads(r.stdout.strip().splitlines()[-1])]
    except (IndexError, ValueError):
        return [("editor live editing", f"not measured (exit status {r.returncode}; its stderr is above)")]


def editor_rows(photo: Path, repeats: int) -> list[tuple[str, str]]:
    return bench_startup(photo, max(1, min(3, repeats))) + bench_live_in_child(photo)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("photo", nargs="?", type=Path, help="default: the 12 MP portrait bench/perf.py makes")
    ap.add_argument("--repeats", type=int, default=3, help="start-up runs (median)")
    ap.add_argument("--live", action="store_true",
                    help="only the live-editing figures, as one JSON line (how perf.py runs them)")
    args = ap.parse_args(argv)
    from bench.perf import make_12mp_selfie, print_table
    from super_gui.core.concurrent import single_threaded_numpy_blas
    from super_gui.core.native_log import silence_native_logging

    single_threaded_numpy_blas()  # (as the editor and the command line run)
    silence_native_logging()
    with tempfile.TemporaryDirectory() as tmp:
        photo = args.photo or make_12mp_selfie(Path(tmp))
        if not args.live:
            print_table(editor_rows(photo, args.repeats))
            return 0
        try:
            rows = bench_live(photo)
        except RuntimeError as e:
            rows = [("editor live editing", f"not measured ({e})")]
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
