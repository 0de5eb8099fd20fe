"""A contact sheet of real photos through the editor's own pipeline, cropped to the head, to judge the edit by eye.

    .venv/bin/python -m bench.real_sheet PHOTO_DIR [--out docs/real_sheet.png] [--rows DIR] [--tile 220]

Every image in PHOTO_DIR (JPEG, PNG, TIFF, WebP, BMP, HEIC; sorted by name) is loaded and prepared exactly as
the editor does (``prepare(load_photo(path))``: the largest face, the estimated capture camera) and rendered
by ``PortraitRenderer.render(view, full=False)`` (the settled 1024 px preview frame) at: the original,
yaw -25, yaw +25, pitch -15, pitch +15 and undistort (a dolly zoom to 85 mm). Each tile is the same crop of
every column: the chosen face's bbox enlarged 2.2x (a little above centre, for the hair), scaled to
``--tile`` px wide (narrowed to the photo where that leaves it: a close-up shows the whole photo). The column labels are at the top, one band per photo gives its analysis (faces,
pupil distance, capture focal and distance, head pose, time), and the credits are at the bottom.

Credits come from ``PHOTO_DIR/CREDITS.tsv`` (tab-separated, a header line ``file source author licence``);
a photo without a row is credited "(no CREDITS.tsv row)". The credits are also printed.

``--rows DIR`` also writes each photo's row at the crop's own resolution (preview pixels, no downscale) as
``DIR/<photo stem>.png``, to inspect closely. Photos that fail (no face, too small, unreadable...) are
reported, listed under the sheet and skipped. For each edited column the script prints how many pixels
changed OUTSIDE the head crop (at preview scale): edits that reach other people or far background. The
photo's caption on the sheet says so too, and ``--rows`` then adds ``DIR/<photo stem>_outside.png``: the
whole original and the whole frame of the column that changed most outside the tile, those pixels tinted.

Photos are not part of the repository; bring your own (and their licences).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.before_after import labelled_tile, text_band, tile_row  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = (
    ("original", dict()),
    ("yaw -25", dict(yaw_deg=-25.0)),
    ("yaw +25", dict(yaw_deg=25.0)),
    ("pitch -15", dict(pitch_deg=-15.0)),
    ("pitch +15", dict(pitch_deg=15.0)),
    ("undistort 85mm", dict(focal_35mm=85.0)),
)
EXTS = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".heic", ".heif"}
ENLARGE = 2.2
GREY = 128


@dataclass
class Row:
    name: str
    caption: str
    crops: list[np.ndarray]  # one per column, the crop's own resolution
    outside: np.ndarray | None = None  # whole frames (original | the column that changed most outside the tile)


def read_credits(folder: Path) -> dict[str, str]:
    """{file name: 'author, licence, source'} from CREDITS.tsv, if there is one."""
    path = folder / "CREDITS.tsv"
    if not path.is_file():
        return {}
    out = {}
    with path.open(newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f, delimiter="\t"):
            name = (rec.get("file") or "").strip()
            if name:
                parts = [(rec.get(k) or "").strip() for k in ("author", "licence", "source")]
                out[name] = "; ".join(p for p in parts if p)
    return out


def head_window(bbox: tuple[float, float, float, float], scale: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x0, y0, w, h) in preview pixels: a square ENLARGE x the face bbox, centred a little above the face's
    centre, then narrowed to the image and slid inside it (a close-up's tile is the whole photo)."""
    x0, y0, x1, y1 = (v * scale for v in bbox)
    W, H = size
    side = ENLARGE * max(x1 - x0, y1 - y0)
    w, h = int(round(min(side, W))), int(round(min(side, H)))
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0 - 0.15 * (y1 - y0)
    x = int(np.clip(round(cx - w / 2.0), 0, W - w))
    y = int(np.clip(round(cy - h / 2.0), 0, H - h))
    return x, y, max(w, 8), max(h, 8)


def crop(img: np.ndarray, window: tuple[int, int, int, int]) -> np.ndarray:
    """The window of ``img``; where it leaves the image, mid-grey."""
    x0, y0, ww, wh = window
    out = np.full((wh, ww, 3), GREY, np.uint8)
    h, w = img.shape[:2]
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + ww), min(h, y0 + wh)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = img[sy0:sy1, sx0:sx1]
    return out


def changed_outside(base: np.ndarray, img: np.ndarray, window: tuple[int, int, int, int]) -> int:
    """Pixels that differ from ``base`` outside the crop window."""
    diff = np.any(base != img, axis=2)
    x0, y0, w, h = window
    diff[max(0, y0) : max(0, y0 + h), max(0, x0) : max(0, x0 + w)] = False
    return int(diff.sum())


def process(path: Path) -> tuple[Row, list[str]]:
    """Prepare and render one photo; raises on a photo the pipeline refuses."""
    from super_gui.core.camera import View
    from super_gui.core.image_io import load_photo
    from super_gui.app.pipeline import PortraitRenderer, prepare

    t0 = time.perf_counter()
    prepared = prepare(load_photo(path))
    renderer = PortraitRenderer(prepared)
    try:
        a = prepared.analysis
        s = a.summary()
        base = renderer.render(View()).image
        window = head_window(a.faces.face.bbox, renderer.preview_scale, (base.shape[1], base.shape[0]))
        crops, notes, worst = [], [], (0, "", None)
        for label, kw in COLUMNS:
            img = renderer.render(View(**kw), full=False).image if kw else base
            crops.append(crop(img, window))
            if kw:
                n = changed_outside(base, img, window)
                if n:
                    notes.append(f"{label}: {n} px changed outside the head crop")
                if n > worst[0]:
                    worst = (n, label, img)
    finally:
        renderer.release()
    dt = time.perf_counter() - t0
    pose = s["head_pose_deg"]
    caption = (
        f"{path.name}: {s['faces']} face(s), #{s['face_index']} used, pupils {s['eye_distance_px']:.0f} px, "
        f"capture {s['capture_focal_35mm']:.0f} mm ({s['capture_focal_source']}) at {s['capture_distance_cm']:.0f} cm, "
        f"pose y{pose['yaw']:+.0f} p{pose['pitch']:+.0f} r{pose['roll']:+.0f}, {dt:.1f} s"
    )
    outside = None
    if worst[2] is not None:
        caption += f"; OUTSIDE the tile up to {worst[0]} px changed ({worst[1]})"
        x, y, w, h = window
        frames = [base.copy(), worst[2].copy()]
        for f in frames:
            cv2.rectangle(f, (x, y), (x + w - 1, y + h - 1), (255, 0, 0), 2)
        width = frames[0].shape[1]
        outside = tile_row([labelled_tile(frames[0], "original (red: the tile)", width),
                            labelled_tile(frames[1], f"{worst[1]}: changed pixels outside the tile tinted red", width)])
        changed = np.any(base != worst[2], axis=2)
        changed[max(0, y) : y + h, max(0, x) : x + w] = False
        right = outside[26:, width:]
        right[changed] = (0.5 * right[changed] + (127, 0, 0)).astype(np.uint8)
    return Row(path.name, caption, crops, outside), notes


def fit(img: np.ndarray, width: int) -> np.ndarray:
    """A crop scaled to ``width`` px wide (area-averaged down, bicubic up)."""
    if img.shape[1] == width:
        return img
    interp = cv2.INTER_AREA if img.shape[1] > width else cv2.INTER_CUBIC
    return cv2.resize(img, (width, max(1, round(img.shape[0] * width / img.shape[1]))), interpolation=interp)


def wrap(text: str, width: int, scale: float) -> list[str]:
    """Split ``text`` into lines that fit ``width`` px in Hershey simplex at ``scale``."""
    words, lines, line = text.split(" "), [], ""
    for w in words:
        cand = f"{line} {w}" if line else w
        if line and cv2.getTextSize(cand, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] > width - 12:
            lines.append(line)
            line = "    " + w
        else:
            line = cand
    return lines + [line] if line else lines


def build_sheet(rows: list[Row], tile: int, footer: list[str]) -> np.ndarray:
    width = tile * len(COLUMNS)
    parts = [tile_row([text_band(label, tile, 26, 230, 0.55) for label, _ in COLUMNS])]
    for r in rows:
        parts.append(text_band(r.caption, width, 20, 240, 0.42))
        parts.append(tile_row([fit(c, tile) for c in r.crops]))
    for line in footer:
        for piece in wrap(line, width, 0.4):
            parts.append(text_band(piece, width, 18, 250, 0.4))
    return np.vstack(parts)


def build_row_image(r: Row, min_width: int) -> np.ndarray:
    """A photo's row at the crop's own resolution (enlarged only when narrower than ``min_width``)."""
    width = max(r.crops[0].shape[1], min_width)
    row = tile_row([labelled_tile(fit(c, width), label, width) for c, (label, _) in zip(r.crops, COLUMNS)])
    return np.vstack([text_band(r.caption, row.shape[1], 22, 235, 0.5), row])


def main(argv: list[str] | None = None) -> int:
    from PIL import Image

    from super_gui.core.native_log import silence_native_logging

    ap = argparse.ArgumentParser(prog="python -m bench.real_sheet", description=__doc__.split("\n\n")[0])
    ap.add_argument("photo_dir", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "real_sheet.png")
    ap.add_argument("--rows", type=Path, default=None, help="also write each photo's row at full crop resolution here")
    ap.add_argument("--tile", type=int, default=220, help="tile width on the sheet (px)")
    args = ap.parse_args(argv)

    silence_native_logging()
    photos = sorted(p for p in args.photo_dir.iterdir() if p.suffix.lower() in EXTS and p.is_file())
    if not photos:
        print(f"no photos in {args.photo_dir}", file=sys.stderr)
        return 2
    credits = read_credits(args.photo_dir)
    rows, failed = [], []
    t_all = time.perf_counter()
    for path in photos:
        try:
            row, notes = process(path)
        except Exception as e:  # a refused photo (or a pipeline bug) is reported, the sheet goes on
            why = " ".join(str(e).split())
            failed.append((path.name, f"{type(e).__name__}: {why}"))
            print(f"SKIPPED {path.name}: {type(e).__name__}: {why}", flush=True)
            continue
        rows.append(row)
        print(row.caption, flush=True)
        for n in notes:
            print(f"    {n}")
        if args.rows:
            args.rows.mkdir(parents=True, exist_ok=True)
            Image.fromarray(build_row_image(row, 2 * args.tile)).save(args.rows / f"{path.stem}.png", optimize=True)
            if row.outside is not None:
                Image.fromarray(row.outside).save(args.rows / f"{path.stem}_outside.png", optimize=True)
    footer = ["Photos (top to bottom):"]
    footer += [f"{r.name}: {credits.get(r.name, '(no CREDITS.tsv row)')}" for r in rows]
    if failed:
        footer.append("Skipped:")
        footer += [f"{name}: {why}" for name, why in failed]
    if not rows:
        print("no photo could be processed", file=sys.stderr)
        return 1
    sheet = build_sheet(rows, args.tile, footer)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(args.out, optimize=True)
    print("\n".join(["", "Credits:"] + [f"  {r.name}: {credits.get(r.name, '(no CREDITS.tsv row)')}" for r in rows]))
    print(f"\nwrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]}), {len(rows)} photos, {len(failed)} skipped, "
          f"{time.perf_counter() - t_all:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
