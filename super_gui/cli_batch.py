"""``--jobs N``: a batch of ``edit`` / ``undistort`` photos run in parallel worker processes.

What a batch guarantees one photo at a time (planned outputs, distinct names, each photo's files all or
none, a run that writes nothing leaves no folder, clean interruption) holds with several workers. No Qt.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Iterator

MAX_JOBS = 256


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

    return edit_in_turn(triples, args, view, backend, read_too)
