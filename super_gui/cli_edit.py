"""``edit`` and ``undistort``: one photo or a batch, each through the same pipeline the editor runs.

A batch keeps going past a failing photo, reports each failure in one line and exits 2 (bad input) or
1 (an internal error) at the end. Before any work, and before an output folder is made: every option is
checked, and every file the run will write is planned (:func:`~super_gui.core.outputs.plan_outputs`): never
an input (unless ``--overwrite``, and then only the image over its own photo), never another output of the
run (a batch gives colliding names distinct outputs: ``IMG_1.jpg``, ``IMG_1-2.jpg``), never through a
symbolic link. Each photo's files are written all or none. No Qt.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

from super_gui.core.camera import UNDISTORT_FOCAL_MM, View
from super_gui.core.outputs import IMAGE_SUFFIXES, plan_outputs, shown
from super_gui.errors import UserInputError

WRITABLE = IMAGE_SUFFIXES


def _view(args: argparse.Namespace) -> View:
    if args.command == "undistort":
        return View(focal_35mm=UNDISTORT_FOCAL_MM)
    return View(yaw_deg=args.yaw, pitch_deg=args.pitch, focal_35mm=args.focal)


def _as_folder(args: argparse.Namespace) -> bool:
    return len(args.photos) > 1 or args.output.endswith(("/", "\\")) or Path(args.output).is_dir()


def _check_usage(args: argparse.Namespace) -> None:
    """What can be refused from the command line alone, before any folder is made or file read."""
    for option, value in (("-o", args.output), ("--json", args.json), ("--mesh", args.mesh)):
        if value is not None and not value.strip():  # e.g. an unset shell variable: never "the current folder"
            raise UserInputError(f"{option} is given an empty name; name the file to write.")
    if _as_folder(args):
        if args.mesh:
            raise UserInputError("--mesh works with one photo at a time.")
        out = Path(args.output)
        if os.path.lexists(out) and not out.is_dir():
            raise UserInputError(f"{shown(out)} is a file; with several photos, -o must name a folder.")
    if args.json and not (_as_folder(args) and _report_in_new_folder(args)):
        plan_outputs(None, report=args.json, other_inputs=args.photos)


def _report_in_new_folder(args: argparse.Namespace) -> bool:
    """Whether the --json report goes into the output folder that is still to be made (checked once it is)."""
    out = Path(args.output).absolute()
    return not out.exists() and Path(args.json).absolute().parent == out


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet, innermost first."""
    missing = []
    p = folder.absolute()
    while not os.path.lexists(p) and p != p.parent:
        missing.append(p)
        p = p.parent
    return missing


def _distinct(name: str, taken: set[str]) -> str:
    """``name``, or ``stem-2.ext``, ``stem-3.ext``... whichever is not ``taken`` (compared ignoring case,
    as the file systems of macOS and Windows do)."""
    stem, suffix = os.path.splitext(name)
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem}-{n}{suffix}"
    return candidate


def _outputs(args: argparse.Namespace) -> tuple[list[tuple[Path, Path, str]], list[Path]]:
    """(input, output, note) triples, and the folders made for them (innermost first). Several inputs need an
    output folder; so does an output ending in '/'. The folder is made here (after every usage check), and
    removed again if the plan refuses the run."""
    photos = [Path(p) for p in args.photos]
    if not _as_folder(args):
        return [(photos[0], Path(args.output), "")], []
    out = Path(args.output)
    made = _missing_folders(out)
    if made:
        out.mkdir(parents=True)
    try:
        triples, taken = [], set()
        # A photo whose own name is free keeps it; a later one with the same name gets a number.
        for p in photos:
            suffix = p.suffix.lower() if p.suffix.lower() in WRITABLE else ".jpg"
            want = p.stem + suffix
            name = _distinct(want, taken)
            others = [q for q in photos if q is not p]
            while any(_same_output(out / name, q) for q in others):  # never another photo of the batch
                taken.add(name.lower())
                name = _distinct(want, taken)
            taken.add(name.lower())
            taken.add((name + ".json").lower())
            note = "" if name == want else f"; named {shown(name)}: {shown(want)} is taken by another photo of this batch"
            triples.append((p, out / name, note))
        if args.json:  # the batch's report: never over a photo, an output of the batch or its sidecar
            for _, dst, _ in triples:
                plan_outputs(None, image=dst, report=args.json, other_inputs=photos)
        return triples, made
    except BaseException:
        _remove_empty(made)
        raise


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders a run made (innermost first) as long as they are empty: a run that wrote nothing
    leaves nothing behind."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            break


def _same_output(path: Path, photo: Path) -> bool:
    try:
        plan_outputs(None, image=path, sidecar=False, other_inputs=[photo], overwrite=True)
        return False
    except UserInputError:
        return True


def edit_one(photo_path: Path, out_path: Path, args: argparse.Namespace, view: View,
             other_inputs: list[Path] | None = None, report_path: str | None = None) -> dict:
    """Run the whole edit for one photo; returns the report. Raises UserInputError for bad input."""
    from super_gui.core.camera import capture_focal
    from super_gui.app.edit import write_edit
    from super_gui.core.image_io import load_photo
    from super_gui.app.pipeline import PortraitRenderer, check_view, prepare

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    plan_outputs(photo_path, image=out_path, mesh=args.mesh, report=report_path, overwrite=args.overwrite,
                 other_inputs=other_inputs or ())
    t = time.perf_counter()
    photo = load_photo(photo_path)
    timings["load"] = time.perf_counter() - t
    for warning in photo.warnings:  # damage the decoder got past: the photo is still edited
        print(f"warning: {warning}", file=sys.stderr)
    meta = photo.meta
    focal = capture_focal(meta.focal_length_35mm, meta.focal_length_mm, meta.make, meta.model, args.capture_focal)
    check_view(view, focal.focal_35mm)  # before the analysis: the focal range depends on the capture lens
    if focal.note:
        print(f"note: {shown(photo_path.name)}: {focal.note}", file=sys.stderr)
    prepared = prepare(photo, face_index=args.face, capture_focal_35mm=args.capture_focal, distance_cm=args.distance_cm)
    faces = prepared.analysis.faces
    if faces.ambiguous:
        raise UserInputError(f"{faces.ambiguity(shown(photo_path.name))}; choose one with --face N.")
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
        overwrite=args.overwrite, mesh_path=args.mesh, report_path=report_path, timings=timings, started=t0,
    )


def _ranges_text(supported: dict) -> str:
    (y0, y1), (p0, p1), (_, f1) = supported["yaw_deg"], supported["pitch_deg"], supported["focal_35mm"]
    return f"yaw {y0:+.0f} to {y1:+.0f} deg, pitch {p0:+.0f} to {p1:+.0f} deg, focal up to {f1:.0f} mm"


def not_enough_memory(photo: Path) -> str:
    """The sentence for an edit that ran out of memory (exit 2, like other input the machine cannot take)."""
    from super_gui.core.image_io import read_image_size

    try:
        w, h = read_image_size(photo)
        size = f" ({w * h / 1e6:.{0 if w * h >= 10e6 else 1}f} MP)"
    except Exception:  # the size is a courtesy; the sentence stands without it
        size = ""
    return f"Not enough memory to edit {shown(photo.name)}{size}; close other programs or use a smaller photo."


def run_edit(args: argparse.Namespace) -> int:
    from super_gui.core.atomic import write_json_atomic

    view = _view(args)
    _check_usage(args)
    triples, made = _outputs(args)
    single = len(triples) == 1
    photos = [src for src, _, _ in triples]
    reports: list[dict] = []
    failed = internal = False
    try:
        for src, dst, note in triples:
            others = [p for p in photos if p is not src]
            try:
                rep = edit_one(src, dst, args, view, others, report_path=args.json if single else None)
                reports.append(rep)
                t = rep["timings_s"]
                print(f"{shown(src.name)} -> {shown(dst)} ({t['total']:.2f} s; distance {rep['estimates']['capture_distance_cm']:.0f} cm, "
                      f"capture focal {rep['settings']['capture_focal_35mm']:g} mm{note})")
                cov = rep.get("coverage") or {}
                if cov.get("outside") or cov.get("view", 1.0) < cov.get("supported", {}).get("min_coverage", 0.0):
                    print(f"note: {shown(src.name)}: this view is outside the range the photo supports "
                          f"({', '.join(cov['outside']) or 'this combination'}; supported: {_ranges_text(cov['supported'])}); "
                          "check the result", file=sys.stderr)
            except (UserInputError, MemoryError) as e:
                if isinstance(e, MemoryError):
                    e = UserInputError(not_enough_memory(src))
                if single:
                    raise e from None
                failed = True
                reports.append({"input": str(src), "error": str(e)})
                print(f"error: {shown(src.name)}: {shown(str(e))}", file=sys.stderr)
            except Exception as e:  # a bug: report it and go on with the batch
                if single:
                    raise
                internal = True
                traceback.print_exc()
                reports.append({"input": str(src), "error": f"internal error: {e}"})
                print(f"error: {shown(src.name)}: internal error in super_gui ({type(e).__name__})", file=sys.stderr)
        ok = sum("error" not in r for r in reports)
        if args.json and not single:
            plan_outputs(None, report=args.json, other_inputs=photos)
            write_json_atomic(args.json, {"results": reports})
        if not single:
            print(f"{ok} of {len(triples)} photos done" + ("" if ok == len(triples) else f", {len(triples) - ok} failed"))
    finally:
        if not any("error" not in r for r in reports):
            _remove_empty(made)  # a run that wrote nothing leaves no folder behind
    return 1 if internal else 2 if failed else 0
