"""Speed and memory figures (printed, never asserted). Run: .venv/bin/python -m bench.perf
(``--editor``: only the editor's figures, from bench/editor_perf.py; ``--no-editor``: only the core's;
``--memory``: only the peak-memory rows; ``--batch``: only the batch rows, from bench/batch_perf.py: 50
photos of 3 MP through ``undistort`` with ``--jobs 1`` and ``--jobs 2``, a few minutes, not in the default run.)

Photos: a 12 MP (3024 x 4032) portrait made by upscaling matplotlib's Grace Hopper photo into a
phone-sized frame, written as a JPEG the way a phone would; for the memory rows also the same portrait at
the pixel limit: a 99.5 MP (8640 x 11520) JPEG and a 96 MP (8484 x 11312) 16-bit PNG.

Peak memory is the peak RSS (VmHWM) of a fresh process per row running the whole ``edit`` command, next
to the baseline: a process that only imports what an edit imports and builds the MediaPipe graphs.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


ROOT = Path(__file__).resolve().parents[1]


def _selfie(width: int, height: int) -> np.ndarray:
    """(height, width, 3) uint8: Grace Hopper's portrait filling a 3:4 frame, as a phone selfie would
    (face ~40% of the width)."""
    import matplotlib.cbook as cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        rgb = np.asarray(Image.open(f).convert("RGB"))
    big = cv2.resize(rgb, (width, int(width * rgb.shape[0] / rgb.shape[1])), interpolation=cv2.INTER_CUBIC)
    if big.shape[0] > height:
        return cv2.resize(big, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.vstack([big, np.repeat(big[-1:], height - big.shape[0], axis=0)])


def make_12mp_selfie(folder: Path) -> Path:
    from PIL import Image

    path = folder / "selfie_12mp.jpg"
    Image.fromarray(_selfie(3024, 4032)).save(path, quality=92)
    return path


def make_100mp_selfie(folder: Path) -> Path:
    """A 99.5 MP (8640 x 11520) JPEG, just under the pixel limit."""
    from PIL import Image

    path = folder / "selfie_100mp.jpg"
    Image.fromarray(_selfie(8640, 11520)).save(path, quality=92)
    return path


def make_96mp_png16(folder: Path) -> Path:
    """A 96 MP (8484 x 11312) 16-bit RGB PNG: the 8-bit portrait x 257 plus a smooth ramp in the low bits,
    so that the file really uses 16 bits."""
    rgb = _selfie(8484, 11312)
    out = np.empty(rgb.shape, np.uint16)
    ramp = (np.arange(rgb.shape[1], dtype=np.uint16) % 257)[None, :]
    for c in range(3):  # a channel at a time: the 16-bit frame is 576 MB already
        np.multiply(rgb[..., c], np.uint16(256), out=out[..., c], dtype=np.uint16)
        out[..., c] += ramp
    path = folder / "selfie_96mp_16bit.png"
    cv2.imwrite(str(path), out[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


EDIT_ARGS = ["--yaw", "10", "--pitch", "5", "--focal", "50"]


def _child_peak(photo: Path | None, out: Path | None) -> dict:
    """Run in a fresh process: the whole ``edit`` of ``photo`` to ``out`` through the CLI (or, without a
    photo, only what an edit loads first: its imports, the MediaPipe graphs and a GL context). Returns
    {"rc", "seconds", "peak_mb"} from that process."""
    code = (
        "import json, sys, time\n"
        "t = time.perf_counter()\n"
        "if len(sys.argv) > 1:\n"
        "    from super_gui.cli import main\n"
        f"    rc = main(['edit', sys.argv[1], '-o', sys.argv[2], *{EDIT_ARGS!r}])\n"
        "else:\n"
        "    from super_gui.core.face import warm_up\n"
        "    from super_gui.core.native_log import silence_native_logging\n"
        "    import super_gui.cli_edit, super_gui.app.edit, super_gui.app.pipeline, super_gui.render.scene\n"
        "    from super_gui.inversion.backends import backend\n"
        "    from super_gui.render.context import thread_context\n"
        "    silence_native_logging(); warm_up(); backend('landmark'); thread_context(); rc = 0\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so a child started by a big
        # parent (this bench, after its own 12 MP runs) would report the parent's peak.
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "print(json.dumps({'rc': rc, 'seconds': time.perf_counter() - t, 'peak_mb': int(hwm) / 1024}))\n"
    )
    argv = [sys.executable, "-c", code] + ([str(photo), str(out)] if photo else [])
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):  # a crash (e.g. a segfault) prints no figures
        return {"rc": done.returncode, "seconds": float("nan"), "peak_mb": float("nan"),
                "stderr": done.stderr.strip().splitlines()[-1:] }


def bench_memory(folder: Path, photo_12mp: Path) -> list[tuple[str, str]]:
    """Peak RSS of whole edits (one fresh process each, one at a time: 100 MP edits are heavy)."""
    rows = []
    base = _child_peak(None, None)
    rows.append(("baseline RSS: imports + MediaPipe graphs + GL context", f"{base['peak_mb']:.0f} MB"))
    for label, make, bar in (("12 MP JPEG", lambda: photo_12mp, 1000),
                             ("99.5 MP JPEG", lambda: make_100mp_selfie(folder), 2000),
                             ("96 MP 16-bit PNG", lambda: make_96mp_png16(folder), 2000)):
        photo = make()
        out = folder / f"edited_{photo.stem}{photo.suffix}"
        r = _child_peak(photo, out)
        extra = "" if r["rc"] == 0 else f" (exit {r['rc']}{': ' + r['stderr'][0] if r.get('stderr') else ''})"
        rows.append((f"whole edit, {label}: peak RSS (bar {bar / 1000:.1f} GB) / time",
                     f"{r['peak_mb']:.0f} MB / {r['seconds']:.2f} s{extra}"))
        out.unlink(missing_ok=True)
        Path(str(out) + ".json").unlink(missing_ok=True)
        if photo != photo_12mp:
            photo.unlink()
    return rows


def bench_analysis(photo_path: Path, repeats: int) -> list[tuple[str, str]]:
    from super_gui.core.analysis import analyze_photo
    from super_gui.core.face import warm_up
    from super_gui.core.image_io import load_photo

    rows = []
    t = time.perf_counter()
    warm_up()
    rows.append(("MediaPipe graphs built (once per process)", f"{(time.perf_counter() - t) * 1000:.0f} ms"))
    loads, analyses, totals = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        photo = load_photo(photo_path)
        t1 = time.perf_counter()
        analyze_photo(photo)
        t2 = time.perf_counter()
        loads.append(t1 - t0)
        analyses.append(t2 - t1)
        totals.append(t2 - t0)
    rows.append(("load 12 MP JPEG (median)", f"{statistics.median(loads) * 1000:.0f} ms"))
    rows.append(("analysis: faces + pose (median)", f"{statistics.median(analyses) * 1000:.0f} ms"))
    rows.append(("load + analysis, 12 MP (median; bar 1.0 s)", f"{statistics.median(totals) * 1000:.0f} ms"))
    return rows


def bench_views(photo_path: Path, out_dir: Path, repeats: int) -> list[tuple[str, str]]:
    """The per-view hot path at a 1024 px preview, and the full-resolution edit and export."""
    from super_gui.core.camera import View
    from super_gui.core.export import export_image
    from super_gui.core.image_io import load_photo
    from super_gui.app.pipeline import PortraitRenderer, prepare

    rows = []
    fits, after = [], []
    for _ in range(max(1, repeats)):  # (the pieces of a fit overlap on threads: timed from outside, wall clock)
        t0 = time.perf_counter()
        photo = load_photo(photo_path)
        t1 = time.perf_counter()
        prepared = prepare(photo)
        t2 = time.perf_counter()
        fits.append(t2 - t1)
        after.append(t2 - t1 - prepared.timings_s["analysis"])
    t_prep = t2 - t0
    rows.append(("inversion + mesh, 12 MP (after analysis; median)", f"{statistics.median(after) * 1000:.0f} ms"))
    rows.append(("analysis + inversion + mesh, 12 MP (graphs built; median; bar 0.5 s)", f"{statistics.median(fits) * 1000:.0f} ms"))
    t = time.perf_counter()
    renderer = PortraitRenderer(prepared)
    rows.append(("GPU upload for the preview (once per photo)", f"{(time.perf_counter() - t) * 1000:.0f} ms"))
    from super_gui.app.drafts import DraftPace

    drag = [View(yaw_deg=-20 + 40 * i / 199, pitch_deg=5 * np.sin(i / 20), focal_35mm=26 + 40 * i / 199) for i in range(200)]
    renderer.pace = DraftPace(budget_s=float("inf"))  # each drag frame at the resolution asked for
    for label, draft, ratio in (("slider drag frame (draft) at the 1024 px preview's resolution: median / p95", True, 1.0),
                                ("slider drag frame (draft) at 0.75 of it (a 12 MP portrait in the default window): median / p95", True, 0.75),
                                ("slider drag frame (draft) at 0.5 of it (the least the pace goes to): median / p95", True, 0.5),
                                ("settled frame (pyramid blend), 1024 px: median / p95", False, 1.0)):
        renderer.render(drag[0], draft=draft, draft_ratio=ratio)
        times = []
        for v in drag[: max(20, repeats * 8)]:
            t = time.perf_counter()
            renderer.render(v, draft=draft, draft_ratio=ratio)
            times.append(time.perf_counter() - t)
        rows.append((label, f"{np.median(times) * 1000:.1f} / {np.percentile(times, 95) * 1000:.1f} ms"))
    view = View(yaw_deg=10, pitch_deg=5, focal_35mm=50)
    t = time.perf_counter()
    full = renderer.render(view, full=True)
    t_render = time.perf_counter() - t
    t = time.perf_counter()
    out = export_image(photo, full.image, out_dir / "edited.jpg")
    t_export = time.perf_counter() - t
    rows.append(("full-resolution render + blend, 12 MP (first, with upload)", f"{t_render * 1000:.0f} ms"))
    rows.append(("export JPEG q95, 12 MP", f"{t_export * 1000:.0f} ms"))
    rows.append(("whole 12 MP edit: load + analysis + inversion + render + export (bar 3 s)", f"{(t_prep + t_render + t_export) * 1000:.0f} ms"))
    renderer.release()
    out.unlink()
    return rows


def print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"{'what'.ljust(width)}  figure")
    for k, v in rows:
        print(f"{k.ljust(width)}  {v}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--editor", action="store_true", help="only the editor figures (bench/editor_perf.py)")
    which.add_argument("--no-editor", action="store_true", help="only the core figures")
    which.add_argument("--memory", action="store_true", help="only the peak-memory rows (12 and 100 MP edits)")
    which.add_argument("--batch", action="store_true", help="only the batch rows: 50 photos with --jobs 1 and 2 "
                       "(bench/batch_perf.py; a few minutes)")
    args = ap.parse_args(argv)
    from super_gui.core.concurrent import single_threaded_numpy_blas
    from super_gui.core.native_log import silence_native_logging

    single_threaded_numpy_blas()  # (as the editor and the command line run)
    silence_native_logging()
    rows = []
    if args.batch:
        from bench.batch_perf import batch_rows

        with tempfile.TemporaryDirectory() as tmp:
            print_table(batch_rows(Path(tmp)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        photo = make_12mp_selfie(Path(tmp))
        if not args.editor and not args.memory:
            rows += bench_analysis(photo, args.repeats)
            rows += bench_views(photo, Path(tmp), args.repeats)
            rows.append(("peak memory (RSS) of this process", f"{peak_rss_mb():.0f} MB"))
        if not args.editor:
            rows += bench_memory(Path(tmp), photo)
        if not args.no_editor and not args.memory:
            from bench.detail_perf import detail_rows
            from bench.editor_perf import editor_rows
            from bench.mesh_perf import mesh_rows

            rows += editor_rows(photo, args.repeats)
            rows += mesh_rows(photo)
            rows += detail_rows(photo, min(3, args.repeats))
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
