"""``edit`` and ``undistort``: one photo or a batch, each through the same pipeline the editor runs.

A batch keeps going past a failing photo, reports each failure in one line and exits 2 (bad input) or
1 (an internal error) at the end. Outputs are validated before any work (format, folder, never the input
unless ``--overwrite``) and written atomically. No Qt.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from super_gui.core.camera import UNDISTORT_FOCAL_MM, View
from super_gui.errors import UserInputError

WRITABLE = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


def _view(args: argparse.Namespace) -> View:
    if args.command == "undistort":
        return View(focal_35mm=UNDISTORT_FOCAL_MM)
    return View(yaw_deg=args.yaw, pitch_deg=args.pitch, focal_35mm=args.focal)


def _outputs(args: argparse.Namespace) -> list[tuple[Path, Path]]:
    """(input, output) pairs. Several inputs need an output folder; so does an output ending in '/'."""
    photos = [Path(p) for p in args.photos]
    out = Path(args.output)
    as_folder = len(photos) > 1 or args.output.endswith(("/", "\\")) or out.is_dir()
    if not as_folder:
        return [(photos[0], out)]
    if not out.is_dir():
        if out.exists():
            raise UserInputError(f"{out} is a file; with several photos, -o must name a folder.")
        out.mkdir(parents=True)
    if args.mesh:
        raise UserInputError("--mesh works with one photo at a time.")
    pairs = []
    for p in photos:
        suffix = p.suffix.lower() if p.suffix.lower() in WRITABLE else ".jpg"
        pairs.append((p, out / (p.stem + suffix)))
    return pairs


def edit_one(photo_path: Path, out_path: Path, args: argparse.Namespace, view: View) -> dict:
    """Run the whole edit for one photo; returns the report. Raises UserInputError for bad input."""
    from super_gui.core.edit import MESH_SUFFIXES, write_edit
    from super_gui.core.export import check_output_path
    from super_gui.core.image_io import load_photo
    from super_gui.core.pipeline import PortraitRenderer, check_view, prepare

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    out_path = check_output_path(photo_path, out_path, overwrite=args.overwrite)
    if args.mesh and Path(args.mesh).suffix.lower() not in MESH_SUFFIXES:
        raise UserInputError(f"Cannot write a mesh as {Path(args.mesh).name}: use a .glb, .obj or .ply file name.")
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise UserInputError(f"The folder for the report {args.json} does not exist.")
    if not 1 <= args.quality <= 100:
        raise UserInputError(f"JPEG quality must be 1-100, not {args.quality}.")
    t = time.perf_counter()
    photo = load_photo(photo_path)
    timings["load"] = time.perf_counter() - t
    for warning in photo.warnings:  # damage the decoder got past: the photo is still edited
        print(f"warning: {warning}", file=sys.stderr)
    prepared = prepare(photo, face_index=args.face, capture_focal_35mm=args.capture_focal, distance_cm=args.distance_cm)
    faces = prepared.analysis.faces
    if faces.ambiguous:
        raise UserInputError(f"{photo_path.name} has {len(faces.faces)} faces of similar size ({faces.describe_faces()}); choose one with --face N.")
    check_view(view, prepared.analysis.focal.focal_35mm)
    timings.update(prepared.timings_s)
    t = time.perf_counter()
    renderer = PortraitRenderer(prepared)
    try:
        timings["upload"] = time.perf_counter() - t
        t = time.perf_counter()
        rendered = renderer.render(view, full=True)
        timings["render"] = time.perf_counter() - t
    finally:
        renderer.release()
    return write_edit(
        prepared, rendered.image, view, out_path, command=args.command, jpeg_quality=args.quality,
        overwrite=args.overwrite, mesh_path=args.mesh, timings=timings, started=t0,
    )


def _ranges_text(supported: dict) -> str:
    (y0, y1), (p0, p1), (_, f1) = supported["yaw_deg"], supported["pitch_deg"], supported["focal_35mm"]
    return f"yaw {y0:+.0f} to {y1:+.0f} deg, pitch {p0:+.0f} to {p1:+.0f} deg, focal up to {f1:.0f} mm"


def run_edit(args: argparse.Namespace) -> int:
    from super_gui.core.atomic import write_json_atomic

    view = _view(args)
    pairs = _outputs(args)
    reports: list[dict] = []
    failed = internal = False
    for src, dst in pairs:
        try:
            rep = edit_one(src, dst, args, view)
            reports.append(rep)
            t = rep["timings_s"]
            print(f"{src.name} -> {dst} ({t['total']:.2f} s; distance {rep['estimates']['capture_distance_cm']:.0f} cm, capture focal {rep['settings']['capture_focal_35mm']:g} mm)")
            cov = rep.get("coverage") or {}
            if cov.get("outside") or cov.get("view", 1.0) < cov.get("supported", {}).get("min_coverage", 0.0):
                print(f"note: {src.name}: this view is outside the range the photo supports "
                      f"({', '.join(cov['outside']) or 'this combination'}; supported: {_ranges_text(cov['supported'])}); "
                      "check the result", file=sys.stderr)
        except UserInputError as e:
            if len(pairs) == 1:
                raise
            failed = True
            reports.append({"input": str(src), "error": str(e)})
            print(f"error: {src.name}: {e}", file=sys.stderr)
        except Exception as e:  # a bug: report it and go on with the batch
            if len(pairs) == 1:
                raise
            internal = True
            traceback.print_exc()
            reports.append({"input": str(src), "error": f"internal error: {e}"})
            print(f"error: {src.name}: internal error in super_gui ({type(e).__name__})", file=sys.stderr)
    if args.json:
        write_json_atomic(args.json, reports[0] if len(pairs) == 1 else {"results": reports})
    if len(pairs) > 1:
        ok = sum("error" not in r for r in reports)
        print(f"{ok} of {len(pairs)} photos done" + ("" if ok == len(pairs) else f", {len(pairs) - ok} failed"))
    return 1 if internal else 2 if failed else 0
