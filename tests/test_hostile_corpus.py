"""Hostile input: a generated corpus of broken, crafted and odd files and command lines (issue 10).

Every command line runs ``main.py`` in a subprocess with a time limit and must end with exit status 0 or 2
(never 1, the status of a bug), print no traceback, leave every input file byte for byte as it was, and leave
nothing behind: no temporary ``.part-`` file anywhere, and nothing new at all when it fails (a batch may keep
the results it announced as "IN -> OUT"). The files and command lines are made by :mod:`tests.hostile.corpus`;
nothing binary is committed. ``-k batch`` runs the batches, ``-k <command id>`` one command line.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.hostile.corpus import Command, Corpus, make_corpus

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    """No display (``main.py PHOTO`` must refuse, not open a window and wait), no Qt platform override."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _main(*args: str, timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=_env(), stdin=subprocess.DEVNULL)


# --- the corpus, made once for the module -------------------------------------------------------------------


def _astronaut() -> np.ndarray:
    from tests.conftest import _astronaut

    return _astronaut()


def _grace() -> np.ndarray:
    from tests.conftest import _grace_hopper

    return _grace_hopper()


_CORPUS: dict[str, Corpus] = {}


def _corpus() -> Corpus:
    """The corpus, made once per process in a temporary folder (~1 s) when this module is collected, so that
    each command line is a test of its own; removed at exit."""
    if "c" not in _CORPUS:
        import atexit
        import shutil
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="super_gui-hostile-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _CORPUS["c"] = make_corpus(folder, _astronaut(), _grace())
    return _CORPUS["c"]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return _corpus()


# --- fingerprints and leftovers -----------------------------------------------------------------------------


def _fingerprint(path: Path) -> tuple:
    """What must not change about an entry, read without following links or opening special files."""
    st = path.lstat()
    if stat.S_ISLNK(st.st_mode):
        return ("link", os.readlink(path))
    if stat.S_ISDIR(st.st_mode):  # its entries are looked at one by one
        return ("folder",)
    if not stat.S_ISREG(st.st_mode):
        return ("special", stat.S_IFMT(st.st_mode), st.st_mtime_ns)
    if not os.access(path, os.R_OK):
        return ("unreadable", st.st_size, st.st_mtime_ns, stat.S_IMODE(st.st_mode))
    h = hashlib.sha256()
    with open(path, "rb") as f:
        if st.st_size <= 64 << 20:
            h.update(f.read())
        else:  # the sparse 1 GB file: its ends, its size and time
            h.update(f.read(1 << 20))
            f.seek(-(1 << 20), os.SEEK_END)
            h.update(f.read())
    return ("file", st.st_size, st.st_mtime_ns, h.hexdigest())


def _snapshot(root: Path) -> dict[Path, tuple]:
    entries: dict[Path, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):  # does not follow links to folders
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            entries[p] = _fingerprint(p)
    return entries


_ANNOUNCED = re.compile(r"^.* -> (.+) \(\d+\.\d+ s[;)]")  # "IN -> OUT (1.23 s; ...)"


def _as_printed(path: Path) -> str:
    """``path`` as the CLI may print it: raw, or with control characters escaped (a newline as \\n)."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(path))


def _problems(cmd: Command, done: subprocess.CompletedProcess | None, before: dict, after: dict) -> list[str]:
    if done is None:
        return [f"hang: no exit within {cmd.timeout:.0f} s"]
    out, err = done.stdout, done.stderr
    problems = []
    if done.returncode not in cmd.expect:
        problems.append(f"exit status {done.returncode}, expected {sorted(cmd.expect)}")
    if "Traceback" in out + err:
        problems.append("a traceback was printed")
    changed = [p for p in before if p in after and before[p] != after[p] and p not in cmd.may_change]
    gone = [p for p in before if p not in after and p not in cmd.may_change]
    problems += [f"input changed: {p}" for p in changed] + [f"input removed: {p}" for p in gone]
    new = [p for p in after if p not in before]
    problems += [f"temporary file left: {p}" for p in new if ".part-" in p.name]
    problems += [f"temporary file left: {p}" for p in after if ".part-" in p.name and p not in new]
    if done.returncode != 0:
        said = {m[1] for m in map(_ANNOUNCED.match, out.splitlines()) if m} if cmd.batch else set()
        announced = {p for p in new if str(p) in said or _as_printed(p) in said}
        # A batch keeps the results it announced (their sidecars, their folder, and its report).
        allowed = announced | {p.with_name(p.name + ".json") for p in announced} | {p.parent for p in announced}
        if cmd.batch and "--json" in cmd.argv:
            allowed.add(Path(cmd.argv[cmd.argv.index("--json") + 1]))
        problems += [f"left behind by a failed run: {p}" for p in new if p not in allowed and ".part-" not in p.name]
    else:
        problems += [f"missing output: {p}" for p in cmd.must_exist if not p.exists()]
    for text in cmd.stderr_has:
        if text not in err:
            problems.append(f"stderr lacks {text!r}")
    return problems


# --- the tests ----------------------------------------------------------------------------------------------


def test_corpus_size(corpus):
    assert len(corpus.files) >= 60
    assert len(corpus.commands) >= 40
    assert len({c.id for c in corpus.commands}) == len(corpus.commands)


@pytest.mark.parametrize("command_id", [c.id for c in _corpus().commands])
def test_hostile_command_line(corpus, command_id):
    cmd = next(c for c in corpus.commands if c.id == command_id)
    before = _snapshot(corpus.root)
    try:
        done = _main(*cmd.argv, timeout=cmd.timeout, cwd=corpus.root)
    except subprocess.TimeoutExpired:
        done = None
    after = _snapshot(corpus.root)
    problems = _problems(cmd, done, before, after)
    shown = "" if done is None else f"\n--- exit {done.returncode}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    assert not problems, f"{cmd.id}: main.py {' '.join(map(repr, cmd.argv))[:600]}\n" + "\n".join(problems) + shown


def test_cli_prints_decoder_warnings(tmp_path, astronaut_rgb):
    """Corrupt JPEG data the decoder gets past: the photo is edited, and stderr says it is damaged."""
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
