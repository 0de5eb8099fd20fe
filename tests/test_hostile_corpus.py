"""Hostile input: a generated corpus of broken, crafted and odd files and command lines (issue 10).

Every command line runs ``main.py`` in a subprocess with a time limit and must end with exit status 0 or 2
(never 1, the status of a bug), print no traceback, leave every input file byte for byte as it was, and leave
nothing behind: no temporary ``.part-`` file anywhere, and no output when it fails. The files and command lines
are made by :mod:`tests.hostile.corpus`; nothing binary is committed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def _main(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, timeout=timeout)


def test_cli_prints_decoder_warnings(tmp_path, astronaut_rgb):
    """Corrupt JPEG data the decoder gets past: the photo is edited, and stderr says it is damaged."""
    import io

    buf = io.BytesIO()
    Image.fromarray(astronaut_rgb).save(buf, format="JPEG", quality=90)
    data = buf.getvalue()
    at = len(data) * 9 // 10  # the last rows (the face is in the upper half)
    noise = np.random.default_rng(0).integers(0, 256, 200, dtype=np.uint8).tobytes()
    damaged = tmp_path / "damaged.jpg"
    damaged.write_bytes(data[:at] + noise + data[at + 200 :])
    expected = "warning: damaged.jpg has corrupt image data (the JPEG decoder says: "
    analyzed = _main("analyze", str(damaged))
    assert analyzed.returncode == 0, analyzed.stderr
    assert [line.startswith(expected) for line in analyzed.stderr.splitlines()] == [True]
    edited = _main("undistort", str(damaged), "-o", str(tmp_path / "out.jpg"))
    assert edited.returncode == 0, edited.stderr
    assert sum(line.startswith(expected) for line in edited.stderr.splitlines()) == 1
    assert (tmp_path / "out.jpg").is_file()
