"""Writing one finished edit: the image, the optional mesh and the sidecar report.

The CLI (``edit``, ``undistort``) and the editor's File > Export both end here, so an export from the
window is the same file as ``python main.py edit`` writes for the same settings. The caller renders the
full-resolution image (on the thread that owns its GL context) and hands it over. No Qt, no GL.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import shlex
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from super_gui import __version__
from super_gui.core.camera import View
from super_gui.core.atomic import write_json_atomic
from super_gui.core.export import export_image, jpeg_settings, write_sidecar
from super_gui.core.mesh import export_mesh
from super_gui.core.outputs import MESH_SUFFIXES, plan_outputs

__all__ = ["MESH_SUFFIXES", "backend_record", "coverage_report", "face_summary", "file_sha256", "reproduce_command", "write_edit",
           "write_mesh"]

# A backend's options as the CLI names them, in the order the reproduce command gives them; the files among
# them are recorded by absolute path and sha256.
BACKEND_FLAGS = {"checkpoint": "--checkpoint", "lpips_weights": "--lpips-weights", "lpips_heads": "--lpips-heads",
                 "steps": "--steps", "device": "--device"}
_BACKEND_FILES = ("checkpoint", "lpips_weights", "lpips_heads")


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def reproduce_command(photo: Path, out: Path, view: View, analysis, face: int,
                      jpeg_quality: int | str | None = None, backend: str = "landmark",
                      backend_options: dict | None = None, others: Sequence[tuple[object, View]] = ()) -> str:
    """The ``python main.py edit`` command line that writes the same image, byte for byte: paths quoted for
    a POSIX shell, every number written exactly (``repr``: parsing it back gives the same float). A backend
    other than the default comes with its options (``backend_options``: as :func:`backend_record` gives them).
    ``others``: the other edited faces of a group photo, (analysis, view) each: then ``--face`` lists the faces
    and ``--yaw``, ``--pitch``, ``--focal`` and ``--distance-cm`` one value per face, in the same order (a
    view at the capture focal gives it as its focal: the same camera)."""
    a = analysis
    if others:
        faces = [(a, view), *others]
        focal = [v.focal_35mm for _, v in faces]
        words = ["python", "main.py", "edit", str(photo), "-o", str(out),
                 "--yaw", ",".join(repr(float(v.yaw_deg)) for _, v in faces),
                 "--pitch", ",".join(repr(float(v.pitch_deg)) for _, v in faces)]
        if any(f is not None for f in focal):
            words += ["--focal", ",".join(repr(float(fa.focal.focal_35mm if v.focal_35mm is None else v.focal_35mm))
                                          for fa, v in faces)]
        words += ["--capture-focal", repr(float(a.focal.focal_35mm)),
                  "--distance-cm", ",".join(_exact_cm(fa.distance_m) for fa, _ in faces),
                  "--face", ",".join(str(int(fa.faces.chosen)) for fa, _ in faces)]
    else:
        words = ["python", "main.py", "edit", str(photo), "-o", str(out), "--yaw", repr(float(view.yaw_deg)),
                 "--pitch", repr(float(view.pitch_deg))]
        if view.focal_35mm is not None:
            words += ["--focal", repr(float(view.focal_35mm))]
        words += ["--capture-focal", repr(float(a.focal.focal_35mm)), "--distance-cm", _exact_cm(a.distance_m),
                  "--face", str(int(face))]
    if jpeg_quality is not None:  # a whole number, or the export's word for "as the original"
        words += ["--quality", str(jpeg_quality if isinstance(jpeg_quality, str) else int(jpeg_quality))]
    if backend != "landmark":
        words += ["--backend", backend]
        for key, flag in BACKEND_FLAGS.items():
            if (backend_options or {}).get(key) is not None:
                words += [flag, str(backend_options[key])]
    return " ".join(shlex.quote(w) for w in words)


def face_summary(prepared, view: View) -> dict:
    """One edited face for the sidecar: its index (from the left, from 0), its box (x0, y0, x1, y1 in photo
    pixels), its capture distance and head pose, the view applied and how much of it the photo covers."""
    a = prepared.analysis
    s = a.summary()
    return {
        "index": a.faces.chosen,
        "box": [round(v, 1) for v in a.faces.face.bbox],
        "eye_distance_px": s["eye_distance_px"],
        "capture_distance_cm": s["capture_distance_cm"],
        "capture_distance_source": s["capture_distance_source"],
        "head_pose_deg": s["head_pose_deg"],
        "view": {"yaw_deg": view.yaw_deg, "pitch_deg": view.pitch_deg,
                 "focal_35mm": view.focal_35mm if view.focal_35mm is not None else a.focal.focal_35mm},
        "coverage": coverage_report(prepared, view),
    }


def backend_record(prepared) -> dict | None:
    """The options the photo's inversion backend was made with, as the sidecar records them (None for the
    default backend, which takes none): files by absolute path and sha256, the steps and the device actually
    used; an option that was not given is recorded with the backend's default, so that the reproduce command
    does not depend on defaults that may change."""
    import inspect

    from super_gui.inversion.backends import backend_class

    inv = prepared.inversion
    if inv.backend == "landmark":
        return None
    options = dict(getattr(prepared, "backend_options", None) or {})
    params = inspect.signature(backend_class(inv.backend)).parameters
    for key in BACKEND_FLAGS:
        if options.get(key) is None and key in params and params[key].default is not inspect.Parameter.empty:
            options[key] = params[key].default
    device = getattr(inv, "device", None)
    if device:  # what "auto" became
        options["device"] = str(device).split(":")[0]
    record: dict = {}
    for key in BACKEND_FLAGS:
        value = options.get(key)
        if value is None or value == "":
            continue
        if key in _BACKEND_FILES:
            path = _absolute(Path(value))
            record[key] = str(path)
            record[f"{key}_sha256"] = _sha256_once(str(path))
        else:
            record[key] = str(value)
    return record


def _sha256_once(path: str) -> str | None:
    """The file's sha256, hashed once per size and modification time (a checkpoint is hundreds of MB)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _sha256_of(path, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


def _exact_cm(distance_m: float) -> str:
    """Centimetres as text that the CLI turns back into exactly ``distance_m`` (it divides by 100)."""
    cm = float(distance_m) * 100.0
    for candidate in (cm, math.nextafter(cm, math.inf), math.nextafter(cm, -math.inf)):
        if candidate / 100.0 == distance_m:
            return repr(candidate)
    return repr(cm)


def coverage_report(prepared, view: View) -> dict | None:
    """How much of ``view`` the photo itself covers and the ranges it supports (core.coverage), as plain
    data; ``outside`` names the settings beyond them (the result may look wrong there)."""
    from super_gui.core.coverage import view_coverage

    if getattr(prepared, "supported", None) is None or getattr(prepared, "head", None) is None:
        return None
    r = prepared.supported
    return {"view": round(view_coverage(prepared.head, prepared.camera(view)), 4), "supported": r.summary(),
            "outside": r.outside(view, prepared.analysis.focal.focal_35mm)}


def write_mesh(prepared, path: str | os.PathLike[str]) -> Path:
    """Export the prepared photo's mesh with its photo texture (GLB, OBJ or PLY by suffix); all of its files
    (an OBJ's material and texture too, named after it) or none, never over the photo or through a link."""
    photo = prepared.photo
    plan = plan_outputs(None if getattr(photo, "in_memory", False) else photo.path, mesh=path)
    inv = prepared.inversion
    with plan.writing() as w, w.file("mesh") as tmp:
        export_mesh(prepared.mesh, inv.texture, inv.origin, tmp)
    return plan.path("mesh")


def write_edit(
    prepared,
    image: np.ndarray,
    view: View,
    out_path: str | os.PathLike[str],
    *,
    command: str,
    jpeg_quality: int | str | None = 95,
    overwrite: bool = False,
    mesh_path: str | os.PathLike[str] | None = None,
    report_path: str | os.PathLike[str] | None = None,
    timings: dict[str, float] | None = None,
    started: float | None = None,
    input_sha256: str | None = None,
    others: Sequence[tuple[object, View]] = (),
) -> dict:
    """Write ``image`` ((H, W, 3), the full-resolution render of ``view`` of ``prepared``) to ``out_path``,
    the mesh to ``mesh_path`` if given, the sidecar JSON and, if ``report_path`` is given, the report there
    too; return the report (plain data). All of these files are written or none of them is
    (:func:`~super_gui.core.outputs.plan_outputs`, checked again here before anything is written).

    ``timings`` (seconds by stage, so far) gets ``export``, ``mesh_export`` and ``total`` (since
    ``started``, a ``time.perf_counter()`` value) added. ``command`` names who asked ("edit",
    "undistort", "editor"). ``input_sha256`` is the hash of the photo's bytes as they were loaded, when the
    caller kept it (the editor: the file may have been moved, deleted or replaced since); without it the file
    at the photo's path is hashed now, before anything is written. A photo with no file (``photo.in_memory``:
    a camera capture in the editor) has ``input`` null and ``input_name`` its name, and no ``reproduce``
    command (there is no file to run it on): ``reproduce_note`` says so. Raises
    :class:`~super_gui.errors.UserInputError` for a refused path.

    ``others``: the other edited faces of a group photo in ``image``, (prepared face, view) each, ``prepared``
    and ``view`` being the first. ``faces`` sums up every edited face (:func:`face_summary`); with several,
    the settings ``face``, ``yaw_deg``, ``pitch_deg``, ``focal_35mm`` and ``distance_cm`` are lists in that
    order, as the reproduce command gives them.
    """
    timings = dict(timings or {})
    t0 = time.perf_counter() if started is None else started
    photo = prepared.photo
    photo_path = Path(photo.path)
    in_memory = bool(getattr(photo, "in_memory", False))
    plan = plan_outputs(None if in_memory else photo_path, image=out_path, mesh=mesh_path, report=report_path,
                        overwrite=overwrite)
    if input_sha256 is None and not in_memory:
        try:  # before anything is written: with --overwrite the image replaces the input
            input_sha256 = file_sha256(photo_path)
        except OSError:  # the photo was moved or deleted after it was loaded: the edit is still written
            input_sha256 = None
    out, mesh_out = plan.path("image"), plan.path("mesh")
    backend = prepared.inversion.backend
    backend_options = backend_record(prepared)  # (hashes the checkpoint once: before anything is written)
    with plan.writing() as w:
        t = time.perf_counter()
        with w.file("image") as tmp:
            export_image(photo, image, tmp, jpeg_quality=jpeg_quality, overwrite=overwrite)
        timings["export"] = time.perf_counter() - t
        if mesh_out is not None:
            t = time.perf_counter()
            inv = prepared.inversion
            with w.file("mesh") as tmp:
                export_mesh(prepared.mesh, inv.texture, inv.origin, tmp)
            timings["mesh_export"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
        a = prepared.analysis
        faces = a.faces
        edits = [(prepared, view), *others]
        per_face = [face_summary(p, v) for p, v in edits]
        report = {
            "software": f"super_gui {__version__}",
            "input": None if in_memory else str(_absolute(photo_path)),
            **({"input_name": photo_path.name} if in_memory else {}),
            "input_sha256": input_sha256,
            "output": str(out),
            "mesh": None if mesh_out is None else str(mesh_out),
            "command": command,
            "settings": {
                **_view_settings(per_face, several=bool(others)),
                "capture_focal_35mm": a.focal.focal_35mm,
                "distance_cm": [round(p.analysis.distance_m * 100, 3) for p, _ in edits] if others else round(a.distance_m * 100, 3),
                "face": [f["index"] for f in per_face] if others else faces.chosen,
                "backend": backend,
                **({"backend_options": backend_options} if backend_options is not None else {}),
                **_jpeg_report(photo, jpeg_quality, out),
            },
            "reproduce": None if in_memory else reproduce_command(
                _absolute(photo_path), out, view, a, faces.chosen,
                _quality_word(jpeg_quality) if out.suffix.lower() in (".jpg", ".jpeg") else None, backend, backend_options,
                [(p.analysis, v) for p, v in others]),
            **({"reproduce_note": f"{photo_path.name} was taken with the camera and never saved, so there is no "
                                  "file to run an edit command on."} if in_memory else {}),
            "estimates": a.summary(),
            "coverage": per_face[0]["coverage"],
            "faces": per_face,
            "timings_s": {k: round(v, 4) for k, v in timings.items()},
        }
        with w.file("sidecar") as tmp:
            write_sidecar(tmp.with_name(out.name), report)
        report["sidecar"] = str(plan.path("sidecar"))
        if report_path is not None:
            with w.file("report") as tmp:
                write_json_atomic(tmp, report)
    return report


def _view_settings(per_face: list[dict], several: bool) -> dict:
    """The settings' yaw_deg, pitch_deg and focal_35mm: the one face's, or a list over the faces."""
    keys = ("yaw_deg", "pitch_deg", "focal_35mm")
    if not several:
        return {k: per_face[0]["view"][k] for k in keys}
    return {k: [f["view"][k] for f in per_face] for k in keys}


def _jpeg_report(photo, jpeg_quality: int | str | None, out: Path) -> dict:
    """The sidecar's JPEG settings: the quality asked for (a number or "original") and, for a JPEG, the
    quality and chroma subsampling the file was written with."""
    report: dict = {"jpeg_quality": _quality_word(jpeg_quality)}
    if out.suffix.lower() in (".jpg", ".jpeg"):
        quality, subsampling = jpeg_settings(photo, jpeg_quality)
        report.update(jpeg_quality_written=quality, jpeg_subsampling=subsampling)
    return report


def _quality_word(jpeg_quality: int | str | None) -> int | str:
    """``--quality`` as export_image understood it: None means the same quality as the original."""
    return "original" if jpeg_quality is None else jpeg_quality


def _absolute(path: Path) -> Path:
    """``path`` with its folders resolved and its own name kept (an input given through a link stays so)."""
    return path.parent.resolve() / path.name
