"""Independent pieces of one computation run at the same time, on threads: OpenCV and NumPy release the GIL
in their loops, so on a machine with two or more cores the pieces overlap. Each piece computes exactly what
it would alone (no shared state, no change of order within a piece). No Qt.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import threading
from pathlib import Path
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")


class Later:
    """``fn()`` running on a thread of its own from now on; :meth:`result` waits for it (and raises what it
    raised, on the caller's thread)."""

    def __init__(self, fn: Callable[[], T], name: str = "super_gui piece"):
        self._fn = fn
        self._value = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        try:
            self._thread.start()
        except RuntimeError:  # no thread to be had (a tight memory limit): run it here, now
            self._thread = None
            self._run()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as e:  # noqa: BLE001 - raised again by result()
            self._error = e
        finally:
            self._fn = None  # (what it held can go as soon as it is done)

    def result(self):
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self._value


def together(*calls: Callable[[], object]) -> list:
    """The results of ``calls``, run at the same time (all but the last on threads, the last on this one), in
    order. Every call ends before this returns; the first error among them is then raised."""
    pieces = [Later(c) for c in calls[:-1]]
    try:
        last = calls[-1]() if calls else None
    except BaseException:
        for p in pieces:
            try:
                p.result()
            except BaseException:  # noqa: BLE001 - the caller's own error wins
                pass
        raise
    return [p.result() for p in pieces] + ([last] if calls else [])


_SET_THREADS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
                "openblas_set_num_threads")


@functools.lru_cache(maxsize=1)
def single_threaded_scipy_blas() -> bool:
    """Run SciPy's own OpenBLAS (the copy its wheels bundle, used here only by ``scipy.spatial.Delaunay``'s
    barycentric transforms, which ``core.mesh.interpolate_linear`` reads: one tiny LAPACK solve per triangle)
    on the calling thread alone, once per process. With its default of a thread per core each of those
    2x2 solves is handed to a worker thread that then spins, holding a core the fit's other pieces need,
    and waits for that worker to be scheduled on a busy machine (the landmark depth: ~130 ms of CPU -> ~680 ms
    beside a loaded core). Results are the same (the solves are split by column). NumPy's BLAS, and a BLAS
    that SciPy shares with NumPy (a conda install), are left alone (see :func:`numpy_blas_alone`).
    Returns whether a limit was set."""
    try:
        import scipy
    except ImportError:
        return False
    here = Path(scipy.__file__).resolve().parent
    return _one_thread(sorted([*here.parent.glob("scipy.libs/*openblas*"), *here.glob(".dylibs/*openblas*")]))


@functools.lru_cache(maxsize=1)
def single_threaded_numpy_blas() -> bool:
    """Run NumPy's own OpenBLAS (the copy its wheels bundle) on the calling thread alone, for the rest of the
    process: the editor and the command line call this first. Every NumPy product of this program is small
    (points through a 3x3 rotation, a 75x75 patch covariance); with its default of a thread per core each
    one wakes a worker thread that then spins in sched_yield until its timeout, holding a core that the
    photo's other work needs: ~0.26 s of CPU before the editor's first preview of a 12 MP photo on a 2-core
    laptop, for no work done on that thread. (PyTorch's BLAS, which the ``eg3d`` backend uses, is its own
    and left alone.) Returns whether a limit was set."""
    lib = _numpy_openblas()
    if lib is None:
        return False
    with _numpy_blas_lock:
        lib[1](1)
    return True


@contextlib.contextmanager
def numpy_blas_alone() -> Iterator[None]:
    """Within: NumPy's own OpenBLAS (the copy its wheels bundle) on the calling thread alone; its thread count
    as before afterwards. For many tiny LAPACK calls: the landmark fit's batch of ~900 3x3 solves
    (``inversion.landmark.mirror_maps``) hands each solve to a worker thread that must then be scheduled:
    ~2 ms on an idle 2-core machine, 0.5 ms on one thread, ~5 s (sic) beside two busy threads, as at the
    editor's start-up (the window being built, the render thread warming up). The count is the whole
    process's: only for calls whose values do not depend on it, at a moment no other thread asks NumPy's
    BLAS for large work (a product over a long inner dimension, an eigen-decomposition: those it can round
    differently on one thread). Elsewhere (another BLAS, none bundled) it changes nothing."""
    lib = _numpy_openblas()
    if lib is None:
        yield
        return
    get, set_ = lib
    with _numpy_blas_lock:
        before = get()
        set_(1)
        try:
            yield
        finally:
            set_(before)


_numpy_blas_lock = threading.Lock()
_GET_THREADS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads64_",
                "openblas_get_num_threads")


@functools.lru_cache(maxsize=1)
def _numpy_openblas() -> tuple[Callable[[], int], Callable[[int], None]] | None:
    """(get, set) of the thread count of NumPy's bundled OpenBLAS, or None."""
    import numpy

    here = Path(numpy.__file__).resolve().parent
    controls = _thread_controls(sorted([*here.parent.glob("numpy.libs/*openblas*"), *here.glob(".dylibs/*openblas*")]))
    return controls if controls is not None and controls[0] is not None else None


def _thread_controls(libs: list[Path]) -> tuple[Callable[[], int] | None, Callable[[int], None]] | None:
    """(get or None, set) of the thread count of the first of the OpenBLAS libraries ``libs`` that has a set."""
    for lib in libs:
        try:
            dll = ctypes.CDLL(str(lib))
        except OSError:
            continue
        set_ = next((getattr(dll, n) for n in _SET_THREADS if hasattr(dll, n)), None)
        if set_ is not None:
            get = next((getattr(dll, n) for n in _GET_THREADS if hasattr(dll, n)), None)
            if get is not None:
                get.argtypes, get.restype = [], ctypes.c_int
            set_.argtypes, set_.restype = [ctypes.c_int], None
            return get, set_
    return None


def _one_thread(libs: list[Path]) -> bool:
    """Limit the first of the OpenBLAS libraries ``libs`` that can be limited to one thread."""
    controls = _thread_controls(libs)
    if controls is None:
        return False
    controls[1](1)
    return True
