"""Background work for the editor: one worker type for long jobs, and the render thread.

* :class:`Worker` runs one job (load a photo, analyse + invert it, export a mesh) on its own ``QThread``.
  The job is a plain function ``job(progress, is_cancelled) -> result`` from the core; cancelling is
  ``QThread.requestInterruption()``, which the core sees through ``is_cancelled`` and answers by raising
  :class:`~super_gui.errors.Cancelled`.
* :class:`RenderThread` owns the GL context and the :class:`~super_gui.app.pipeline.PortraitRenderer`
  (GL is thread-affine: both are created, used and released on this thread only). Requests are small
  immutable objects; the newest render request replaces any pending one (latest request wins), while
  commands (a new photo, an export) are all carried out, in order. A full-resolution close-up (a
  ``RenderRequest`` with ``full``, ~1-2 s at 12 MP) is drawn in pieces (:func:`super_gui.render.tiles.cancellable`)
  and stops between two when anything else is asked for: a slider's frame is drawn at once, the close-up
  is not shown half-done (the editor asks for it again when the view settles; after a command it is drawn
  again by itself). Exports are never stopped.

Only plain data crosses threads: numpy arrays, frozen dataclasses, dicts and strings. Exceptions become
one plain sentence; GL objects never leave the render thread. Signals are connected to bound methods of
objects living in the GUI thread (a lambda would run in the emitting thread).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from super_gui.app.headstart import GIL_SWITCH_S
from super_gui.core.camera import View
from super_gui.core.image_io import to_uint8
from super_gui.errors import Cancelled, UserInputError

Job = Callable[[Callable[[float, str], None], Callable[[], bool]], Any]


def plain_message(e: BaseException) -> str:
    """One sentence for the person at the keyboard (the traceback of a bug goes to stderr)."""
    if isinstance(e, UserInputError):
        return str(e)
    if isinstance(e, MemoryError):
        return "There is not enough memory for this photo. Close other programs or use a smaller photo."
    if isinstance(e, OSError) and e.strerror:
        return f"{e.strerror} ({e.filename})" if e.filename else str(e.strerror)
    traceback.print_exception(e)
    return f"Internal error in super_gui ({type(e).__name__}: {e}). The details were printed for a bug report."


class Worker(QObject):
    """One job on its own thread. Signals: ``progress(float, str)``, ``finished(object)`` (the job's
    result), ``failed(str)`` (a plain sentence), ``cancelled()``; exactly one of the last three fires."""

    progress = Signal(float, str)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, job: Job, name: str = "job"):
        super().__init__()
        self.name = name
        self._job = job
        self._thread = QThread()
        self._thread.setObjectName(f"super_gui {name}")
        self.moveToThread(self._thread)
        self._thread.started.connect(self._run)
        self.done = False

    @property
    def qthread(self) -> QThread:
        return self._thread

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._thread.requestInterruption()

    def is_cancelled(self) -> bool:
        return self._thread.isInterruptionRequested()

    def wait(self, ms: int = 30000) -> bool:
        return self._thread.wait(ms)

    @Slot()
    def _run(self) -> None:
        try:
            if self.is_cancelled():
                raise Cancelled()
            result = self._job(self.progress.emit, self.is_cancelled)
            if self.is_cancelled():
                raise Cancelled()
            self.finished.emit(result)
        except Cancelled:
            self.cancelled.emit()
        except BaseException as e:  # noqa: BLE001 - everything becomes a sentence; bugs also print
            self.failed.emit(plain_message(e))
        finally:
            self.done = True
            self._thread.quit()


# The render thread's (and software GL's) niceness above the GUI thread's. It was 4, so that the GUI painted a
# finished frame first; since read-backs let go of Python's lock (render.context.finish_unlocked) and frames
# come ready to paint, the same priority is quicker: slider-to-frame 25.6-26.2 -> 17.4-18.1 ms median, and
# beside a CPU-bound process p95 296-325 -> 59-101 ms (12 MP, interleaved runs on a busy 2-core machine).
RENDER_NICENESS = 0
# A stopped close-up leaves its full-resolution photo texture uploaded (a close-up asked again soon uses it);
# it is freed once the render thread has had nothing to do for this long.
RELEASE_IDLE_S = 1.5


def lower_priority(niceness: int = RENDER_NICENESS) -> None:
    """Raise the calling thread's niceness by ``niceness`` so that the threads above it come first (threads it
    creates, such as software GL's rasteriser threads made with a context, inherit it). Linux only; elsewhere,
    and where it is refused, nothing changes."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + niceness)
    except (AttributeError, OSError):
        pass


def _return_freed_memory() -> None:
    """Hand the heap's free pages back to the system (glibc only). A photo's set-up and an export free
    tens of MB of numpy temporaries on this thread; glibc keeps them in the thread's arena, where the
    drag frames that follow never reuse them, so without this the editor stays ~50 MB larger."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError, TypeError):  # not glibc (macOS, musl) or not POSIX (Windows)
        pass


@dataclass(frozen=True)
class RenderRequest:
    """A view to show. ``seq`` grows with every request; ``generation`` names the prepared photo;
    ``full``: at the photo's own resolution (for a close look), not the preview's."""

    seq: int
    generation: int
    view: View
    draft: bool
    full: bool = False
    others: tuple = ()  # the other faces' edits of a group photo, drawn with this one: (Prepared, View) each
    draft_ratio: float = 1.0  # a drag frame's resolution, as a fraction of the preview's (app.drafts.screen_ratio)
    paint_size: tuple[int, int] | None = None  # a drag frame's QImage is made this size (the viewer's device pixels)


@dataclass(frozen=True)
class ExportRequest:
    generation: int
    view: View
    out_path: Path
    jpeg_quality: int | str  # 1..100, or "original"
    overwrite: bool
    input_sha256: str | None = None  # of the photo's file as it was opened
    others: tuple = ()  # the other faces' edits, written into the same image: (Prepared, View) each


@dataclass(frozen=True)
class MeshRequest:
    """A frame of the 3D view: ``orbit`` (render.mesh_view.Orbit), ``mode``, ``size`` (w, h) in pixels."""

    seq: int
    generation: int
    view: View
    orbit: Any
    mode: str
    size: tuple[int, int]


@dataclass(frozen=True)
class MeshFrame:
    seq: int
    generation: int
    image: np.ndarray
    seconds: float


@dataclass(frozen=True)
class Frame:
    """A rendered view: ``image`` (h, w, 3) uint8 at ``scale`` of the photo's size."""

    seq: int
    generation: int
    view: View
    draft: bool
    image: np.ndarray
    scale: float
    seconds: float
    timings_s: dict = field(default_factory=dict)
    coverage: float | None = None  # settled frames: the share of the head the photo covers (core.coverage)
    # ``image`` as the viewer paints it (gui.viewer.qimage_from_rgb), made here rather than on the editor's
    # thread: at 12 MP the conversion took that thread ~50 ms
    qimage: Any = None
    window: tuple[float, float, float, float] | None = None  # app.pipeline.Rendered.window


@dataclass(frozen=True)
class _SetPrepared:
    prepared: Any
    generation: int
    keep: bool = False  # prepared None: keep the renderers of the photo's faces (another face is being fitted)


class RenderThread(QThread):
    """Owns the GL context, the renderer of the current photo and its 3D view. Signals: ``frame(Frame)``,
    ``mesh_frame(MeshFrame)``, ``exported(dict)`` (the sidecar report), ``export_failed(str)``,
    ``failed(str)`` (rendering is broken)."""

    frame = Signal(object)
    mesh_frame = Signal(object)
    exported = Signal(object)
    export_failed = Signal(str)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.setObjectName("super_gui render")
        sys.setswitchinterval(GIL_SWITCH_S)  # (process-wide: for as long as the editor runs; app.headstart)
        self._cond = threading.Condition()
        self._commands: deque = deque()
        self._pending: RenderRequest | None = None
        self._pending_mesh: MeshRequest | None = None
        self._stopping = False
        self.stopped_renders = 0  # close-ups stopped for something newer (read by tests and bench/detail_perf.py)

    # -- GUI thread side -----------------------------------------------------------------------------

    def set_prepared(self, prepared, generation: int, keep: bool = False) -> None:
        """Render the face ``prepared`` now (its renderer is made or found again; ``prepared=None`` releases every
        renderer, unless ``keep``); requests for older generations are dropped."""
        self._put(_SetPrepared(prepared, generation, keep))

    def request(self, req: RenderRequest) -> None:
        """Render ``req`` when the thread is free; a newer request replaces it if it has not started."""
        with self._cond:
            self._pending = req
            self._cond.notify()

    def request_mesh(self, req: MeshRequest) -> None:
        """Like :meth:`request`, for the 3D view (its own slot: the two views do not replace each other)."""
        with self._cond:
            self._pending_mesh = req
            self._cond.notify()

    def export(self, req: ExportRequest) -> None:
        self._put(req)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self.wait()

    def _put(self, item) -> None:
        with self._cond:
            self._commands.append(item)
            self._cond.notify()

    # -- render thread side --------------------------------------------------------------------------

    def run(self) -> None:
        from super_gui.render.context import create_context

        if RENDER_NICENESS:
            lower_priority()
        try:
            ctx = create_context()
        except Exception as e:  # noqa: BLE001
            self.failed.emit(f"Rendering is not available on this computer: {e}")
            return
        if not self._waiting():  # (nothing asked yet: the photo is still being fitted)
            try:
                from super_gui.render.warmup import warm_up

                warm_up(ctx)  # software GL's first-draw compiles, off the first preview's path (~0.15 s)
            except Exception:  # noqa: BLE001 - only a head start: the first render does (and reports) the same
                pass
        renderer, generation = None, -1
        faces = None  # app.group.FaceRenderers: a renderer per face of the open photo
        self._mesh_scene = None
        self._left_full = False  # a stopped close-up left its full-resolution textures uploaded
        try:
            while True:
                with self._cond:
                    idle = False
                    while not self._stopping and not self._waiting():
                        if not self._left_full:
                            self._cond.wait()
                        elif not self._cond.wait(RELEASE_IDLE_S):
                            idle = True
                            break
                    if self._stopping:
                        break
                    if idle:
                        item = None
                    elif self._commands:
                        item = self._commands.popleft()
                    elif self._pending is not None:
                        item, self._pending = self._pending, None
                    else:
                        item, self._pending_mesh = self._pending_mesh, None
                if item is None:  # idle, with a stopped close-up's textures still uploaded
                    self._left_full = False
                    if faces is not None:
                        self._guard(faces.release_full_resolution, self.failed)
                    _return_freed_memory()
                elif isinstance(item, _SetPrepared):
                    self._release_mesh_scene()
                    renderer = None  # (the face's renderer is kept while its photo is open: another face comes back to it)
                    generation = item.generation
                    if item.prepared is None and not item.keep and faces is not None:
                        faces.release()
                    if item.prepared is not None:
                        if faces is None:
                            faces = self._guard(lambda: self._new_renderers(ctx), self.failed)
                        if faces is not None:
                            renderer = self._guard(lambda: faces.renderer(item.prepared), self.failed)
                    _return_freed_memory()
                elif renderer is None or item.generation != generation:
                    if isinstance(item, ExportRequest):
                        self.export_failed.emit("The photo changed before the export could start; nothing was written.")
                elif isinstance(item, RenderRequest):
                    self._guard(lambda: self._render(faces, renderer, item), self.failed)
                    if not item.draft and not item.full and not self._waiting():  # a settled preview shown: ready
                        self._guard(renderer.prepare_drafts, self.failed)  # the first drag now (~0.1 s, once)
                elif isinstance(item, MeshRequest):
                    self._guard(lambda: self._render_mesh(renderer, item), self.failed)
                else:
                    self._guard(lambda: self._export(faces, renderer, item), self.export_failed)
                    _return_freed_memory()
        finally:
            self._release_mesh_scene()
            if faces is not None:
                faces.release()
            ctx.release()

    def _waiting(self) -> bool:
        """Something is asked for (call with ``self._cond`` held, or from the render thread)."""
        return bool(self._commands) or self._pending is not None or self._pending_mesh is not None

    def _should_stop(self) -> bool:
        """Between two pieces of a close-up: stop it, something else is asked for."""
        with self._cond:
            return self._stopping or self._waiting()

    @staticmethod
    def _guard(fn, signal):
        try:
            return fn()
        except BaseException as e:  # noqa: BLE001 - a sentence for the GUI; bugs also print a traceback
            signal.emit(plain_message(e))
            return None

    @staticmethod
    def _new_renderers(ctx):
        from super_gui.app.group import FaceRenderers

        return FaceRenderers(ctx=ctx)

    def _render(self, faces, renderer, req: RenderRequest) -> None:
        t = time.perf_counter()
        edits = [(renderer.prepared, req.view), *req.others]
        if req.full:  # a close-up: stopped between pieces when anything else is asked for
            from super_gui.render.tiles import cancellable

            try:
                with cancellable(self._should_stop):
                    out = faces.render(edits, draft=req.draft, full=True)
            except Cancelled:
                self._stopped(req)
                return
            self._left_full = True  # (its textures stay for the next close-up until the thread is idle)
        else:
            out = faces.render(edits, draft=req.draft, draft_ratio=req.draft_ratio)
        image = to_uint8(out.image)  # a 16-bit photo at full scale comes in its own dtype
        coverage = None
        head = renderer.prepared.head
        if not req.draft and head is not None:  # < 1 ms, settled frames only
            from super_gui.core.coverage import view_coverage

            coverage = view_coverage(head, renderer.camera(req.view))
        from super_gui.gui.viewer import qimage_from_rgb

        shown = image
        if req.draft and req.paint_size is not None and 0 < min(req.paint_size) and max(req.paint_size) <= 2 * max(image.shape):
            import cv2  # (scaled here, off the editor's thread: there it cost ~1 ms of each frame's paint)

            shown = cv2.resize(image, req.paint_size, interpolation=cv2.INTER_LINEAR)
        self.frame.emit(Frame(req.seq, req.generation, req.view, req.draft, image, out.scale, time.perf_counter() - t,
                              out.timings_s, coverage, qimage_from_rgb(shown), out.window))

    def _stopped(self, req: RenderRequest) -> None:
        """``req`` (a close-up) was stopped: nothing is shown. Stopped for a command only (an export), it is
        drawn again after it; for a newer frame (or the 3D view), the editor asks again when the view settles."""
        self.stopped_renders += 1
        self._left_full = True
        with self._cond:
            if self._pending is None and self._pending_mesh is None:
                self._pending = req

    def _render_mesh(self, renderer, req: MeshRequest) -> None:
        from super_gui.render.mesh_view import MeshViewScene

        t = time.perf_counter()
        if self._mesh_scene is None:  # built on first use: most sessions never open the 3D view
            p = renderer.prepared
            inv, a = p.inversion, p.analysis
            self._mesh_scene = MeshViewScene(renderer.ctx, p.mesh, inv.texture, inv.origin, a.intrinsics, a.eye_midpoint)
        # RGBX, as the framebuffer holds it (no RGBA -> RGB pass); the canvas converts it for Qt anyway
        image = self._mesh_scene.render(req.size, req.orbit, req.mode, renderer.camera(req.view), channels=4)
        self.mesh_frame.emit(MeshFrame(req.seq, req.generation, image, time.perf_counter() - t))

    def _release_mesh_scene(self) -> None:
        if self._mesh_scene is not None:
            self._mesh_scene.release()
            self._mesh_scene = None

    def _export(self, faces, renderer, req: ExportRequest) -> None:
        from super_gui.app.edit import write_edit
        from super_gui.app.pipeline import check_view

        t0 = time.perf_counter()
        prepared = renderer.prepared
        for p, v in [(prepared, req.view), *req.others]:
            check_view(v, p.analysis.focal.focal_35mm)
        timings = dict(prepared.timings_s)
        t = time.perf_counter()
        rendered = faces.render([(prepared, req.view), *req.others], full=True)
        timings["render"] = time.perf_counter() - t
        # The sidecar names the bytes the edit was made from (hashed when the photo was opened), not whatever
        # is at the path now: the original may have been moved, deleted or replaced since.
        report = write_edit(prepared, rendered.image, req.view, req.out_path, command="editor",
                            jpeg_quality=req.jpeg_quality, overwrite=req.overwrite, timings=timings, started=t0,
                            input_sha256=req.input_sha256, others=list(req.others))
        self.exported.emit(report)
