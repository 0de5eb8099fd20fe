"""Writing one finished edit: the image, the optional mesh and the sidecar report.

The CLI (``edit``, ``undistort``) and the editor's File > Export both end here, so an export from the
window is the same file as ``python main.py edit`` writes for the same settings. The caller renders the
full-resolution image (on the thread that owns its GL context) and hands it over. No Qt, no GL.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np

from super_gui import __version__
from super_gui.core.camera import View
from super_gui.core.export import export_image, write_sidecar
from super_gui.core.mesh import export_mesh

MESH_SUFFIXES = (".glb", ".obj", ".ply")


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def reproduce_command(photo: Path, out: Path, view: View, analysis, face: int) -> str:
    """The ``python main.py edit`` command line that writes the same image."""
    a = analysis
    focal = view.focal_35mm if view.focal_35mm is not None else a.focal.focal_35mm
    return (
        f"python main.py edit {photo} -o {out} --yaw {view.yaw_deg:g} --pitch {view.pitch_deg:g} --focal {focal:g} "
        f"--capture-focal {a.focal.focal_35mm:g} --distance-cm {a.distance_m * 100:.3f} --face {face}"
    )


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
    """Export the prepared photo's mesh with its photo texture (GLB, OBJ or PLY by suffix)."""
    inv = prepared.inversion
    export_mesh(prepared.mesh, inv.texture, inv.origin, path)
    return Path(path).resolve()


def write_edit(
    prepared,
    image: np.ndarray,
    view: View,
    out_path: str | os.PathLike[str],
    *,
    command: str,
    jpeg_quality: int = 95,
    overwrite: bool = False,
    mesh_path: str | os.PathLike[str] | None = None,
    timings: dict[str, float] | None = None,
    started: float | None = None,
) -> dict:
    """Write ``image`` ((H, W, 3), the full-resolution render of ``view`` of ``prepared``) to ``out_path``,
    the mesh to ``mesh_path`` if given, and the sidecar JSON; return the report (plain data).

    ``timings`` (seconds by stage, so far) gets ``export``, ``mesh_export`` and ``total`` (since
    ``started``, a ``time.perf_counter()`` value) added. ``command`` names who asked ("edit",
    "undistort", "editor"). Raises :class:`~super_gui.errors.UserInputError` for a refused path.
    """
    timings = dict(timings or {})
    t0 = time.perf_counter() if started is None else started
    photo = prepared.photo
    photo_path = Path(photo.path)
    t = time.perf_counter()
    out = export_image(photo, image, out_path, jpeg_quality=jpeg_quality, overwrite=overwrite)
    timings["export"] = time.perf_counter() - t
    mesh_written = None
    if mesh_path:
        t = time.perf_counter()
        mesh_written = str(write_mesh(prepared, mesh_path))
        timings["mesh_export"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    a = prepared.analysis
    faces = a.faces
    report = {
        "software": f"super_gui {__version__}",
        "input": str(photo_path.resolve()),
        "input_sha256": file_sha256(photo_path),
        "output": str(out),
        "mesh": mesh_written,
        "command": command,
        "settings": {
            "yaw_deg": view.yaw_deg,
            "pitch_deg": view.pitch_deg,
            "focal_35mm": view.focal_35mm if view.focal_35mm is not None else a.focal.focal_35mm,
            "capture_focal_35mm": a.focal.focal_35mm,
            "distance_cm": round(a.distance_m * 100, 3),
            "face": faces.chosen,
            "backend": prepared.inversion.backend,
            "jpeg_quality": jpeg_quality,
        },
        "reproduce": reproduce_command(photo_path, out, view, a, faces.chosen),
        "estimates": a.summary(),
        "coverage": coverage_report(prepared, view),
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
    }
    report["sidecar"] = str(write_sidecar(out, report))
    return report
