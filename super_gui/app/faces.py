"""Every face of a photo: each usable face gets its own analysis, inversion and mesh, made when first asked for.

:func:`find_faces` runs the face analysis (MediaPipe: landmarks of every face, the person mask) once per
photo; :meth:`PhotoFaces.prepare` then analyses one face (pose and distance: milliseconds) and fits it
(inversion, mesh, supported ranges: most of a second), once, the first time that face is selected or when
every face is needed. A face's :class:`~super_gui.app.pipeline.Prepared` is exactly what
:func:`~super_gui.app.pipeline.prepare` makes for that face. No Qt, no GL.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Iterable, Mapping

from super_gui.app.pipeline import Prepared, Progress, fit_face
from super_gui.core.analysis import PhotoAnalysis, analyze_face, check_distance, no_progress, photo_focal
from super_gui.core.face import FaceAnalysis, analyze_faces
from super_gui.core.image_io import Photo
from super_gui.core.strips import to_uint8_strips
from super_gui.errors import Cancelled, UserInputError
from super_gui.inversion.backends import backend


class PhotoFaces:
    """The faces of one photo (:attr:`faces`: all of them, from the left; ``faces.chosen`` the default: the
    largest usable one, or the one asked for), with the capture camera they are analysed with: the capture
    focal (``capture_focal_35mm``: the user's, None for the estimate) and per face the capture distance the
    user gave (``distances``, cm; the others are estimated from the eyes). Safe to read from one thread
    while another prepares a face."""

    def __init__(self, photo: Photo, faces: FaceAnalysis, *, capture_focal_35mm: float | None = None,
                 distances: Mapping[int, float] | None = None, backend_name: str = "landmark",
                 backend_options: dict | None = None, inverter=None, timings: dict | None = None):
        self.photo = photo
        self.faces = faces
        self.capture_focal_35mm = capture_focal_35mm
        self.distances = {int(i): float(cm) for i, cm in (distances or {}).items()}
        for cm in self.distances.values():
            check_distance(cm)
        self.focal = photo_focal(photo, capture_focal_35mm)
        self.backend_name = backend_name
        self.backend_options = dict(backend_options or {})
        self._inverter = inverter if inverter is not None else backend(backend_name, **self.backend_options)
        self.timings_s = dict(timings or {})
        self._analyses: dict[int, PhotoAnalysis] = {}
        self._prepared: dict[int, Prepared] = {}
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.photo.path.name

    @property
    def default(self) -> int:
        """The face edited when none is asked for: the largest one that can be edited."""
        return self.faces.chosen

    @property
    def usable(self) -> tuple[int, ...]:
        """The faces that can be edited (whole in the picture, large enough), from the left."""
        return self.faces.usable_indices

    def analysis(self, index: int) -> PhotoAnalysis:
        """Face ``index`` analysed (pose, distance); a face that cannot be edited is refused
        (:class:`~super_gui.errors.FaceAnalysisError`, in the words a single-face run would use)."""
        with self._lock:
            known = self._analyses.get(index)
        if known is not None:
            return known
        faces = self.faces if index == self.faces.chosen else self.faces.choose(index, self.name)
        t = time.perf_counter()
        a = analyze_face(self.photo, faces, self.focal, distance_cm=self.distances.get(index))
        a.timings_s["analysis"] = time.perf_counter() - t
        with self._lock:
            return self._analyses.setdefault(index, a)

    def prepared(self, index: int) -> Prepared | None:
        """Face ``index`` fitted, if it has been (None otherwise)."""
        with self._lock:
            return self._prepared.get(index)

    def adopt(self, prepared: Prepared) -> None:
        """Keep ``prepared``, this photo's face ``prepared.analysis.faces.chosen`` fitted elsewhere (the head
        start's child process) with this backend and capture camera, as if :meth:`prepare` had made it here."""
        index = prepared.analysis.faces.chosen
        with self._lock:
            self._analyses.setdefault(index, prepared.analysis)
            self._prepared.setdefault(index, prepared)

    def prepare(self, index: int, progress: Progress = no_progress,
                is_cancelled: Callable[[], bool] = lambda: False) -> Prepared:
        """Face ``index`` fitted (inversion, mesh, supported ranges): the first time it is asked for; then
        the same object."""
        known = self.prepared(index)
        if known is not None:
            return known
        progress(0.2, f"Analysing face {index + 1}")
        a = self.analysis(index)
        if is_cancelled():
            raise Cancelled()
        timings = {"analysis": a.timings_s.get("analysis", 0.0)}
        p = fit_face(self.photo, a, self._inverter, timings, self.backend_options, progress, is_cancelled)
        with self._lock:
            return self._prepared.setdefault(index, p)

    def prepare_all(self, indices: Iterable[int] | None = None, progress: Progress = no_progress,
                    is_cancelled: Callable[[], bool] = lambda: False) -> list[Prepared]:
        """Faces ``indices`` (default: every usable face) fitted, in that order; progress over all of them."""
        indices = list(self.usable if indices is None else indices)
        todo = [i for i in indices if self.prepared(i) is None]
        for k, i in enumerate(todo):
            self.prepare(i, lambda f, m, k=k: progress((k + f) / len(todo), f"{m} (face {k + 1} of {len(todo)})"),
                         is_cancelled)
        return [self.prepare(i) for i in indices]

    def farthest_first(self, indices: Iterable[int]) -> list[int]:
        """``indices`` from the farthest face to the nearest (by the capture distance of their eyes), the order
        their edits are laid in: nearer faces cover farther ones."""
        return sorted(indices, key=lambda i: -self.analysis(i).distance_m)

    def with_capture(self, capture_focal_35mm: float | None, distances: Mapping[int, float] | None) -> PhotoFaces:
        """These faces analysed with another capture camera: the faces are not found again, and a face whose
        capture focal and distance did not change keeps its fit."""
        other = PhotoFaces(self.photo, self.faces, capture_focal_35mm=capture_focal_35mm, distances=distances,
                           backend_name=self.backend_name, backend_options=self.backend_options,
                           inverter=self._inverter, timings=self.timings_s)
        if other.focal == self.focal:
            with self._lock:
                kept = {i: p for i, p in self._prepared.items() if other.distances.get(i) == self.distances.get(i)}
            other._prepared.update(kept)
            other._analyses.update({i: p.analysis for i, p in kept.items()})
        return other


def find_faces(
    photo: Photo,
    *,
    face_index: int | None = None,
    capture_focal_35mm: float | None = None,
    distances: Mapping[int, float] | None = None,
    backend_name: str = "landmark",
    backend_options: dict | None = None,
    progress: Progress = no_progress,
    is_cancelled: Callable[[], bool] = lambda: False,
) -> PhotoFaces:
    """Find the faces of ``photo`` (once per photo); ``face_index`` is the one to edit by default (refused
    as :func:`~super_gui.core.face.analyze_faces` refuses it), else the largest usable face. The backend
    and the capture camera are refused here, before the analysis, when they cannot be used."""
    inverter = backend(backend_name, **(backend_options or {}))  # (a mistake in the options: refused before the work)
    for cm in (distances or {}).values():
        check_distance(cm)
    photo_focal(photo, capture_focal_35mm)  # (refuses a capture focal outside the range)
    progress(0.02, "Finding faces")
    t = time.perf_counter()
    faces = analyze_faces(to_uint8_strips(photo.rgb), face_index, name=photo.path.name)
    timings = {"faces": time.perf_counter() - t}
    if is_cancelled():
        raise Cancelled()
    return PhotoFaces(photo, faces, capture_focal_35mm=capture_focal_35mm, distances=distances,
                      backend_name=backend_name, backend_options=backend_options, inverter=inverter, timings=timings)




def faces_to_edit(faces: PhotoFaces, choice) -> list[int]:
    """The faces ``choice`` names: None, the default face; an index; a sequence of indices (each refused as
    a single face would be: one that does not exist, is cut off or too small; none twice); "all", every
    usable face from the left."""
    if choice is None:
        return [faces.default]
    if choice == "all":
        return list(faces.usable)
    indices = [choice] if isinstance(choice, int) else [int(i) for i in choice]
    for k, i in enumerate(indices):
        if i in indices[:k]:
            raise UserInputError(f"Face {i} is given twice.")
        faces.faces.choose(i, faces.name)  # (refused in the words a single face gets)
    return indices
