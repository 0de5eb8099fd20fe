"""The head start's work in a process of its own (Linux): the photo decoded and its default face fitted by a
forked child, the results handed back.

Why a process: the editor's start-up is Python on every thread (the editor's thread imports Qt and builds
the window; the fit's threads import NumPy, OpenCV and MediaPipe, then make thousands of small NumPy
calls), and Python's lock lets one of them run at a time, so on a 2-core machine the fit ran at about half
speed beside the window. A child has a lock of its own: the fit and the window each get a core.

The child is forked before anything heavy is loaded (``main.py PHOTO`` begins the head start first thing,
with no other thread and NumPy not imported: :func:`can_fork`) and runs the same head start on threads as
the editor would (:class:`~super_gui.app.headstart.HeadStart`). It sends the photo once decoded (beside the
fit, which goes on with the child's own copy), the fit's progress, and the faces with the fitted face:
pickled through a pipe, arrays as raw bytes beside the pickle (protocol 5), the large ones through a shared
memory file that the parent maps; what refers to the photo or its pixels afterwards refers to the parent's
own. (Until the child ends, the photo is in memory twice.) A user's mistake (a broken file, no face) comes
back as the same exception with the same sentence;
anything else (a crash, a bug, a kill) ends the child, and the parent does what is left itself. No Qt.
"""

from __future__ import annotations

import io
import os
import pickle
import signal
import struct
import sys
import threading
from pathlib import Path
from typing import Iterator

_HEAD = struct.Struct("<QI")  # pickle bytes, number of out-of-band buffers
_BUFFER = struct.Struct("<qQ")  # each buffer's offset in the shared memory file (-1: in the pipe, after the pickle), bytes
IN_SHARED_MEMORY = 1 << 20  # a message's buffers go through the shared memory file from this many bytes on
PIPE_BYTES = 1 << 20  # the pipe's buffer (Linux's default is 64 KB: each large message would take many turns)


def can_fork() -> bool:
    """Whether a child may be forked now: Linux, no other thread running (Python's or a library's) and none of
    the libraries that start threads of their own (NumPy's BLAS, Qt, OpenCV) loaded yet. A fork copies only
    the thread that makes it, and a lock another thread held at that moment would stay held in the child."""
    if not (sys.platform.startswith("linux") and hasattr(os, "fork") and hasattr(os, "memfd_create")
            and threading.active_count() == 1 and not any(m in sys.modules for m in ("numpy", "PySide6", "cv2", "torch"))):
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


class _Names:
    """What the parent has already, by name: objects, held here (an object's id is only its own while it lives:
    a new array could otherwise take a freed one's id, and its name)."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[str, object]] = {}

    def add(self, obj: object, name: str) -> None:
        self._by_id[id(obj)] = (name, obj)

    def name(self, obj: object) -> str | None:
        entry = self._by_id.get(id(obj))
        return entry[0] if entry is not None and entry[1] is obj else None


class _Pickler(pickle.Pickler):
    def __init__(self, file, names: _Names, **kw):
        super().__init__(file, protocol=5, **kw)
        self._names = names

    def persistent_id(self, obj):
        return self._names.name(obj)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, known: dict[str, object], **kw):
        super().__init__(file, **kw)
        self._known = known

    def persistent_load(self, pid):
        return self._known[pid]


def _write_all(fd: int, data) -> None:
    view = memoryview(data).cast("B")
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, n: int) -> bytearray | None:
    """``n`` bytes from ``fd`` (Python's lock is free while it waits); None at the end of the pipe before any."""
    out = bytearray(n)
    view, got = memoryview(out), 0
    while got < n:
        k = os.readv(fd, [view[got:]])
        if k == 0:
            if got == 0:
                return None
            raise EOFError("the head start's process ended in the middle of a message")
        got += k
    return out


def _shared_buffers(fd: int, places: list[tuple[int, int]]) -> list:
    """The buffers ``places`` puts in the shared memory file ``fd`` ((offset, bytes) each), mapped copy-on-write
    (the arrays made on them are the parent's own to change); None for each one that is in the pipe."""
    import mmap

    inside = [(off, size) for off, size in places if off >= 0]
    if not inside:
        return [None] * len(places)
    start = min(off for off, _ in inside) // mmap.ALLOCATIONGRANULARITY * mmap.ALLOCATIONGRANULARITY
    end = max(off + size for off, size in inside)
    view = memoryview(mmap.mmap(fd, end - start, mmap.MAP_PRIVATE, mmap.PROT_READ | mmap.PROT_WRITE, offset=start))
    return [None if off < 0 else view[off - start : off - start + size] for off, size in places]


class Child:
    """A forked child doing the head start's work (:func:`start`); the parent reads its messages
    (:meth:`messages`) on one thread and may :meth:`kill` it from any."""

    def __init__(self, pid: int, fd: int, shared_fd: int):
        self.pid, self._fd, self._shared_fd = pid, fd, shared_fd
        self.status: int | None = None  # os.waitpid's, once reaped
        self._reaped = False
        self._lock = threading.Lock()

    def messages(self, known: dict[str, object]) -> Iterator[tuple]:
        """The child's messages, in order, until its pipe ends (then it is reaped): ("photo", Photo),
        ("progress", fraction, words), ("fitted", FaceAnalysis, Prepared, timings) or ("refused",
        UserInputError). ``known``: what the messages may refer to by name (the caller adds the photo and
        its arrays once the photo has come)."""
        try:
            while True:
                head = _read_exactly(self._fd, _HEAD.size)
                if head is None:
                    return
                n, k = _HEAD.unpack(head)
                places = [_BUFFER.unpack(_read_exactly(self._fd, _BUFFER.size)) for _ in range(k)]
                data = _read_exactly(self._fd, n)
                buffers = _shared_buffers(self._shared_fd, places)
                buffers = [(_read_exactly(self._fd, size) if size else bytearray()) if b is None else b
                           for b, (_, size) in zip(buffers, places)]
                yield _Unpickler(io.BytesIO(data), known, buffers=buffers).load()
        finally:
            self._close()

    def kill(self) -> None:
        """End the child now (its work is not wanted); the reader then sees its pipe end."""
        with self._lock:
            if not self._reaped:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except OSError:
                    pass

    def _close(self) -> None:
        with self._lock:
            if self._reaped:
                return
            self._reaped = True
        for fd in (self._fd, self._shared_fd):
            os.close(fd)
        try:
            self.status = os.waitpid(self.pid, 0)[1]
        except OSError:
            pass


def start(path: Path) -> Child | None:
    """Fork a child that decodes ``path`` and fits its default face (:func:`_child_main`); None where no
    child can be had (the caller then does the work on threads)."""
    try:
        shared = os.memfd_create("super_gui head start", getattr(os, "MFD_CLOEXEC", 0))
    except OSError:
        return None
    try:
        r, w = os.pipe()
    except OSError:
        os.close(shared)
        return None
    try:
        import fcntl

        fcntl.fcntl(w, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (OSError, ImportError):
        pass  # (a smaller pipe: more turns, the same bytes)
    try:
        pid = os.fork()
    except OSError:
        for fd in (shared, r, w):
            os.close(fd)
        return None
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(r)
            _child_main(path, w, shared)
            code = 0
        finally:
            os._exit(code)  # (nothing of the parent's is cleaned up here: it is the parent's)
    os.close(w)
    return Child(pid, r, shared)


def _put_shared(fd: int, end: list[int], raws: list) -> list[int]:
    """Copy the buffers ``raws`` into the shared memory file ``fd`` after its end (``end[0]``, moved on);
    returns their offsets."""
    import mmap

    start = -(-end[0] // mmap.ALLOCATIONGRANULARITY) * mmap.ALLOCATIONGRANULARITY
    places, at = [], start
    for r in raws:
        places.append(at)
        at += -(-r.nbytes // 64) * 64
    os.ftruncate(fd, at)
    end[0] = at
    if at > start:
        with mmap.mmap(fd, at - start, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=start) as mm:
            for p, r in zip(places, raws):
                mm[p - start : p - start + r.nbytes] = r.cast("B") if r.format != "B" else r
    return places


def _child_main(path: Path, fd: int, shared_fd: int) -> None:
    """The child's work: the head start on threads, its results sent to ``fd`` as they come."""
    from super_gui.app.headstart import HeadStart
    from super_gui.errors import UserInputError

    lock = threading.Lock()
    names = _Names()
    photo_sent = threading.Event()
    failed: list[BaseException] = []
    end = [0]  # the shared memory file's length (what is in it stays)

    def send(message: tuple) -> None:
        buffers: list[pickle.PickleBuffer] = []
        out = io.BytesIO()
        _Pickler(out, names, buffer_callback=buffers.append).dump(message)
        raws = [b.raw() for b in buffers]
        with lock:  # (progress comes from the fit's thread)
            places = _put_shared(shared_fd, end, raws) if sum(r.nbytes for r in raws) >= IN_SHARED_MEMORY else [-1] * len(raws)
            head = _HEAD.pack(out.tell(), len(raws)) + b"".join(_BUFFER.pack(p, r.nbytes) for p, r in zip(places, raws))
            for part in (head, out.getbuffer(), *(r for p, r in zip(places, raws) if p < 0)):
                _write_all(fd, part)

    def share(photo) -> None:
        """The photo sent (its pixels through the shared memory file), on the decoding thread while the faces
        are found; the messages that follow name it and its arrays as the parent's."""
        try:
            send(("photo", photo))
            names.add(photo, "photo")
            for name in ("rgb", "alpha"):
                if getattr(photo, name) is not None:
                    names.add(getattr(photo, name), name)
        except BaseException as e:  # noqa: BLE001 - the child then ends, and the parent does the work
            failed.append(e)
        finally:
            photo_sent.set()

    head = HeadStart(path, process=False, share=share)
    head.fit_with_landmark()
    head._progress = lambda fraction, words: send(("progress", fraction, words))
    try:
        head.photo()
        try:
            faces, prepared = head.fitted(head._progress)
        finally:
            photo_sent.wait()  # (the photo first: the parent needs it before anything that refers to it)
        if failed:
            raise failed[0]
        send(("fitted", faces.faces, prepared, faces.timings_s))
    except UserInputError as e:  # the user's photo: the same sentence, from the parent
        if failed:
            raise failed[0] from None
        send(("refused", e))
    finally:
        head.cancel()
        os.close(fd)
