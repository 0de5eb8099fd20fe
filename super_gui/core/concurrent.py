"""Independent pieces of one computation run at the same time, on threads: OpenCV and NumPy release the GIL
in their loops, so on a machine with two or more cores the pieces overlap. Each piece computes exactly what
it would alone (no shared state, no change of order within a piece). No Qt.
"""

from __future__ import annotations

import threading
from typing import Callable, TypeVar

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
