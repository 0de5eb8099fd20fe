"""Speed and memory figures (printed, never asserted). Run: .venv/bin/python -m bench.perf
(``--editor``: only the editor's figures, from bench/editor_perf.py; ``--no-editor``: only the core's.)

Photos: a 12 MP (3024 x 4032) portrait made by upscaling matplotlib's Grace Hopper photo into a
phone-sized frame, written as a JPEG the way a phone would.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def make_12mp_selfie(folder: Path) -> Path:
    import matplotlib.cbook as cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        rgb = np.asarray(Image.open(f).convert("RGB"))
    # Fill a 3:4 frame with the portrait, as a phone selfie would (face ~40% of the width).
    big = cv2.resize(rgb, (3024, int(3024 * rgb.shape[0] / rgb.shape[1])), interpolation=cv2.INTER_CUBIC)
    canvas = cv2.resize(big, (3024, 4032), interpolation=cv2.INTER_LINEAR) if big.shape[0] > 4032 else np.vstack(
        [big, np.repeat(big[-1:], 4032 - big.shape[0], axis=0)]
    )
    path = folder / "selfie_12mp.jpg"
    Image.fromarray(canvas).save(path, quality=92)
    return path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


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
    from super_gui.core.pipeline import PortraitRenderer, prepare

    rows = []
    t0 = time.perf_counter()
    photo = load_photo(photo_path)
    prepared = prepare(photo)
    t_prep = time.perf_counter() - t0
    rows.append(("inversion + mesh, 12 MP (after analysis)", f"{(prepared.timings_s['inversion'] + prepared.timings_s['mesh']) * 1000:.0f} ms"))
    t = time.perf_counter()
    renderer = PortraitRenderer(prepared)
    rows.append(("GPU upload for the preview (once per photo)", f"{(time.perf_counter() - t) * 1000:.0f} ms"))
    drag = [View(yaw_deg=-20 + 40 * i / 199, pitch_deg=5 * np.sin(i / 20), focal_35mm=26 + 40 * i / 199) for i in range(200)]
    for label, draft in (("slider drag frame (draft), 1024 px: median / p95", True), ("settled frame (pyramid blend), 1024 px: median / p95", False)):
        renderer.render(drag[0], draft=draft)
        times = []
        for v in drag[: max(20, repeats * 8)]:
            t = time.perf_counter()
            renderer.render(v, draft=draft)
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
    args = ap.parse_args(argv)
    from super_gui.core.face import silence_native_logging

    silence_native_logging()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        photo = make_12mp_selfie(Path(tmp))
        if not args.editor:
            rows += bench_analysis(photo, args.repeats)
            rows += bench_views(photo, Path(tmp), args.repeats)
            rows.append(("peak memory (RSS)", f"{peak_rss_mb():.0f} MB"))
        if not args.no_editor:
            from bench.editor_perf import editor_rows

            rows += editor_rows(photo, args.repeats)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
