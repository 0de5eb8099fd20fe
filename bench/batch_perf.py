"""Batch throughput: ``undistort`` over 50 photos with ``--jobs 1`` and ``--jobs 2`` (``python -m bench.perf
--batch``, or ``python -m bench.batch_perf [--photos N] [--jobs 1 2 4]``).

The photos are Grace Hopper's portrait in a 3 MP (1512 x 2016) phone-like frame, each one a little different
(mirrored every other one, a brightness step of 1 %), written as JPEGs. Each row is one fresh run of the
command, timed from start to exit (worker start-up included): photos per minute. Memory is the peak of the
summed RSS of the run's processes (the CLI, its workers and multiprocessing's resource tracker), sampled
every 50 ms, beside the largest single process's peak (VmHWM).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZE = (1512, 2016)  # 3.0 MP


def make_photos(folder: Path, count: int) -> list[Path]:
    from PIL import Image

    from bench.perf import _selfie

    base = _selfie(*SIZE).astype(np.float32)
    photos = []
    for i in range(count):
        rgb = np.clip(base * (0.9 + 0.01 * (i % 20)), 0, 255).astype(np.uint8)
        if i % 2:
            rgb = np.ascontiguousarray(rgb[:, ::-1])
        path = folder / f"selfie_{i:03d}.jpg"
        Image.fromarray(rgb).save(path, quality=92)
        photos.append(path)
    return photos


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB (empty once it has gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return {line.split(":")[0]: int(line.split()[1]) for line in text.splitlines()
            if line.startswith(("VmRSS", "VmHWM"))}


def _tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def run_batch(photos: list[Path], out: Path, jobs: int) -> dict:
    """One ``undistort`` run over ``photos`` with ``--jobs``: seconds, exit status, peak memory (MB)."""
    argv = [sys.executable, str(ROOT / "main.py"), "undistort", *map(str, photos), "-o", f"{out}/", "--jobs", str(jobs)]
    t = time.perf_counter()
    p = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_sum, hwm, processes = 0, {}, set()
    while p.poll() is None:
        total = 0
        for pid in _tree(p.pid):
            st = _status(pid)
            if st:
                processes.add(pid)
                total += st.get("VmRSS", 0)
                hwm[pid] = max(hwm.get(pid, 0), st.get("VmHWM", 0))
        peak_sum = max(peak_sum, total)
        time.sleep(0.05)
    seconds = time.perf_counter() - t
    out_text, err = p.communicate()
    done = sum(1 for line in out_text.splitlines() if " -> " in line)
    return {"rc": p.returncode, "seconds": seconds, "done": done, "peak_sum_mb": peak_sum / 1024,
            "peak_one_mb": max(hwm.values(), default=0) / 1024, "processes": len(processes),
            "stderr": err.strip().splitlines()[-1:]}


def batch_rows(folder: Path, count: int = 50, jobs: tuple[int, ...] = (1, 2)) -> list[tuple[str, str]]:
    photos = make_photos(folder, count)
    rows = []
    for j in jobs:
        out = folder / f"out_jobs{j}"
        r = run_batch(photos, out, j)
        shutil.rmtree(out, ignore_errors=True)
        extra = "" if r["rc"] == 0 and r["done"] == count else f" (exit {r['rc']}, {r['done']} done: {r['stderr']})"
        rows.append((f"batch of {count} photos (3 MP), --jobs {j}: photos per minute / wall time",
                     f"{count / r['seconds'] * 60:.1f} / {r['seconds']:.1f} s{extra}"))
        rows.append((f"batch of {count} photos (3 MP), --jobs {j}: peak RSS, the run's processes together / largest",
                     f"{r['peak_sum_mb']:.0f} MB / {r['peak_one_mb']:.0f} MB"))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--photos", type=int, default=50)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args(argv)
    from bench.perf import print_table

    with tempfile.TemporaryDirectory() as tmp:
        print_table(batch_rows(Path(tmp), args.photos, tuple(args.jobs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
