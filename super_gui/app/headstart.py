"""A head start for ``python main.py PHOTO``: the photo's work begins when the process does, before the
editor's window exists (Qt's imports and the window take most of a second on their own).

:class:`HeadStart` runs on two threads of its own: one decodes the photo (:func:`~super_gui.core.image_io.load_photo`,
which releases the GIL), the other imports MediaPipe and builds its graphs, imports the landmark backend, then
finds the photo's faces (:func:`~super_gui.app.faces.find_faces`) and, once the editor has said that the photo
is fitted with the landmark backend (:meth:`HeadStart.fit_with_landmark`), fits its default face, exactly as the
editor's own *prepare* job would. The editor's jobs then take these results (:meth:`HeadStart.photo`,
:meth:`HeadStart.fitted`) instead of doing the work again; an error is raised there, on the job's thread, so
it reaches the user as the same sentence. Where it can (``main.py PHOTO`` on Linux), the same work runs in a
forked child (:mod:`~super_gui.app.fitproc`), with a Python lock of its own, and only the results come back
to a thread here. No Qt.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, Sequence

Progress = Callable[[float, str], None]
_COMMANDS = ("analyze", "edit", "undistort")  # cli.COMMANDS (not imported: the cli module is not light)
_PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".heic", ".heif")  # image_io's

# How long a thread that wants Python's lock waits before the one holding it must hand it over (Python's
# default is 5 ms). The editor sets it for as long as it runs: its thread and the render thread take turns
# with the lock several times a frame (interleaved 200-move drags, 12 MP, 2 cores: median 19.7 -> 14.5 ms,
# p95 34 -> 26 ms, medians of 6); and `main.py PHOTO`'s head start sets it from the start, where the fit's
# threads want the lock between thousands of NumPy calls while the editor's thread builds the window in
# Python (first corrected preview, 10 interleaved starts twice: 1933 -> 1844 ms and 1978 -> 1872 ms median).
GIL_SWITCH_S = 0.001


class _Result:
    """A value or an exception, set once by one thread and waited for by others."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._value: object = None
        self._error: BaseException | None = None

    def set(self, value: object = None, error: BaseException | None = None) -> None:
        self._value, self._error = value, error
        self._done.set()

    def wait(self, is_cancelled: Callable[[], bool] = lambda: False, poll_s: float = 0.02) -> object:
        from super_gui.errors import Cancelled

        while not self._done.wait(poll_s):
            if is_cancelled():
                raise Cancelled()
        if self._error is not None:
            raise self._error
        return self._value


class HeadStart:
    """The photo at ``path`` decoded and, with the landmark backend, fitted, from the moment this is made.
    ``process``: do the work in a forked child (:mod:`~super_gui.app.fitproc`); None: where one can be forked
    (``main.py PHOTO``, before anything heavy is loaded). ``share(photo)`` is called once the photo is
    decoded and its faces' analysis copy made, off the fit's way (the child's hands the pixels to the parent)."""

    def __init__(self, path: str | Path, process: bool | None = None, share: Callable | None = None):
        from super_gui.app import fitproc

        self.path = Path(path)
        self._share = share
        self._photo = _Result()
        self._fit = _Result()
        self._told = threading.Event()  # fit with the landmark backend (or cancelled)
        self._cancelled = threading.Event()
        self._progress: Progress | None = None
        self._child = fitproc.start(self.path) if (fitproc.can_fork() if process is None else process) else None
        if self._child is not None:
            self._threads = [threading.Thread(target=self._from_child, name="head-start child", daemon=True)]
        else:
            self._threads = [threading.Thread(target=self._decode, name="head-start decode", daemon=True),
                             threading.Thread(target=self._fit_faces, name="head-start fit", daemon=True)]
        for t in self._threads:
            t.start()

    # -- what the editor calls --------------------------------------------------------------------------

    def fit_with_landmark(self) -> None:
        """The photo is fitted with the landmark backend (the only one a head start fits with): fit it once its
        faces are found. (Until this is called, or :meth:`cancel`, the head start stops after the faces.)"""
        self._told.set()

    def is_for(self, path: str | Path) -> bool:
        """Begun for the file at ``path``."""
        try:
            return self.path.resolve() == Path(path).resolve()
        except OSError:
            return False

    def photo(self, is_cancelled: Callable[[], bool] = lambda: False):
        """The decoded photo (core.image_io.Photo); raises what decoding raised."""
        return self._photo.wait(is_cancelled)

    def fitted(self, progress: Progress | None = None, is_cancelled: Callable[[], bool] = lambda: False):
        """(app.faces.PhotoFaces, app.pipeline.Prepared) of the photo's default face, fitted with the landmark
        backend; raises what the fit raised. ``progress`` gets the fit's progress from now on. Cancelled by
        ``is_cancelled`` (the head start stops too)."""
        self._progress = progress
        try:
            return self._fit.wait(is_cancelled)
        except BaseException:
            self.cancel()
            raise

    def cancel(self) -> None:
        """Stop the work at its next check (nothing of it is wanted any more)."""
        self._cancelled.set()
        self._told.set()
        if self._child is not None:
            self._child.kill()

    def wait(self, timeout_s: float = 30.0) -> None:
        """Wait for the threads to end (after :meth:`cancel`, within a stage of the fit)."""
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout_s)

    # -- the threads --------------------------------------------------------------------------------------

    def _is_cancelled(self) -> bool:
        return self._cancelled.is_set()

    def _report(self, fraction: float, message: str) -> None:
        sink = self._progress
        if sink is not None:
            sink(fraction, message)

    def _decode(self) -> None:
        try:
            from super_gui.core.native_log import silence_native_logging
            from super_gui.core.image_io import load_photo

            # First (the fit's thread does it too, whichever comes first): the decode's libjpeg check points
            # descriptor 2 at a file for a moment, and silencing it meanwhile kept that file as sys.stderr for
            # good (the editor's own messages lost) and let MediaPipe's chatter through.
            silence_native_logging()
            photo = load_photo(self.path)
        except BaseException as e:  # noqa: BLE001 - raised again on the thread that asks for the photo
            self._photo.set(error=e)
            return
        # Work ahead for the faces and the fit, here: the other thread is most often still building MediaPipe's
        # graphs. (The analysis copy is announced before the photo is handed over, so the faces wait for it.)
        from super_gui.core.face import downscale_ahead

        ahead = downscale_ahead(photo.rgb) if photo.rgb.dtype.itemsize == 1 else None  # (8-bit: the array find_faces takes)
        self._photo.set(photo)
        try:
            if ahead is not None:
                ahead()
            if self._share is not None:
                self._share(photo)
            if not self._is_cancelled():
                from super_gui.inversion.backends import backend_class

                backend_class("landmark").warm_up()
        except Exception:  # noqa: BLE001 - only a head start: the fit does (and reports) the same
            pass

    def _fit_faces(self) -> None:
        try:
            from super_gui.core.native_log import silence_native_logging

            silence_native_logging()  # (as the editor does: MediaPipe's native chatter means nothing to a user)
            from super_gui.core.face import warm_up

            warm_up()  # (MediaPipe's import and graphs, while the photo decodes)
            from super_gui.app.faces import find_faces
            from super_gui.errors import Cancelled
            from super_gui.inversion.backends import backend_class

            backend_class("landmark")  # (its modules imported while the photo decodes)
            photo = self._photo.wait(self._is_cancelled)
            faces = find_faces(photo, backend_name="landmark", progress=self._report, is_cancelled=self._is_cancelled)
            self._told.wait()
            if self._is_cancelled():
                raise Cancelled()
            self._fit.set((faces, faces.prepare(faces.default, self._report, self._is_cancelled)))
        except BaseException as e:  # noqa: BLE001 - raised again on the thread that asks for the fit
            self._fit.set(error=e)

    def _from_child(self) -> None:
        """The child's photo and fit, handed over as they come; what it could not do (it crashed, or hit a bug
        it would report only as an exit status) is done here, on this thread, as without a child."""
        from super_gui.errors import Cancelled

        known: dict[str, object] = {}
        photo = None
        messages = self._child.messages(known)
        try:
            for message in messages:
                kind = message[0]
                if kind == "progress":
                    self._report(*message[1:])
                elif kind == "photo":
                    photo = message[1]
                    for name in ("rgb", "alpha"):
                        part = getattr(photo, name)
                        if part is not None:
                            part.setflags(write=False)  # (read-only, as load_photo's)
                            known[name] = part
                    known["photo"] = photo
                    self._photo.set(photo)
                elif kind == "refused":  # the user's photo: the sentence load_photo or the fit would give here
                    if photo is None:
                        self._photo.set(error=message[1])
                    self._fit.set(error=message[1])
                    return
                elif kind == "fitted":
                    self._told.wait()
                    if self._is_cancelled():
                        raise Cancelled()
                    self._fit.set(self._adopt(photo, *message[1:]))
                    return
        except Cancelled as e:
            self._fit.set(error=e)
            return
        except Exception:  # noqa: BLE001 - a message that did not come whole: the work is done here instead
            pass
        finally:
            messages.close()  # (the pipe closed and the child reaped)
        if self._is_cancelled():
            if photo is None:
                self._photo.set(error=Cancelled())
            self._fit.set(error=Cancelled())
            return
        if photo is None:
            self._decode()
        self._fit_faces()

    @staticmethod
    def _adopt(photo, faces, prepared, timings: dict):
        """(PhotoFaces, Prepared) in this process, of the child's fit of ``photo``'s default face."""
        from super_gui.app.faces import PhotoFaces

        found = PhotoFaces(photo, faces, backend_name="landmark", timings=timings)
        found.adopt(prepared)
        return found, prepared


_begun: HeadStart | None = None


def begin(path: str | Path) -> HeadStart:
    """Start the head start for ``path`` (the one :func:`take` hands out)."""
    global _begun
    import sys

    sys.setswitchinterval(GIL_SWITCH_S)  # (as the editor does once its render thread is made: now, for the fit)
    if _begun is not None:
        _begun.cancel()
    _begun = HeadStart(path)
    return _begun


def begin_for_argv(argv: Sequence[str]) -> HeadStart | None:
    """``main.py PHOTO``'s arguments: a head start when they are one photo file the editor will open, else None."""
    import os
    import sys

    if len(argv) != 1 or argv[0] in _COMMANDS or argv[0].startswith("-"):
        return None
    path = Path(argv[0])
    if path.suffix.lower() not in _PHOTO_SUFFIXES or not path.is_file():
        return None
    if sys.platform.startswith("linux") and not any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        return None  # (the editor will not open)
    return begin(path)


def take(path: str | Path) -> HeadStart | None:
    """The head start begun for ``path`` (the same file), once; None when there is none."""
    global _begun
    head, _begun = _begun, None
    if head is not None and not head.is_for(path):
        head.cancel()
        return None
    return head
