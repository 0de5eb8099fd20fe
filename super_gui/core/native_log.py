"""MediaPipe's native chatter kept off the user's terminal: file descriptor 2 sent to /dev/null for good, with
Python's ``sys.stderr`` kept on the real stream. A module of its own, with nothing but the standard library,
so that the head start's decoding thread silences it before it decodes, without waiting for NumPy and
OpenCV to load. No Qt.
"""

from __future__ import annotations

import os
import sys
import threading

_native_silenced = False


def silence_native_logging() -> None:
    """Send file descriptor 2 to /dev/null for good, keeping Python's ``sys.stderr`` on the real stream.

    MediaPipe's C++ side (absl/glog, TFLite) writes warnings straight to descriptor 2, from worker threads
    and at any time; they mean nothing to a user. The CLI and the editor call this once at start-up;
    library users and tests keep everything. ``SUPER_GUI_DEBUG=1`` keeps the native messages.
    """
    with _silence_lock:  # (the editor's head start may call it beside the main thread)
        _silence_native_logging()


_silence_lock = threading.Lock()


def _silence_native_logging() -> None:
    global _native_silenced
    if _native_silenced or os.environ.get("SUPER_GUI_DEBUG"):
        return
    try:
        sys.stderr.flush()
        real = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError):  # no real stderr (a windowed app): nothing to do
        return
    sys.stderr = os.fdopen(real, "w", buffering=1, encoding="utf-8", errors="replace")
    os.dup2(devnull, 2)
    os.close(devnull)
    _native_silenced = True
