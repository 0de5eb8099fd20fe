"""How fast the editor's 3D Mesh tab follows a slider drag (printed, never asserted).
Alone: .venv/bin/python -m bench.mesh_perf [PHOTO] (default: the 12 MP portrait bench/perf.py makes)

A real MainWindow (offscreen, fresh settings, its default size) opens the photo, shows the 3D Mesh tab, and
the yaw slider is dragged as a person would, one move every 16 ms (``bench.editor_perf.Editor`` drives it),
once per mode (textured, shaded, wireframe). Printed per mode: the 3D frames the canvas painted per second
during the drag (from the first move to the paint of the last move's frame), the render thread's time per
3D frame (``MeshFrame.seconds``: draw and read back), the latency from a move to the paint of its frame or a
newer one, the GUI thread's time to paint a frame, and how many portrait frames were rendered meanwhile
(none are needed: the photo tab is not on screen).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent

from bench.editor_perf import MOVE_MS, ROOT, TIMEOUT_S, Editor, sweep

DRAG_MOVES = 150  # ~2.4 s of dragging per mode
MODES = ("textured", "shaded", "wireframe")


class MeshEditor(Editor):
    """The bench's Editor, also timing the frames the 3D tab's canvas paints."""

    def __init__(self, settings_dir: Path):
        super().__init__(settings_dir)
        w = self.window
        self.canvas = w.mesh_panel.canvas
        self.mesh_waiting: list[tuple[int, float]] = []  # (mesh request seq, time of the move) not painted yet
        self.mesh_latencies: list[float] = []
        self.mesh_render_s: list[float] = []  # render-thread time of each 3D frame painted
        self.mesh_paint_s: list[float] = []  # GUI-thread time of each paint of the canvas
        self.mesh_paints: list[float] = []  # when each new 3D frame was painted
        self.portrait_frames = 0
        self._mesh_unpainted = None
        w.session.meshFrameReady.connect(self._on_mesh_frame)  # after the panel's own slot: the canvas has it
        w.session.frameReady.connect(self._on_portrait_frame)
        self.canvas.installEventFilter(self)

    def _on_portrait_frame(self, _frame) -> None:
        self.portrait_frames += 1

    def _on_mesh_frame(self, frame) -> None:
        self._mesh_unpainted = frame

    def eventFilter(self, obj, event) -> bool:
        if obj is not getattr(self, "canvas", None):  # (events come while Editor sets itself up)
            return super().eventFilter(obj, event)
        if event.type() != QEvent.Type.Paint:
            return False
        t = time.perf_counter()
        obj.paintEvent(event)
        now = time.perf_counter()
        self.mesh_paint_s.append(now - t)
        f = self._mesh_unpainted
        if f is not None and obj.image_array() is f.image:
            self._mesh_unpainted = None
            self.mesh_paints.append(now)
            self.mesh_render_s.append(f.seconds)
            self.mesh_latencies += [now - t0 for seq, t0 in self.mesh_waiting if seq <= f.seq]
            self.mesh_waiting = [(seq, t0) for seq, t0 in self.mesh_waiting if seq > f.seq]
        return True

    def show_mesh(self, mode: str) -> None:
        panel = self.window.mesh_panel
        self.window.tabs.setCurrentWidget(panel)
        panel.set_mode(mode)
        self.wait(lambda: self._idle_mesh(), f"the first {mode} 3D frame")

    def _idle_mesh(self) -> bool:
        s = self.window.session
        return (self.canvas.image_array() is not None and self._mesh_unpainted is None and s._last_mesh is not None
                and s._last_mesh[1] == self.window.view and s.render_thread._pending_mesh is None
                and not self.mesh_waiting and bool(self.mesh_paints))

    def mesh_drag(self, row, positions: list[int]) -> dict:
        """Drag ``row``'s slider through ``positions`` (one move per MOVE_MS) with the 3D tab shown, until the
        last move's 3D frame is painted, then let go. The figures of that drag."""
        session, slider = self.window.session, row.slider
        start = len(self.mesh_paints), len(self.mesh_render_s), len(self.mesh_paint_s), len(self.mesh_latencies)
        portraits = self.portrait_frames
        moves: list[float] = []
        todo = iter(positions)
        slider.setSliderDown(True)

        def move() -> bool:
            v = next(todo, None)
            if v is None:
                return True
            t = time.perf_counter()
            seq = session._seq
            slider.setValue(v)
            if session._seq != seq:  # the 3D view was asked for a frame of this move
                self.mesh_waiting.append((session._seq, t))
            moves.append(t)
            return False

        self.run_loop(move, MOVE_MS, "the drag")
        self.wait(lambda: not self.mesh_waiting, "the last move's 3D frame")
        slider.setSliderDown(False)
        paints = self.mesh_paints[start[0]:]
        span = paints[-1] - moves[0]
        rs = np.array(self.mesh_render_s[start[1]:]) * 1000
        ps = np.array(self.mesh_paint_s[start[2]:]) * 1000
        lat = np.array(self.mesh_latencies[start[3]:]) * 1000
        self.wait(lambda: self._idle_mesh(), "the 3D view to settle")
        return {"frames": len(paints), "span_s": span, "fps": len(paints) / span,
                "moves_ms": float(np.diff(moves).mean() * 1000),
                "render_ms": (float(np.median(rs)), float(np.percentile(rs, 95))),
                "paint_ms": (float(np.median(ps)), float(np.percentile(ps, 95))),
                "latency_ms": (float(np.median(lat)), float(np.percentile(lat, 95))),
                "portrait_frames": self.portrait_frames - portraits}


def bench_mesh(photo: Path, moves: int = DRAG_MOVES, modes=MODES, window: tuple[int, int] | None = None) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        ed = MeshEditor(Path(tmp))
        try:
            if window is not None:
                ed.window.resize(*window)
            ed.open(photo)
            c, w = ed.window.controls, ed.window
            rows = []
            for mode in modes:
                ed.show_mesh(mode)
                ed.mesh_drag(c.yaw, sweep(c.yaw.slider, 10, 4))  # warm-up: the scene is built on first use
                r = ed.mesh_drag(c.yaw, sweep(c.yaw.slider, moves, 4))
                cw, ch = ed.canvas.width(), ed.canvas.height()
                rows += [(f"editor 3D tab ({mode}, window {w.width()}x{w.height()}, canvas {cw}x{ch}): frames painted "
                          f"per second during a {moves}-move yaw drag (bar 30)",
                          f"{r['fps']:.1f} ({r['frames']} in {r['span_s']:.1f} s; moves {r['moves_ms']:.1f} ms apart, "
                          f"asked: {MOVE_MS}; portrait frames meanwhile: {r['portrait_frames']})"),
                         (f"editor 3D tab ({mode}): render-thread time per 3D frame: median / p95",
                          "%.1f / %.1f ms" % r["render_ms"]),
                         (f"editor 3D tab ({mode}): slider move to its 3D frame painted: median / p95",
                          "%.1f / %.1f ms" % r["latency_ms"]),
                         (f"editor 3D tab ({mode}): GUI-thread paint of the canvas: median / p95",
                          "%.2f / %.2f ms" % r["paint_ms"])]
            if ed.errors:
                raise RuntimeError("; ".join(ed.errors))
            return rows
        finally:
            ed.close()


def mesh_rows(photo: Path) -> list[tuple[str, str]]:
    """The rows, measured in a child process (a QApplication of its own, as the editor has)."""
    r = subprocess.run([sys.executable, "-m", "bench.mesh_perf", "--json", str(photo)], cwd=ROOT,
                       stdout=subprocess.PIPE, text=True, timeout=TIMEOUT_S * 3)
    try:
        return [tuple(row) for row in json.loads(r.stdout.strip().splitlines()[-1])]
    except (IndexError, ValueError):
        return [("editor 3D tab during a drag", f"not measured (exit status {r.returncode}; its stderr is above)")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("photo", nargs="?", type=Path, help="default: the 12 MP portrait bench/perf.py makes")
    ap.add_argument("--moves", type=int, default=DRAG_MOVES, help="slider moves per drag")
    ap.add_argument("--mode", choices=MODES, action="append", help="only these modes (repeatable)")
    ap.add_argument("--window", type=lambda t: tuple(int(v) for v in t.split("x")), metavar="WxH",
                    help="the window's size (default: the editor's own first size, 1280x820)")
    ap.add_argument("--json", action="store_true", help="print the rows as one JSON line (how perf.py runs it)")
    args = ap.parse_args(argv)
    from bench.perf import make_12mp_selfie, print_table
    from super_gui.core.native_log import silence_native_logging

    silence_native_logging()
    with tempfile.TemporaryDirectory() as tmp:
        photo = args.photo or make_12mp_selfie(Path(tmp))
        try:
            rows = bench_mesh(photo, args.moves, tuple(args.mode or MODES), args.window)
        except RuntimeError as e:
            rows = [("editor 3D tab during a drag", f"not measured ({e})")]
    if args.json:
        print(json.dumps(rows))
    else:
        print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
