"""``--jobs N``: a batch of ``edit`` / ``undistort`` photos edited in parallel worker processes.

The parent plans the run as for one job (every output checked, colliding names made distinct, the folder
made) before any worker starts; each worker is a fresh process (the 'spawn' context: the GL context, the
MediaPipe graphs and PyTorch do not survive a fork) that builds them once and edits photo after photo through
the same :func:`super_gui.cli_edit.edit_and_print` as one job does, its printed lines captured and sent back.
The parent prints each photo's lines in input order, with one progress bar on stderr when it is a terminal,
then the same summary, report and exit status as one job.

What each photo guarantees holds with workers: its files are written all or none (a worker's temporary
folder carries its process id; a worker that dies is rolled back by the parent: its temporaries removed, a
file it had replaced given back, a new one removed), and that photo fails with one plain line while the rest
go on. Ctrl+C, SIGTERM and SIGHUP stop every worker, each removing its temporaries, before the run exits
(130, 143, 129); a worker whose parent dies is stopped by the kernel (Linux). No Qt.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import signal
import sys
import time
from collections import deque
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

MAX_JOBS = 256
STOP_GRACE_S = 20.0  # how long a stopped worker may take to remove its temporaries before it is killed
_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))
# The thread pools of a worker's libraries (llvmpipe, OpenMP/PyTorch, OpenBLAS, MKL, OpenCV), each sized to its
# share of the cores unless the user set it: N workers with a pool per core each fight over the cores (on 2
# cores, 2 workers of 1 thread each edit ~10 % more photos per minute than with 2 threads each).
THREAD_VARIABLES = ("LP_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "OPENCV_FOR_THREADS_NUM")


def default_jobs() -> int:
    """The cores this process may run on."""
    count = getattr(os, "process_cpu_count", None)  # Python 3.13
    if count is not None:
        return max(1, count() or 1)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def jobs_option(text: str) -> int:
    """argparse type of ``--jobs``: a whole number from 1 to MAX_JOBS."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of processes, not {text!r}") from None
    if not 1 <= v <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_JOBS} processes, not {v}")
    return v


def jobs_for(args: argparse.Namespace, backend: str, photos: int) -> int:
    """How many processes edit ``photos`` photos: --jobs, by default the cores (one for the eg3d backend,
    whose PyTorch uses every core, or the GPU, already), never more than the photos."""
    jobs = getattr(args, "jobs", None)
    if jobs is None:
        jobs = default_jobs() if backend == "landmark" else 1
    return max(1, min(jobs, photos))


def edit_photos(triples: list[tuple[Path, Path, str]], args: argparse.Namespace, view,
                backend: tuple[str, dict], read_too: list[Path]) -> Iterator[tuple[dict, bool]]:
    """(report, internal error?) for each photo in input order, each photo's lines printed before it is
    yielded: in this process for one job (exactly as without ``--jobs``), else in worker processes."""
    from super_gui.cli_edit import edit_in_turn

    jobs = jobs_for(args, backend[0], len(triples))
    if jobs == 1:
        return edit_in_turn(triples, args, view, backend, read_too)
    return _in_workers(triples, args, view, backend, read_too, jobs)


# --- the parent ------------------------------------------------------------------------------------------------


class _Worker:
    """One worker process and the photo it is editing (``task``: its index; ``existed``: which of its
    outputs were there before, for a rollback)."""

    def __init__(self, ctx, args: argparse.Namespace, view, backend: tuple[str, dict]):
        self.conn, self._child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(self._child, os.getpid(), args, view, backend),
                                name="super_gui-batch-worker", daemon=True)
        self.task: int | None = None
        self.existed: dict[Path, bool] = {}

    def start(self, jobs: int) -> "_Worker":
        share = str(max(1, default_jobs() // jobs))
        threads = {name: share for name in THREAD_VARIABLES if name not in os.environ}
        with _signals_held():  # the worker starts with them blocked and takes them once it can clean up
            os.environ.update(threads)  # the worker's environment, from this process's at its start
            try:
                self.proc.start()
            finally:
                for name in threads:
                    del os.environ[name]
            self._child.close()
        return self

    def give(self, index: int, triples: list, read_too: list[Path]) -> None:
        """Send it a photo (if it has died already, the photo fails with it: each photo is tried once)."""
        src, dst, note = triples[index]
        others = [p for p, _, _ in triples if p is not src] + read_too
        self.task = index
        self.existed = {p: os.path.lexists(p) for p in _files_of(dst)}
        try:
            self.conn.send((index, src, dst, note, others))
        except OSError:
            pass  # its sentinel says it has gone

    def receive(self) -> tuple[list[tuple], bool]:
        """The results it has sent, and whether it has gone (its end of the pipe closed)."""
        got: list[tuple] = []
        try:
            while self.conn.poll():
                got.append(self.conn.recv())
        except (EOFError, OSError):
            return got, True
        return got, False


def _files_of(dst: Path) -> list[Path]:
    from super_gui.core.outputs import sidecar_name

    return [dst.absolute(), sidecar_name(dst).absolute()]


def _in_workers(triples, args, view, backend, read_too, jobs) -> Iterator[tuple[dict, bool]]:
    import multiprocessing
    from multiprocessing import resource_tracker
    from multiprocessing.connection import wait

    ctx = multiprocessing.get_context("spawn")
    resource_tracker.ensure_running()  # started now, not inside _signals_held (it unblocks them itself)
    todo = deque(range(len(triples)))
    results: dict[int, tuple[dict, bool, list]] = {}
    bar = _Bar(len(triples), sys.stderr.isatty())
    workers: list[_Worker] = []
    finished = False
    try:
        for _ in range(jobs):  # listed before it starts: whatever happens next, _stop ends it
            workers.append(_Worker(ctx, args, view, backend))
            workers[-1].start(jobs).give(todo.popleft(), triples, read_too)
        shown_upto = 0
        while shown_upto < len(triples):
            bar.draw()
            ready = wait([w.conn for w in workers] + [w.proc.sentinel for w in workers], 1.0 if bar.on else None)
            for w in list(workers):
                gone = False
                if w.conn in ready:
                    got, gone = w.receive()
                    for index, rep, bug, chunks in got:
                        results[index] = (rep, bug, chunks)
                        w.task = None
                        bar.done += 1
                if gone or w.proc.sentinel in ready:
                    _reap(w)
                    workers.remove(w)
                    if w.task is not None:
                        results[w.task] = _crashed(w, triples[w.task][0])
                        bar.done += 1
                    if todo:
                        workers.append(_Worker(ctx, args, view, backend))
                        w = workers[-1].start(jobs)
                if w in workers and w.task is None and todo:
                    w.give(todo.popleft(), triples, read_too)
            while shown_upto in results:
                rep, bug, chunks = results.pop(shown_upto)
                bar.clear()
                _replay(chunks)
                shown_upto += 1
                yield rep, bug
        finished = True
    finally:
        bar.clear()
        _stop(workers, finished)


def _replay(chunks: list[tuple[int, str]]) -> None:
    """Print what a photo printed in its worker, in the order it printed it."""
    for fd, text in chunks:
        stream = sys.stdout if fd == 1 else sys.stderr
        stream.write(text)
        stream.flush()


def _reap(w: _Worker) -> None:
    w.proc.join(5.0)
    if w.proc.exitcode is None:  # it closed its end and lives on: it is of no use any more
        w.proc.kill()
        w.proc.join()
    w.conn.close()


def _crashed(w: _Worker, src: Path) -> tuple[dict, bool, list]:
    """The photo a worker was editing when it died: rolled back, and failed with one plain line."""
    from super_gui.core.outputs import shown

    _roll_back(w.proc.pid, w.existed)
    code = w.proc.exitcode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if -code == getattr(signal, "SIGKILL", 9):
            why, bug = "was killed (SIGKILL: perhaps the system ran out of memory)", False
        else:
            why, bug = f"crashed ({name})", True
    elif code in (128 + s for s in _SIGNALS):
        why, bug = f"was stopped ({signal.Signals(code - 128).name})", False
    else:
        why, bug = f"stopped unexpectedly (exit status {code})", True
    message = f"the process editing it {why}; nothing was written for it"
    text = f"error: {shown(src.name)}: {message}" + (" (internal error in super_gui)" if bug else "") + "\n"
    return {"input": str(src), "error": message}, bug, [(2, text)]


def _roll_back(pid: int, existed: dict[Path, bool]) -> None:
    """Undo what a dead worker left of one photo: its temporary folders (a file it had already replaced is
    given back from the hard link its commit kept there), and the new files it had already renamed into place."""
    from super_gui.core.outputs import TEMP_PREFIX

    for folder in {p.parent for p in existed}:
        for tmp in folder.glob(f"{TEMP_PREFIX}{pid}-*"):
            for backup in tmp.glob(".backup-*"):
                try:
                    os.replace(backup, folder / backup.name.removeprefix(".backup-"))
                except OSError:
                    pass
            shutil.rmtree(tmp, ignore_errors=True)
    for path, was_there in existed.items():
        if not was_there and os.path.lexists(path):
            try:
                os.unlink(path)
            except OSError:
                pass


def _stop(workers: list[_Worker], finished: bool) -> None:
    """End every worker: told to stop after a complete run; else SIGTERM, so that each removes its
    temporaries, and after STOP_GRACE_S killed and rolled back. Signals wait until the workers are gone."""
    with _signals_held():
        workers = [w for w in workers if w.proc.pid is not None]  # (one that never started)
        for w in workers:
            try:
                if finished:
                    w.conn.send(None)
                else:
                    w.proc.terminate()
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + STOP_GRACE_S
        for w in workers:
            w.proc.join(max(0.0, deadline - time.monotonic()))
            if w.proc.exitcode is None:
                w.proc.kill()
                w.proc.join()
            if w.task is not None and w.proc.exitcode == -signal.SIGKILL:  # else it has cleaned up itself
                _roll_back(w.proc.pid, w.existed)
            w.conn.close()
        # multiprocessing's resource tracker, started with the first worker, ends once the workers have: wait for
        # it, so that the run leaves no process behind (not even a zombie)
        from multiprocessing import resource_tracker

        try:
            resource_tracker._resource_tracker._stop()
        except (AttributeError, OSError):
            pass


@contextmanager
def _signals_held():
    """SIGINT, SIGTERM and SIGHUP held back until the block ends, then raised as they came: blocked on this
    thread (a process started inside inherits the block) and noted by a handler that only notes them (a
    native thread of this process may take one)."""
    noted: list[int] = []
    previous: dict[int, object] = {}
    masked = hasattr(signal, "pthread_sigmask")
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS) if masked else None
    try:
        for s in _SIGNALS:
            try:
                previous[s] = signal.signal(s, lambda signum, frame: noted.append(signum))
            except (ValueError, OSError):  # not the main thread: the block alone
                pass
        yield
    finally:
        raised: BaseException | None = None
        for s, handler in previous.items():  # each is put back, even if one that is raises at once
            try:
                signal.signal(s, handler)
            except KeyboardInterrupt as e:
                raised = raised or e
        if masked:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)  # what was blocked is raised here
        if raised is not None:
            raise raised
        if noted:
            signal.raise_signal(noted[0])


class _Bar:
    """One tqdm-style line on stderr: done/total, photos per minute and the time left; drawn (and redrawn in
    place) only on a terminal."""

    def __init__(self, total: int, on: bool):
        self.total, self.on, self.done, self.start, self.drawn = total, on, 0, time.monotonic(), False

    def text(self, width: int) -> str:
        elapsed = time.monotonic() - self.start
        rate = self.done / elapsed * 60 if self.done and elapsed > 0 else None
        left = (self.total - self.done) / rate * 60 if rate else None
        eta = "--:--" if left is None else f"{int(left) // 60}:{int(left) % 60:02d}"
        head = f"{self.done}/{self.total} "
        tail = (f" {100 * self.done // self.total:3d}% | {'--' if rate is None else f'{rate:.1f}'} photos/min"
                f" | ETA {eta} | {int(elapsed) // 60}:{int(elapsed) % 60:02d}")
        room = width - len(head) - len(tail) - 2
        if room < 5:
            return (head + tail)[:width]
        full = room * self.done // self.total
        return head + "[" + "=" * full + (">" if full < room else "") + " " * max(0, room - full - 1) + "]" + tail

    def draw(self) -> None:
        if self.on:
            width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
            sys.stderr.write("\r\x1b[K" + self.text(width))
            sys.stderr.flush()
            self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.drawn = False


# --- a worker --------------------------------------------------------------------------------------------------


class _Capture(io.TextIOBase):
    """A worker's sys.stdout or sys.stderr: what a photo prints, kept in order for the parent to print."""

    encoding, errors = "utf-8", "surrogateescape"

    def __init__(self, fd: int, chunks: list):
        super().__init__()
        self.fd, self.chunks = fd, chunks

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.chunks.append((self.fd, text))
        return len(text)


def _worker_main(conn, parent: int, args: argparse.Namespace, view, backend: tuple[str, dict]) -> None:
    """A worker's life: edit each photo the parent sends until it sends None or goes away. The first of
    SIGINT, SIGTERM or SIGHUP stops the photo (its temporaries removed on the way out) and ends the worker
    with 128 + the signal; the others are then ignored, so nothing interrupts the cleaning up."""
    def stop(signum, frame):
        for s in _SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        raise _Stopped(signum)

    for s in _SIGNALS:
        signal.signal(s, stop)
    _die_with_parent()
    try:
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)  # blocked by the parent while it started us
        if os.getppid() != parent:  # the parent died before the kernel was told
            return
        _quiet_stdout()
        from super_gui.cli_edit import edit_and_print
        from super_gui.core.concurrent import single_threaded_numpy_blas

        single_threaded_numpy_blas()  # (as the parent: cli._main)

        while True:
            task = conn.recv()
            if task is None:
                return
            index, src, dst, note, others = task
            chunks: list[tuple[int, str]] = []
            saved = sys.stdout, sys.stderr
            sys.stdout, sys.stderr = _Capture(1, chunks), _Capture(2, chunks)
            try:
                rep, bug = edit_and_print(src, dst, note, args, view, others, None, backend, False)
            finally:
                sys.stdout, sys.stderr = saved
            conn.send((index, rep, bug, chunks))
    except _Stopped as e:
        sys.exit(128 + e.signum)
    except (EOFError, BrokenPipeError):  # the parent is gone
        return


class _Stopped(KeyboardInterrupt):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _die_with_parent() -> None:
    """Linux: the kernel sends this process SIGTERM when its parent dies (no worker outlives a killed run)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _quiet_stdout() -> None:
    """What native code writes to descriptor 1 is not the run's output (Python's prints are captured)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass
