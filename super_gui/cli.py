"""Command line: ``python main.py [PHOTO]`` opens the editor, ``analyze`` / ``edit`` / ``undistort`` work
headless.

Exit status: 0 success, 2 bad input or usage (one plain sentence on stderr, no traceback), 1 an internal
error (a bug: the traceback is printed). Never imports Qt: the editor is imported only when asked for.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Sequence

from super_gui import __version__
from super_gui.cli_batch import jobs_option
from super_gui.core.camera import UNDISTORT_FOCAL_MM
from super_gui.core.outputs import shown
from super_gui.errors import UserInputError

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2
COMMANDS = ("analyze", "edit", "undistort")
# The inversion backends (super_gui.inversion.backends.BACKENDS, not imported here to keep the CLI's start
# fast; tests/test_cli_backend.py checks that the two agree); the first is the default.
BACKEND_NAMES = ("landmark", "eg3d")
DEVICES = ("auto", "cpu", "cuda")


def program() -> str:
    """How the user started us: ``super-gui`` (the installed command) or ``python main.py`` (a checkout)."""
    return "super-gui" if Path(sys.argv[0]).name.startswith("super-gui") else "python main.py"


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one sentence with exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        command = " ".join(self.prog.split()[1:])
        raise UserInputError(f"{message[0].upper()}{message[1:]} (see '{program()} {command + ' ' if command else ''}--help').")


def _face_index(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"face index must be a whole number, not {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError("face index counts from 0 (the leftmost face)")
    from super_gui.core.face import MAX_FACES

    if v >= MAX_FACES:
        raise argparse.ArgumentTypeError(f"face index {v} is beyond the {MAX_FACES} faces super_gui looks for in a photo")
    return v


def _face_choice(text: str) -> int | tuple[int, ...] | str:
    """--face on edit and undistort: N, a comma list (0,2) or 'all'."""
    if text.strip().lower() == "all":
        return "all"
    parts = [_face_index(t.strip()) for t in text.split(",")]
    return parts[0] if len(parts) == 1 else tuple(parts)


def _per_face(kind):
    """A number, or a comma list of numbers (one per face of --face)."""
    def parse(text: str) -> float | tuple[float, ...]:
        parts = [kind(t.strip()) for t in text.split(",")]
        return parts[0] if len(parts) == 1 else tuple(parts)
    return parse


def _number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, not {text}")
    return v


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not v > 0 or v != v or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, not {text}")
    return v


def _quality(text: str) -> int | str:
    """--quality: a whole number (its range is checked with the other numbers) or "original"."""
    if text.strip().lower() == "original":
        return "original"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"JPEG quality must be a whole number from 1 to 100 or 'original', not {text!r}") from None


def _add_analysis_options(p: argparse.ArgumentParser, faces: str = "") -> None:
    p.add_argument("--capture-focal", type=_positive, metavar="MM", help="35 mm-equivalent focal length of the lens that took the photo (default: EXIF, else 26 mm)")
    if faces:  # edit, undistort: several faces
        p.add_argument("--face", type=_face_choice, metavar="N|N,M|all", help="which faces to edit, counted from the left "
                       f"from 0: one, a comma list, or all that can be edited (default: {faces})")
    else:
        p.add_argument("--face", type=_face_index, metavar="N", help="which face to use, counted from the left from 0 (default: the largest)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=program().removeprefix("python "),
        description="super_gui: undistort close-up selfies and re-pose the head in 3D. With no command, opens the editor.",
    )
    parser.add_argument("--version", action="version", version=f"super_gui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    a = sub.add_parser("analyze", help="report the faces, capture camera, distance and head pose of a photo")
    a.add_argument("photo", metavar="PHOTO")
    a.add_argument("--json", metavar="OUT.json", help="also write the report as JSON")
    _add_analysis_options(a)
    e = sub.add_parser("edit", help="re-photograph the head: turn it (yaw, pitch) and/or change the lens (dolly zoom)")
    _add_edit_options(e)
    e.add_argument("--yaw", type=_per_face(_number), default=0.0, metavar="DEG", help="turn the head; + moves the nose to the right (-30 to 30)")
    e.add_argument("--pitch", type=_per_face(_number), default=0.0, metavar="DEG", help="tilt the head; + lifts the chin (-20 to 20)")
    e.add_argument("--focal", type=_per_face(_positive), metavar="MM", help="virtual 35 mm-equivalent focal length; the camera moves back so the face keeps its size")
    e.epilog = ("With several faces (--face 0,2 or all) --yaw, --pitch, --focal and --distance-cm take one value for "
                "every face or a comma list of one per face.")
    u = sub.add_parser("undistort", help=f"the one-click fix: a virtual {UNDISTORT_FOCAL_MM:g} mm portrait lens from farther away (dolly zoom)")
    _add_edit_options(u)
    return parser


def _add_edit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("photos", nargs="+", metavar="PHOTO")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output file (.jpg, .png, .tif), or a folder (ending in /) for several photos")
    _add_analysis_options(p, faces="the largest" if p.prog.endswith(" edit") else "all")
    p.add_argument("--distance-cm", type=_per_face(_positive), metavar="CM", help="capture distance (default: estimated from the iris size)")
    p.add_argument("--mesh", metavar="OUT.glb", help="also export the 3D mesh (.glb, .obj or .ply); one photo only")
    p.add_argument("--json", metavar="REPORT.json", help="write the estimates, timings and output paths as JSON")
    p.add_argument("--quality", type=_quality, default=95, metavar="Q",
                   help="JPEG quality, 1-100, or 'original': the original JPEG's, estimated (default 95)")
    p.add_argument("--overwrite", action="store_true", help="allow writing over the input photo")
    p.add_argument("--jobs", type=jobs_option, metavar="N", help="photos edited at once, each in a process of its "
                   "own (default: the number of cores; 1: one after the other in this process)")
    b = p.add_argument_group("inversion backend", "how the head is reconstructed in 3D (the options below "
                             "--backend are only for --backend eg3d)")
    b.add_argument("--backend", choices=BACKEND_NAMES, default=BACKEND_NAMES[0],
                   help="landmark: fast, on any CPU (default); eg3d: the SUPER paper's EG3D 3D-GAN inversion, "
                        "needs NVIDIA's checkpoint")
    b.add_argument("--checkpoint", metavar="PATH", help="NVIDIA's EG3D network pickle (e.g. ffhq512-128.pkl; not shipped: "
                                                          "NVIDIA's non-commercial licence)")
    b.add_argument("--lpips-weights", metavar="PATH", help="torchvision VGG16 weights (a state_dict) for the perceptual "
                                                            "loss (default: no perceptual loss)")
    b.add_argument("--lpips-heads", metavar="PATH", help="LPIPS' vgg.pth linear heads (optional, with --lpips-weights)")
    b.add_argument("--steps", metavar="quick|paper|N", help="inversion steps: quick (default), paper, or a number")
    b.add_argument("--device", choices=DEVICES, help="where EG3D runs: auto (CUDA when present, default), cpu or cuda")


def _values(value) -> tuple:
    """An option's values: none, one, or a per-face list's."""
    return () if value is None else value if isinstance(value, tuple) else (value,)


def _check_numbers(args: argparse.Namespace) -> None:
    """Every numeric option against the range the maths handles, in one plain sentence, before any file is
    read or made (the capture lens bounds --focal further once the photo's EXIF is read)."""
    from super_gui.core.analysis import DISTANCE_RANGE_CM
    from super_gui.core.camera import CAPTURE_FOCAL_RANGE_MM, capture_focal

    if args.capture_focal is not None:
        capture_focal(None, None, user_focal_35mm=args.capture_focal)  # refuses outside CAPTURE_FOCAL_RANGE_MM
    if args.command == "analyze":
        return
    lo, hi = DISTANCE_RANGE_CM
    for cm in _values(args.distance_cm):
        if not lo <= cm <= hi:
            raise UserInputError(f"A capture distance of {cm:g} cm is not plausible ({lo:g}-{hi:g} cm).")
    if isinstance(args.quality, int) and not 1 <= args.quality <= 100:
        raise UserInputError(f"JPEG quality must be 1-100, not {args.quality}.")
    if args.command == "edit":
        from super_gui.core.camera import View
        from super_gui.app.pipeline import MAX_FOCAL_MM, check_view  # the editor's slider ranges

        for yaw in _values(args.yaw):
            for pitch in _values(args.pitch):
                check_view(View(yaw, pitch, None), CAPTURE_FOCAL_RANGE_MM[1])
        f_lo, f_hi = min(10.0, CAPTURE_FOCAL_RANGE_MM[0]), max(MAX_FOCAL_MM, CAPTURE_FOCAL_RANGE_MM[1])
        if args.capture_focal is not None:  # the range check_view applies for this capture lens
            f_lo, f_hi = min(10.0, args.capture_focal), max(MAX_FOCAL_MM, args.capture_focal)
        for focal in _values(args.focal):
            if not f_lo <= focal <= f_hi:
                raise UserInputError(f"A focal length of {focal:g} mm is outside the supported range "
                                     f"({f_lo:g} to {f_hi:g} mm).")


def _print_analysis(summary: dict, timings: dict[str, float]) -> None:
    w, h = summary["image_size"]
    pose = summary["head_pose_deg"]
    src = {"exif-35mm": "EXIF FocalLengthIn35mmFilm", "exif-focal-length": "EXIF FocalLength x crop factor", "default": "default for a phone front camera", "user": "given by you"}
    print(f"photo:            {shown(summary['photo'])} ({w}x{h})")
    print(f"faces:            {summary['faces']} (using face {summary['face_index']}, counted from the left)")
    print(f"capture focal:    {summary['capture_focal_35mm']:g} mm, 35 mm-equivalent ({src[summary['capture_focal_source']]})")
    print(f"capture distance: {summary['capture_distance_cm']:.1f} cm (from the {'iris distance, 63 mm prior' if summary['capture_distance_source'] == 'iris' else 'value you gave'})")
    print(f"head pose:        yaw {pose['yaw']:+.1f} deg, pitch {pose['pitch']:+.1f} deg, roll {pose['roll']:+.1f} deg")
    print("time per stage:   " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in timings.items() if "." not in k))


def _note_ambiguous(analysis, name: str) -> None:
    """Several faces of similar size and none asked for: the largest is used, and a note says so."""
    faces = analysis.faces
    if faces.ambiguous:
        print(f"note: {shown(faces.ambiguity(name))}; using face {faces.chosen}, the largest (--face N for another)",
              file=sys.stderr)


def cmd_analyze(args: argparse.Namespace) -> int:
    from super_gui.core.analysis import analyze_photo
    from super_gui.core.atomic import write_json_atomic
    from super_gui.core.image_io import load_photo

    from super_gui.core.outputs import plan_outputs

    if args.json is not None and not args.json.strip():
        raise UserInputError("--json is given an empty name; name the file to write.")
    if args.json:  # never over the photo, never through a link: refused before the analysis
        plan_outputs(args.photo, report=args.json)
    t0 = time.perf_counter()
    photo = load_photo(args.photo)
    t_load = time.perf_counter() - t0
    for warning in photo.warnings:  # damage the decoder got past: the photo is still edited
        print(f"warning: {warning}", file=sys.stderr)
    analysis = analyze_photo(photo, face_index=args.face, capture_focal_35mm=args.capture_focal)
    _note_ambiguous(analysis, photo.path.name)
    timings = {"load": t_load, **analysis.timings_s, "total": time.perf_counter() - t0}
    summary = {"photo": str(photo.path), **analysis.summary(), "timings_s": {k: round(v, 4) for k, v in timings.items()}}
    _print_analysis(summary, timings)
    if analysis.focal.note:
        print(f"note: {shown(photo.path.name)}: {analysis.focal.note}", file=sys.stderr)
    if args.json:
        plan = plan_outputs(args.photo, report=args.json)
        with plan.writing() as w, w.file("report") as tmp:
            write_json_atomic(tmp, summary)
    return EXIT_OK


def _is_photo_argument(argv: list[str]) -> bool:
    """``main.py PHOTO``: one argument that is a file, or names a photo (a missing one is reported)."""
    if len(argv) != 1 or argv[0] in COMMANDS or argv[0].startswith("-"):
        return False
    from super_gui.core.image_io import SUPPORTED_SUFFIXES

    return Path(argv[0]).is_file() or Path(argv[0]).suffix.lower() in SUPPORTED_SUFFIXES


def open_editor(photo: str | None) -> int:
    """``python main.py [PHOTO]``: the desktop editor (Qt is imported only here)."""
    if photo is not None and not Path(photo).is_file():
        raise UserInputError(f"{photo} does not exist." if not Path(photo).exists() else f"{photo} is not a file.")
    if sys.platform.startswith("linux") and not any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        raise UserInputError("There is no display to open the editor on (DISPLAY is not set); "
                             f"the command line works without one: see '{program()} --help'.")
    try:
        from super_gui.gui.app import run
    except ImportError as e:
        raise UserInputError(f"The editor needs PySide6, which cannot be imported ({e}); run .ci/setup again.") from None
    return run(photo)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl+C (SIGINT) so that every temporary file is removed on the way out."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame) -> None:
    raise Terminated(signum)


def _install_signal_handlers() -> dict[int, object]:
    """SIGTERM and SIGHUP stop a run as SIGINT does; returns the handlers they replace (main thread only)."""
    previous: dict[int, object] = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            previous[signum] = signal.signal(signum, _raise_terminated)
        except (ValueError, OSError):  # not the main thread, or not allowed here
            pass
    return previous


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    previous = _install_signal_handlers()
    try:
        return _main(argv)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _main(argv: list[str]) -> int:
    parser = build_parser()
    from super_gui.core.concurrent import single_threaded_numpy_blas
    from super_gui.core.native_log import silence_native_logging

    single_threaded_numpy_blas()  # (NumPy's products here are all small: no BLAS thread spinning beside them)
    silence_native_logging()
    try:
        if not argv or _is_photo_argument(argv):
            return open_editor(argv[0] if argv else None)
        args = parser.parse_args(argv)
        if args.command in COMMANDS:
            _check_numbers(args)
        if args.command == "analyze":
            return cmd_analyze(args)
        if args.command in ("edit", "undistort"):
            from super_gui.cli_batch import edit_photos
            from super_gui.cli_edit import run_edit

            return run_edit(args, edit_photos)
        parser.print_help()
        return EXIT_USAGE
    except UserInputError as e:
        print(f"error: {shown(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as e:
        print("interrupted", file=sys.stderr)
        return 128 + (e.signum if isinstance(e, Terminated) else signal.SIGINT)
    except MemoryError:  # (edits name the photo and its size: cli_edit.not_enough_memory)
        print("error: not enough memory to finish; close other programs or use a smaller photo.", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:
        # Output folders that do not exist, full disks, permissions: the user's to fix.
        print(f"error: {shown(str(e.strerror or e))} ({shown(str(e.filename))})" if e.filename else f"error: {shown(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    except Exception:  # a bug in super_gui
        traceback.print_exc()
        print("error: internal error in super_gui (the traceback above is for a bug report).", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
