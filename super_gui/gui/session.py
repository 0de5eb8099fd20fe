"""The editing session behind the window: which photo is open, the background jobs and the render thread.

Opening a photo runs two jobs on :class:`~super_gui.gui.workers.Worker`: *load* (decode, and a preview
of the original), then *prepare* (the faces found once, app.faces.PhotoFaces; the largest face analysed,
inverted and meshed, the slow part). Every other face is fitted when it is first selected
(:meth:`EditSession.select_face`) or when every face is needed (:meth:`EditSession.prepare_faces`); the other
faces' edits (:attr:`EditSession.other_edits`, the window's) are drawn and exported with the edited face's.
Opening another photo, picking another face or editing the capture camera cancels the job in flight; results
of cancelled or replaced jobs are ignored. The inversion backend a photo is fitted with is chosen once per photo, when it
has loaded (:attr:`EditSession.choose_backend`, the window's: it may ask the user); :meth:`EditSession.refit`
fits the open photo again with another, and a Cancel (or a failure) of that fit gives the previous one back.
Views go to the :class:`~super_gui.gui.workers.RenderThread` as small requests;
frames older than the last one shown, or of an older prepared photo, are dropped. Settled frames can be
handed to the :class:`~super_gui.gui.identity_thread.IdentityThread` for the identity readout.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from super_gui.core.camera import View
from super_gui.gui.identity_thread import IdentityRequest, IdentityResult, IdentityThread
from super_gui.gui.workers import ExportRequest, Frame, MeshFrame, MeshRequest, RenderRequest, RenderThread, Worker


@dataclass(frozen=True)
class LoadedPhoto:
    path: Path
    photo: object  # core.image_io.Photo
    original: np.ndarray  # (h, w, 3) uint8: the photo at preview scale, exactly as the renderer's base
    sha256: str | None = None  # of the file as it was opened (None: it could not be read again)
    head_start: object = None  # the app.headstart.HeadStart that decoded it (its fit is the prepare job's)


def _load_job(path: Path, data: bytes | None = None, head=None):
    """``data``: the bytes of a photo that has no file (a camera capture), which ``path`` only names.
    ``head``: an app.headstart.HeadStart begun for ``path``: its decode is taken, not done again."""

    def job(progress, is_cancelled) -> LoadedPhoto:
        from super_gui.core.image_io import load_photo
        from super_gui.app.pipeline import preview_scale

        from super_gui.app.edit import file_sha256
        from super_gui.core.strips import preview_uint8

        progress(0.0, f"Opening {path.name}")
        if head is None:
            photo = load_photo(path, data)
        else:
            try:
                photo = head.photo(is_cancelled)
            except BaseException:
                head.cancel()
                raise
        try:  # an export's sidecar names the file that was edited even if it is moved or replaced later
            sha = file_sha256(path) if data is None else hashlib.sha256(data).hexdigest()
        except OSError:
            sha = None
        scale = preview_scale(photo.width, photo.height)
        if scale == 1.0:
            original = np.ascontiguousarray(photo.rgb8)
        else:  # PortraitRenderer.base_image's own (the renderer takes this one), so an unedited view equals it
            original = preview_uint8(photo, (max(1, round(photo.width * scale)), max(1, round(photo.height * scale))))
        return LoadedPhoto(path, photo, original, sha, head)

    return job


Backend = tuple[str, dict]  # an inversion backend's name and options (prepare's backend_name, backend_options)
LANDMARK: Backend = ("landmark", {})


def _prepare_job(photo, face_index, capture_focal, distances, backend: Backend = LANDMARK, faces=None, also=(),
                 head=None):
    """Fit face ``face_index`` of ``photo`` (None: the largest), and the faces ``also`` (others with an edit of
    their own). ``faces``: the photo's faces already found (app.faces.PhotoFaces: only the capture camera
    changes, the faces are not found again); None finds them. ``head``: the app.headstart.HeadStart that
    decoded ``photo`` and fits its default face with the landmark backend (the job takes that fit). The result:
    (PhotoFaces, Prepared)."""
    name, options = backend

    def job(progress, is_cancelled):
        from super_gui.app.faces import find_faces

        if head is not None:
            return head.fitted(progress, is_cancelled)
        if faces is None:
            f = find_faces(photo, face_index=face_index, capture_focal_35mm=capture_focal, distances=distances,
                           backend_name=name, backend_options=dict(options), progress=progress, is_cancelled=is_cancelled)
        else:
            f = faces.with_capture(capture_focal, distances)
        i = f.default if face_index is None else face_index
        prepared = f.prepare(i, progress, is_cancelled)
        f.prepare_all([j for j in also if j != i and j in f.usable], progress, is_cancelled)
        return f, prepared

    return job


def _faces_job(faces, indices):
    """Fit the faces ``indices`` of a photo (app.faces.PhotoFaces) that are not fitted yet."""
    def job(progress, is_cancelled):
        return faces.prepare_all(indices, progress, is_cancelled)

    return job


def _mesh_job(prepared, path: Path):
    def job(progress, is_cancelled) -> str:
        from super_gui.app.edit import write_mesh

        progress(0.0, f"Writing {path.name}")
        return str(write_mesh(prepared, path))

    return job


class EditSession(QObject):
    """State of the open photo and its background work. Lives in the GUI thread."""

    photoLoaded = Signal(object)  # LoadedPhoto
    prepared = Signal(object)  # app.pipeline.Prepared of the face edited
    facesReady = Signal(object)  # list of app.pipeline.Prepared: the faces prepare_faces asked for
    frameReady = Signal(object)  # workers.Frame
    meshFrameReady = Signal(object)  # workers.MeshFrame
    progress = Signal(float, str)
    busy = Signal(str)  # work with no measurable progress (export)
    idle = Signal()
    cancelled = Signal(str)
    failed = Signal(str, str)  # title, message
    renderFailed = Signal(str)
    exported = Signal(object)  # the sidecar report
    meshExported = Signal(str)
    identityMeasured = Signal(object)  # identity_thread.IdentityResult of the current photo
    identityUnavailable = Signal(str)  # once: why the identity readout is off

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.loaded: LoadedPhoto | None = None
        self.current: object | None = None  # Prepared of the open photo, None while preparing
        self.faces = None  # app.faces.PhotoFaces of the open photo (every face; each fitted when first needed)
        self.face_index: int | None = None  # the face edited (the sliders'); None: the largest
        self.capture_focal: float | None = None  # user overrides (None: estimate)
        self.distances: dict[int, float] = {}  # per face, the capture distance the user gave (cm)
        # The window's: the faces with an edit of their own (fitted again with the face edited when the capture
        # camera or the backend changes), and the other faces' edits drawn with the edited one, (Prepared, View) each.
        self.edited_faces: Callable[[], list[int]] = lambda: []
        self.other_edits: Callable[[], tuple] = lambda: ()
        self.backend: Backend = LANDMARK  # what the open photo is fitted with
        # Asked (in this thread) when a photo has loaded: the backend to fit it with. The window's may ask the user.
        self.choose_backend: Callable[[], Backend] = lambda: LANDMARK
        # Work begun on a photo before the window opened (app.headstart.HeadStart, gui.app's): taken by open()
        self.head_start = None
        self._previous: tuple[object, Backend, object] | None = None  # the fit a refit replaces, until it is done
        self.generation = 0
        self._job: Worker | None = None
        self._workers: set[Worker] = set()
        self._seq = 0
        self._last_request: tuple | None = None
        # Device pixels per photo pixel where the photo is shown (the editor sets it to its viewer's zoom):
        # drag frames are drawn no larger than that (app.drafts.screen_ratio)
        self.screen_scale: Callable[[], float] = lambda: 1.0
        # The device pixels the photo is painted on (the editor's viewer), or None: drag frames are scaled to it
        # on the render thread, so that the editor's thread paints them without scaling
        self.paint_size: Callable[[], tuple[int, int] | None] = lambda: None
        self._last_shown = -1
        self._last_mesh: tuple | None = None
        self._exporting = False
        self.render_thread = RenderThread()
        self.render_thread.frame.connect(self._on_frame)
        self.render_thread.mesh_frame.connect(self._on_mesh_frame)
        self.render_thread.exported.connect(self._on_exported)
        self.render_thread.export_failed.connect(self._on_export_failed)
        self.render_thread.failed.connect(self.renderFailed)
        self.render_thread.start()
        self.identity_thread = IdentityThread()
        self.identity_thread.measured.connect(self._on_identity)
        self.identity_thread.unavailable.connect(self.identityUnavailable)
        self.identity_thread.start()

    # -- jobs --------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._job is not None

    def _start(self, job, name: str, on_finished) -> None:
        self.cancel(quiet=True)
        w = Worker(job, name)
        w.progress.connect(self._on_progress)
        w.finished.connect(on_finished)
        w.failed.connect(self._on_failed)
        w.qthread.finished.connect(self._reap)
        self._workers.add(w)
        self._job = w
        w.start()

    def cancel(self, quiet: bool = False) -> None:
        """Stop the job in flight (if any); its result will be ignored. The user's Cancel of a refit gives the
        photo its previous fit back."""
        job, self._job = self._job, None
        if job is not None:
            job.cancel()
            if not quiet:
                if self._restore_previous():
                    self.cancelled.emit("Cancelled: the photo keeps its previous fit.")
                else:
                    self.cancelled.emit("Cancelled: the photo is shown unedited; open it again to edit it."
                                        if self.loaded is not None and self.current is None else "Cancelled.")
                self.idle.emit()
        self._previous = None

    def _restore_previous(self) -> bool:
        """After a refit was cancelled or failed: the fit it was to replace, back as the current one."""
        previous, self._previous = self._previous, None
        if previous is None or self.loaded is None or previous[0].photo is not self.loaded.photo:
            return False
        self.backend, self.faces = previous[1], previous[2]
        self._set_current(previous[0])
        self.prepared.emit(previous[0])
        return True

    @property
    def distance_cm(self) -> float | None:
        """The capture distance the user gave for the edited face (None: estimated)."""
        return self.distances.get(self.face_index) if self.face_index is not None else None

    def _also(self) -> list[int]:
        return [i for i in self.edited_faces() if i != self.face_index]

    def open(self, path: str | Path, data: bytes | None = None) -> None:
        """Open the photo at ``path``, or the one in ``data`` (its bytes; ``path`` names it: no file yet). The
        :attr:`head_start` begun for that file, if any, is taken (once)."""
        head, self.head_start = self.head_start, None
        if head is not None and (data is not None or not head.is_for(path)):
            head.cancel()
            head = None
        self._start(_load_job(Path(path), data, head), "load", self._on_loaded)

    def reprepare(self, *, face_index: int | None = None, capture_focal: float | None = None,
                  distance_cm: float | None = None) -> None:
        """Analyse the open photo again with another capture camera (``distance_cm``: face ``face_index``'s);
        the photo is not reloaded nor its faces found again, and the other faces with an edit are fitted again
        with it."""
        if self.loaded is None:
            return
        distances = {i: cm for i, cm in self.distances.items() if i != face_index}
        if distance_cm is not None and face_index is not None:
            distances[face_index] = distance_cm
        self.face_index, self.capture_focal, self.distances = face_index, capture_focal, distances
        also = self._also()
        self._set_current(None)
        self._start(_prepare_job(self.loaded.photo, face_index, capture_focal, distances, self.backend, self.faces, also),
                    "prepare", self._on_prepared)

    def select_face(self, index: int) -> bool:
        """Edit face ``index``: at once (True) when it is fitted already, else once it is (a job; False)."""
        if self.loaded is None or self.faces is None:
            return False
        known = self.faces.prepared(index)
        self.face_index = index
        if known is not None:
            self.cancel(quiet=True)
            self._set_current(known)
            self.prepared.emit(known)
            return True
        self._set_current(None, keep=True)
        self._start(_prepare_job(self.loaded.photo, index, self.capture_focal, self.distances, self.backend, self.faces),
                    "prepare", self._on_prepared)
        return False

    def prepare_faces(self, indices: list[int]) -> bool:
        """Fit the faces ``indices`` (those not fitted yet, in a job with progress and Cancel); ``facesReady``
        follows with their Prepared. True when they are all fitted already (``facesReady`` is emitted at once)."""
        if self.faces is None:
            return False
        if all(self.faces.prepared(i) is not None for i in indices):
            self.facesReady.emit(self.faces.prepare_all(indices))
            return True
        self._start(_faces_job(self.faces, list(indices)), "faces", self._on_faces)
        return False

    @Slot(object)
    def _on_faces(self, prepared: list) -> None:
        if not self._is_current():
            return
        self._job = None
        self.idle.emit()
        self.facesReady.emit(prepared)

    def refit(self, backend: Backend) -> None:
        """Fit the open photo again with ``backend`` (same face and capture camera). Until the new fit is ready
        the old one is kept: a Cancel or a failure gives it back."""
        if self.loaded is None:
            return
        previous = (self.current, self.backend, self.faces) if self.current is not None else None
        self.backend = backend
        also = self._also()
        self._set_current(None)
        self._start(_prepare_job(self.loaded.photo, self.face_index, self.capture_focal, self.distances, backend,
                                 None, also), "prepare", self._on_prepared)
        self._previous = previous  # (after _start: its quiet cancel of the job in flight forgets any earlier one)

    def export_mesh(self, path: Path) -> None:
        if self.current is None:
            return
        w = Worker(_mesh_job(self.current, Path(path)), "mesh")
        w.finished.connect(self._on_mesh_done)
        w.failed.connect(self._on_mesh_failed)
        w.qthread.finished.connect(self._reap)
        self._workers.add(w)
        self.busy.emit(f"Writing {Path(path).name}")
        w.start()

    def _is_current(self) -> bool:
        return self.sender() is self._job

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        if self._is_current():
            self.progress.emit(fraction, message)

    @Slot(object)
    def _on_loaded(self, loaded: LoadedPhoto) -> None:
        if not self._is_current():
            return
        self._job = None
        self.loaded = loaded
        self.face_index = self.capture_focal = self.faces = None
        self.distances = {}
        self._set_current(None)
        self.photoLoaded.emit(loaded)
        self.backend = self.choose_backend()  # (may ask the user: another photo may have been opened meanwhile)
        head = loaded.head_start if self.backend == LANDMARK else None  # (its fit is the landmark backend's)
        if loaded.head_start is not None and head is None:
            loaded.head_start.cancel()
        if self.loaded is loaded and self._job is None:
            if head is not None:
                head.fit_with_landmark()
            self._start(_prepare_job(loaded.photo, None, None, None, self.backend, head=head), "prepare", self._on_prepared)
        elif head is not None:
            head.cancel()

    @Slot(object)
    def _on_prepared(self, result) -> None:
        if not self._is_current():
            return
        self._job = None
        self._previous = None
        self.faces, prepared = result
        self.face_index = prepared.analysis.faces.chosen
        self._set_current(prepared)
        self.idle.emit()
        self.prepared.emit(prepared)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if not self._is_current():
            return
        name = self._job.name
        self._job = None
        restored = self._restore_previous()  # a refit that failed: the photo keeps its previous fit
        self.idle.emit()
        self.failed.emit("Cannot open the photo" if name == "load" else
                         "Cannot fit the photo again" if restored else "Cannot edit this photo", message)

    @Slot()
    def _reap(self) -> None:
        for w in [w for w in self._workers if w.done]:
            w.wait()
            self._workers.discard(w)

    def _set_current(self, prepared, keep: bool = False) -> None:
        self.current = prepared
        self.generation += 1
        self._last_request = self._last_mesh = None
        self.render_thread.set_prepared(prepared, self.generation, keep)
        original = None if self.loaded is None else self.loaded.original
        self.identity_thread.set_prepared(prepared, self.generation, original, self.preview_scale)

    # -- rendering ---------------------------------------------------------------------------------

    def request(self, view: View, draft: bool, full: bool = False) -> bool:
        """Ask for a frame of ``view`` (``full``: at the photo's resolution); False when there is nothing
        to render or it was just asked for."""
        if self.current is None:
            return False
        others = self.other_edits()  # the other faces' edits, drawn with this one
        ratio = 1.0
        if draft:
            from super_gui.app.drafts import screen_ratio

            ratio = screen_ratio(self.screen_scale(), self.preview_scale)
        key = (self.generation, view, draft, full, tuple((id(p), v) for p, v in others), ratio)
        if key == self._last_request:
            return False
        self._last_request = key
        self._seq += 1
        self.render_thread.request(RenderRequest(self._seq, self.generation, view, draft, full, tuple(others), ratio,
                                                 self.paint_size() if draft else None))
        return True

    @property
    def preview_scale(self) -> float:
        """Preview pixels per photo pixel (1 for a photo no larger than the preview)."""
        from super_gui.app.pipeline import preview_scale

        return 1.0 if self.loaded is None else preview_scale(self.loaded.photo.width, self.loaded.photo.height)

    @Slot(object)
    def _on_frame(self, frame: Frame) -> None:
        if frame.generation != self.generation or frame.seq <= self._last_shown:
            return  # out of date: a newer frame is already shown, or another photo is open
        self._last_shown = frame.seq
        self.frameReady.emit(frame)

    def measure_identity(self, frame: Frame) -> bool:
        """Ask how far ``frame`` (a settled frame of the current photo) keeps the face's identity; the
        answer comes as ``identityMeasured``. False when it will not be measured."""
        if frame.draft or frame.generation != self.generation or self.current is None or self.identity_thread.off:
            return False
        self.identity_thread.request(IdentityRequest(frame.seq, frame.generation, frame.view, frame.image, frame.scale))
        return True

    @Slot(object)
    def _on_identity(self, result: IdentityResult) -> None:
        if result.generation == self.generation:
            self.identityMeasured.emit(result)

    def request_mesh(self, view: View, orbit, mode: str, size: tuple[int, int]) -> bool:
        """Ask for a frame of the 3D view (same rules as :meth:`request`)."""
        if self.current is None:
            return False
        key = (self.generation, view, orbit, mode, size)
        if key == self._last_mesh:
            return False
        self._last_mesh = key
        self._seq += 1
        self.render_thread.request_mesh(MeshRequest(self._seq, self.generation, view, orbit, mode, size))
        return True

    @Slot(object)
    def _on_mesh_frame(self, frame: MeshFrame) -> None:
        if frame.generation == self.generation:
            self.meshFrameReady.emit(frame)

    def export(self, view: View, out_path: Path, jpeg_quality: int | str, overwrite: bool) -> None:
        """Export ``view`` at full resolution, with every other face's edit; ``jpeg_quality`` 1..100 or "original"."""
        if self.current is None:
            return
        self._exporting = True
        self.busy.emit(f"Exporting {Path(out_path).name} at full resolution")
        quality = jpeg_quality if isinstance(jpeg_quality, str) else int(jpeg_quality)
        sha = None if self.loaded is None else self.loaded.sha256
        self.render_thread.export(ExportRequest(self.generation, view, Path(out_path), quality, overwrite, sha,
                                                tuple(self.other_edits())))

    @property
    def exporting(self) -> bool:
        return self._exporting

    @Slot(object)
    def _on_exported(self, report: dict) -> None:
        self._exporting = False
        self.idle.emit()
        self.exported.emit(report)

    @Slot(str)
    def _on_export_failed(self, message: str) -> None:
        self._exporting = False
        self.idle.emit()
        self.failed.emit("Export failed", message)

    @Slot(object)
    def _on_mesh_done(self, path: str) -> None:
        self.idle.emit()
        self.meshExported.emit(path)

    @Slot(str)
    def _on_mesh_failed(self, message: str) -> None:
        self.idle.emit()
        self.failed.emit("Mesh export failed", message)

    def shutdown(self) -> None:
        """Stop everything before the window goes (threads must not outlive their QThread objects)."""
        self.cancel(quiet=True)
        for w in list(self._workers):
            w.cancel()
        for w in list(self._workers):
            w.wait()
        self._workers.clear()
        self.render_thread.stop()
        self.identity_thread.stop()
