"""The identity readout's thread: how far a settled frame's face is from the original's (core.identity).

An embedding takes ~100 ms of CPU, so it never runs on the GUI thread or the render thread (a drag
starting right after a settled frame would wait for it): it runs here, at a lower priority than both,
only for settled frames, latest request wins. The model loads on the first request; where it cannot be
had, ``unavailable(str)`` fires once with the sentence saying why and every later request is ignored.
The original's embedding is computed once per prepared photo, from the same preview image the renderer
starts from, so the photo's own view measures exactly 0.

Only plain data crosses threads: requests carry the frame's uint8 image, results a float.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from super_gui.core.camera import View
from super_gui.gui.workers import RENDER_NICENESS, lower_priority

IDENTITY_NICENESS = RENDER_NICENESS + 4  # below the render and GUI threads: a drag's frames come first


@dataclass(frozen=True)
class IdentityRequest:
    """A settled frame to measure: ``image`` (h, w, 3) uint8 at ``scale`` of the photo's size."""

    seq: int
    generation: int
    view: View
    image: np.ndarray
    scale: float


@dataclass(frozen=True)
class IdentityResult:
    """``distance`` to the original (None: no face could be measured in this frame, see ``note``)."""

    seq: int
    generation: int
    view: View
    distance: float | None
    seconds: float
    note: str = ""


@dataclass(frozen=True)
class _Photo:
    prepared: object  # app.pipeline.Prepared
    generation: int
    original: np.ndarray  # (h, w, 3) uint8: the photo at preview scale
    scale: float


class IdentityThread(QThread):
    """Signals: ``measured(IdentityResult)``, ``unavailable(str)`` (once, when the model cannot load)."""

    measured = Signal(object)
    unavailable = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.setObjectName("super_gui identity")
        self._cond = threading.Condition()
        self._photo: _Photo | None = None
        self._pending: IdentityRequest | None = None
        self._stopping = False
        self.off = False  # the model cannot be had: requests are ignored

    # -- GUI thread side -----------------------------------------------------------------------------

    def set_prepared(self, prepared, generation: int, original: np.ndarray | None, scale: float) -> None:
        """The photo frames will be compared with (``prepared=None``: none; pending work is dropped)."""
        with self._cond:
            self._photo = None if prepared is None or original is None else _Photo(prepared, generation, original, scale)
            self._pending = None

    def request(self, req: IdentityRequest) -> None:
        if self.off:
            return
        with self._cond:
            self._pending = req
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self.wait()

    # -- identity thread side ------------------------------------------------------------------------

    def run(self) -> None:
        lower_priority(IDENTITY_NICENESS)
        model = None
        reference: tuple[int, np.ndarray, tuple] | None = None  # (generation, embedding, oval points)
        while True:
            with self._cond:
                while not self._stopping and self._pending is None:
                    self._cond.wait()
                if self._stopping:
                    return
                req, self._pending = self._pending, None
                photo = self._photo
            if photo is None or req.generation != photo.generation:
                continue
            t = time.perf_counter()
            if model is None:
                from super_gui.core.identity import IdentityUnavailable, identity_model

                try:
                    model = identity_model()
                except IdentityUnavailable as e:
                    self.off = True
                    self.unavailable.emit(str(e))
                    return
            try:
                if reference is None or reference[0] != photo.generation:
                    reference = (photo.generation, *self._reference(model, photo))
                distance = self._distance(model, photo, reference, req)
                note = ""
            except ValueError as e:  # the face left the frame (a crop, a strong turn)
                distance, note = None, str(e)
            except Exception as e:  # noqa: BLE001 - a readout must never take the editor down
                distance, note = None, f"identity could not be measured ({type(e).__name__}: {e})"
            self.measured.emit(IdentityResult(req.seq, req.generation, req.view, distance, time.perf_counter() - t, note))

    @staticmethod
    def _reference(model, photo: _Photo) -> tuple[np.ndarray, tuple]:
        from super_gui.core.identity import face_box, oval_points

        p = photo.prepared
        oval = oval_points(p.mesh, p.analysis.faces.face.landmarks)
        return model.embedding(photo.original, face_box(*oval, p.camera(View()), photo.scale)), oval

    @staticmethod
    def _distance(model, photo: _Photo, reference, req: IdentityRequest) -> float:
        from super_gui.core.identity import face_box, identity_distance

        p = photo.prepared
        if req.view.is_identity(p.analysis.focal.focal_35mm):
            return 0.0  # the photo itself (the renderer returns it untouched)
        _, ref, oval = reference
        return identity_distance(model.embedding(req.image, face_box(*oval, p.camera(req.view), req.scale)), ref)
