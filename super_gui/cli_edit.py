"""``edit`` and ``undistort``: one photo or a batch, each through the same pipeline the editor runs.

A batch keeps going past a failing photo, reports each failure in one line and exits 2 (bad input) or
1 (an internal error) at the end. Before any work, and before an output folder is made: every option is
checked, and every file the run will write is planned (:func:`~super_gui.core.outputs.plan_outputs`): never
an input (unless ``--overwrite``, and then only the image over its own photo), never another output of the
run (a batch gives colliding names distinct outputs: ``IMG_1.jpg``, ``IMG_1-2.jpg``), never through a
symbolic link. Each photo's files are written all or none. No Qt.

``--backend eg3d`` (the SUPER paper's EG3D inversion) is checked with the rest before any work: its
checkpoint and weights must exist, and they are inputs no output may replace. Its fitting reports each step
on one updating line when stderr is a terminal; on the CPU a note first says how long a photo takes.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Iterator, Sequence

from super_gui.core.camera import UNDISTORT_FOCAL_MM, View
from super_gui.core.outputs import IMAGE_SUFFIXES, plan_outputs, shown
from super_gui.errors import UserInputError

WRITABLE = IMAGE_SUFFIXES


def _view(args: argparse.Namespace) -> View:
    """The view asked for (of the first face, where --yaw, --pitch or --focal list one per face)."""
    if args.command == "undistort":
        return View(focal_35mm=UNDISTORT_FOCAL_MM)
    first = lambda v: v[0] if isinstance(v, tuple) else v  # noqa: E731
    return View(yaw_deg=first(args.yaw), pitch_deg=first(args.pitch), focal_35mm=first(args.focal))


def _as_folder(args: argparse.Namespace) -> bool:
    return len(args.photos) > 1 or args.output.endswith(("/", "\\")) or Path(args.output).is_dir()


# --option -> the eg3d backend's keyword argument (super_gui.inversion.eg3d.backend.EG3DBackend)
EG3D_OPTIONS = {"--checkpoint": "checkpoint", "--lpips-weights": "lpips_weights", "--lpips-heads": "lpips_heads",
                "--steps": "steps", "--device": "device"}
_FILES = {"--checkpoint": "EG3D checkpoint", "--lpips-weights": "VGG16 weights file", "--lpips-heads": "LPIPS heads file"}


def backend_settings(args: argparse.Namespace) -> tuple[str, dict, float | None]:
    """(backend name, its options, seconds per photo on the CPU or None) from the command line, refused in one
    sentence before any work: eg3d options with the landmark backend, eg3d without its checkpoint, a file that
    is not there, steps or a device the backend does not take."""
    given = {opt: getattr(args, kw) for opt, kw in EG3D_OPTIONS.items() if getattr(args, kw, None) is not None}
    if args.backend != "eg3d":
        if given:
            names = list(given)
            listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            raise UserInputError(f"{listed} {'is' if len(names) == 1 else 'are'} only for --backend eg3d.")
        return args.backend, {}, None
    for opt, value in given.items():
        if opt in _FILES and not value.strip():
            raise UserInputError(f"{opt} is given an empty name; name the file.")
    if "--checkpoint" not in given:
        raise UserInputError("--backend eg3d needs NVIDIA's EG3D checkpoint: give its path with --checkpoint "
                             "(e.g. --checkpoint ffhq512-128.pkl).")
    if "--lpips-heads" in given and "--lpips-weights" not in given:
        raise UserInputError("--lpips-heads needs --lpips-weights (the heads weigh VGG16's features).")
    for opt, what in _FILES.items():
        path = given.get(opt)
        if path is not None and not Path(path).is_file():
            raise UserInputError(f"The {what} {shown(path)} {'is not a file' if Path(path).exists() else 'does not exist'} ({opt}).")
    options = {EG3D_OPTIONS[opt]: (str(Path(v).absolute()) if opt in _FILES else v) for opt, v in given.items()}
    from super_gui.inversion.backends import backend

    inverter = backend("eg3d", **options)  # refuses steps or a device it cannot use, in one sentence
    return "eg3d", options, (inverter.estimate_seconds() if inverter.device.type == "cpu" else None)


def backend_files(options: dict) -> list[Path]:
    """The files a backend reads (its checkpoint and weights): no output of the run may be one of them."""
    return [Path(options[kw]) for kw in ("checkpoint", "lpips_weights", "lpips_heads") if options.get(kw)]


class ProgressLine:
    """The fitting's progress on one line of stderr that each message replaces (only on a terminal; the
    line is cleared when the photo is done, fails or is interrupted)."""

    def __init__(self, name: str, on: bool):
        self.name, self.on, self.shown = name, on, False

    def __call__(self, fraction: float, message: str) -> None:
        if not self.on:
            return
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        text = f"{self.name}: {message}"
        sys.stderr.write("\r\x1b[K" + (text if len(text) <= width else text[: width - 1] + "…"))
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False


def _check_usage(args: argparse.Namespace, read_too: Sequence[Path] = ()) -> None:
    """What can be refused from the command line alone, before any folder is made or file read (``read_too``:
    files the run reads besides the photos)."""
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
        plan_outputs(None, report=args.json, other_inputs=[*args.photos, *read_too])


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
             other_inputs: list[Path] | None = None, report_path: str | None = None,
             backend: tuple[str, dict] = ("landmark", {})) -> dict:
    """Run the whole edit for one photo with the inversion ``backend`` (name, options); returns the report.
    Raises UserInputError for bad input. Several faces (``--face all`` or a list; ``undistort``'s default)
    are each fitted and rendered into the one image (app.faces, app.group)."""
    from super_gui.core.camera import capture_focal
    from super_gui.app.edit import write_edit
    from super_gui.app.faces import faces_to_edit, find_faces
    from super_gui.app.group import FaceRenderers
    from super_gui.core.image_io import load_photo
    from super_gui.app.pipeline import check_view

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
    choice = face_choice(args)
    line = ProgressLine(shown(photo_path.name), backend[0] != "landmark" and sys.stderr.isatty())
    try:
        t = time.perf_counter()
        faces = find_faces(photo, face_index=choice if isinstance(choice, int) else None,
                           capture_focal_35mm=args.capture_focal, backend_name=backend[0], backend_options=backend[1],
                           progress=line)
        indices = faces_to_edit(faces, choice)
        views = face_views(args, view, len(indices))
        for v in views:
            check_view(v, focal.focal_35mm)
        if args.distance_cm is not None:
            faces = faces.with_capture(args.capture_focal, dict(zip(indices, per_face(args.distance_cm, len(indices), "--distance-cm"))))
        if choice is None and faces.faces.ambiguous:
            print(f"note: {faces.faces.ambiguity(shown(photo_path.name))}; editing face {indices[0]}, the largest "
                  "(--face N edits another, --face all every one)", file=sys.stderr)
        if args.mesh and len(indices) > 1:
            raise UserInputError(f"--mesh writes one face's head and {shown(photo_path.name)} has {len(indices)} faces to "
                                 "edit; choose one with --face N.")
        timings["analysis"] = time.perf_counter() - t
        prepared = faces.prepare_all(indices, progress=line)
    finally:
        line.clear()
    for p in prepared:
        for k in ("inversion", "mesh", "coverage"):
            timings[k] = timings.get(k, 0.0) + p.timings_s.get(k, 0.0)
    t = time.perf_counter()
    renderers = FaceRenderers()
    try:
        rendered = renderers.render(list(zip(prepared, views)), full=True)
        timings["render"] = time.perf_counter() - t
    finally:
        renderers.release()
    return write_edit(
        prepared[0], rendered.image, views[0], out_path, command=args.command, jpeg_quality=args.quality,
        overwrite=args.overwrite, mesh_path=args.mesh, report_path=report_path, timings=timings, started=t0,
        others=list(zip(prepared[1:], views[1:])),
    )


def face_choice(args: argparse.Namespace):
    """--face: an index, a tuple of them, "all", or None (the largest face); ``undistort`` edits every face
    by default."""
    return args.face if args.face is not None else "all" if args.command == "undistort" else None


def per_face(value, n: int, option: str) -> list:
    """An option's value for each of ``n`` faces: one value for all, or a list of one per face."""
    if not isinstance(value, tuple):
        return [value] * n
    if len(value) != n:
        raise UserInputError(f"{option} gives {len(value)} values for {n} face{'s' if n != 1 else ''}; give one value, "
                             "or one per face of --face in its order.")
    return list(value)


def face_views(args: argparse.Namespace, view: View, n: int) -> list[View]:
    """The view of each of ``n`` edited faces: ``view`` for each, or where --yaw, --pitch or --focal list one
    value per face, that face's."""
    if args.command == "undistort" or not any(isinstance(getattr(args, k), tuple) for k in ("yaw", "pitch", "focal")):
        return [view] * n
    return [View(y, p, f) for y, p, f in zip(per_face(args.yaw, n, "--yaw"), per_face(args.pitch, n, "--pitch"),
                                               per_face(args.focal, n, "--focal"))]


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


def edit_and_print(src: Path, dst: Path, note: str, args: argparse.Namespace, view: View, others: list[Path],
                   report_path: str | None, backend: tuple[str, dict], single: bool) -> tuple[dict, bool]:
    """One photo of a run: edit it and print its line, its notes and, in a batch, its error; returns (its
    report, whether it failed with an internal error). A single photo's error is raised instead."""
    try:
        rep = edit_one(src, dst, args, view, others, report_path=report_path, backend=backend)
        t = rep["timings_s"]
        faces = rep.get("faces") or [{"index": None, "coverage": rep.get("coverage")}]
        distances = sorted(f["capture_distance_cm"] for f in faces) if len(faces) > 1 else None
        where = (f"{len(faces)} faces, distance {distances[0]:.0f}-{distances[-1]:.0f} cm" if distances else
                 f"distance {rep['estimates']['capture_distance_cm']:.0f} cm")
        print(f"{shown(src.name)} -> {shown(dst)} ({t['total']:.2f} s; {where}, "
              f"capture focal {rep['settings']['capture_focal_35mm']:g} mm{note})")
        for face in faces:
            cov = face.get("coverage") or {}
            if cov.get("outside") or cov.get("view", 1.0) < cov.get("supported", {}).get("min_coverage", 0.0):
                which = f" (face {face['index']})" if len(faces) > 1 else ""
                print(f"note: {shown(src.name)}: this view{which} is outside the range the photo supports "
                      f"({', '.join(cov['outside']) or 'this combination'}; supported: {_ranges_text(cov['supported'])}); "
                      "check the result", file=sys.stderr)
        return rep, False
    except (UserInputError, MemoryError) as e:
        if isinstance(e, MemoryError):
            e = UserInputError(not_enough_memory(src))
        if single:
            raise e from None
        print(f"error: {shown(src.name)}: {shown(str(e))}", file=sys.stderr)
        return {"input": str(src), "error": str(e)}, False
    except Exception as e:  # a bug: report it and go on with the batch
        if single:
            raise
        traceback.print_exc()
        print(f"error: {shown(src.name)}: internal error in super_gui ({type(e).__name__})", file=sys.stderr)
        return {"input": str(src), "error": f"internal error: {e}"}, True


def edit_in_turn(triples: list[tuple[Path, Path, str]], args: argparse.Namespace, view: View,
                 backend: tuple[str, dict], read_too: list[Path]) -> Iterator[tuple[dict, bool]]:
    """Each photo of a run in this process, one after the other: (report, internal error?) in input order."""
    single = len(triples) == 1
    photos = [src for src, _, _ in triples]
    for src, dst, note in triples:
        others = [p for p in photos if p is not src] + read_too
        yield edit_and_print(src, dst, note, args, view, others, args.json if single else None, backend, single)


def run_edit(args: argparse.Namespace, edit_photos=None) -> int:
    """``edit`` / ``undistort``; ``edit_photos`` runs the photos (default :func:`edit_in_turn`; the CLI passes
    super_gui.cli_batch's, which runs a batch in parallel processes with ``--jobs``)."""
    from super_gui.core.atomic import write_json_atomic

    view = _view(args)
    name, options, cpu_seconds = backend_settings(args)
    read_too = backend_files(options)  # never written, whatever --overwrite says
    _check_usage(args, read_too)
    triples, made = _outputs(args)
    if cpu_seconds is not None:
        print(f"note: the eg3d backend runs on the CPU here; this takes about {max(1, math.ceil(cpu_seconds / 60))} "
              "min per photo.", file=sys.stderr)
    single = len(triples) == 1
    photos = [src for src, _, _ in triples]
    reports: list[dict] = []
    failed = internal = False
    try:
        for rep, bug in (edit_photos or edit_in_turn)(triples, args, view, (name, options), read_too):
            reports.append(rep)
            failed, internal = failed or "error" in rep, internal or bug
        ok = sum("error" not in r for r in reports)
        if args.json and not single:
            plan_outputs(None, report=args.json, other_inputs=photos + read_too)
            write_json_atomic(args.json, {"results": reports})
        if not single:
            print(f"{ok} of {len(triples)} photos done" + ("" if ok == len(triples) else f", {len(triples) - ok} failed"))
    finally:
        if not any("error" not in r for r in reports):
            _remove_empty(made)  # a run that wrote nothing leaves no folder behind
    return 1 if internal else 2 if failed else 0
