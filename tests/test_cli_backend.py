"""``--backend eg3d`` on the command line (issue 11, item 5): usage refused before any work (exit 2, one
sentence), an undistort with a tiny NVIDIA-format checkpoint whose sidecar records the backend and reproduces the
file, the per-step progress line on a terminal only, and Ctrl+C during the fit (exit 130, nothing left)."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_cli import ROOT

STEPS = "2"  # 5 steps of the tiny generator: a few seconds on a CPU


@pytest.fixture(scope="module")
def tiny_pkl(tiny_eg3d_checkpoint) -> Path:
    return tiny_eg3d_checkpoint


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def run_env(*args: str, cache: Path) -> subprocess.CompletedProcess:
    """``run`` with the EG3D cache (converted checkpoints, fits) in ``cache``, never the user's."""
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, env=env, timeout=600)


def test_the_cli_names_the_registrys_backends():
    from super_gui.cli import BACKEND_NAMES
    from super_gui.inversion.backends import BACKENDS

    assert BACKEND_NAMES == tuple(BACKENDS)


@pytest.mark.parametrize("extra, words", [
    (["--checkpoint", "{pkl}"], "--checkpoint is only for --backend eg3d"),
    (["--backend", "landmark", "--steps", "2"], "--steps is only for --backend eg3d"),
    (["--lpips-weights", "{pkl}", "--device", "cpu"], "--lpips-weights and --device are only for --backend eg3d"),
    (["--backend", "eg3d"], "needs NVIDIA's EG3D checkpoint"),
    (["--backend", "eg3d", "--checkpoint", "{missing}"], "The EG3D checkpoint"),
    (["--backend", "eg3d", "--checkpoint", "{pkl}", "--lpips-weights", "{missing}"], "VGG16 weights file"),
    (["--backend", "eg3d", "--checkpoint", "{pkl}", "--lpips-heads", "{pkl}"], "--lpips-heads needs --lpips-weights"),
    (["--backend", "eg3d", "--checkpoint", "{pkl}", "--steps", "lots"], "Steps must be"),
    (["--backend", "eg3d", "--checkpoint", "{pkl}", "--steps", "0"], "between 1 and 5000"),
    (["--backend", "eg3d", "--checkpoint", "{pkl}", "--json", "{pkl}"], "over the input"),
    (["--backend", "eg3d", "--checkpoint", ""], "empty name"),
    (["--backend", "eg4d"], "invalid choice"),
    (["--backend", "eg3d", "--checkpoint", "{pkl}", "--device", "tpu"], "invalid choice"),
])
def test_usage_is_refused_before_any_work(tmp_path, grace_jpg, tiny_pkl, extra, words):
    missing = tmp_path / "nowhere" / "ffhq512-128.pkl"
    before = tiny_pkl.read_bytes()
    args = [a.format(pkl=tiny_pkl, missing=missing) for a in extra]
    r = run_env("undistort", str(grace_jpg), "-o", str(tmp_path / "out.jpg"), *args, cache=tmp_path / "cache")
    assert r.returncode == 2, r.stderr
    assert words in r.stderr and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grace_hopper.jpg"]  # no output, no cache, no folder
    assert tiny_pkl.read_bytes() == before
    if "missing" in str(extra):
        assert "ffhq512-128.pkl" in r.stderr and "does not exist" in r.stderr


@pytest.mark.skipif("_cuda()", reason="this machine has CUDA")
def test_cuda_asked_for_without_one_is_refused(tmp_path, grace_jpg, tiny_pkl):
    r = run_env("edit", str(grace_jpg), "-o", str(tmp_path / "out.jpg"), "--backend", "eg3d", "--checkpoint", str(tiny_pkl),
                "--device", "cuda", cache=tmp_path / "cache")
    assert r.returncode == 2 and "CUDA" in r.stderr and not (tmp_path / "out.jpg").exists()


def test_undistort_with_eg3d_records_the_backend_and_reproduces_the_file(tmp_path, grace_jpg, tiny_pkl):
    out = tmp_path / "out.jpg"
    r = run_env("undistort", str(grace_jpg), "-o", str(out), "--backend", "eg3d", "--checkpoint", str(tiny_pkl),
                "--steps", STEPS, cache=tmp_path / "cache1")
    assert r.returncode == 0, r.stderr
    if not _cuda():
        assert "note: the eg3d backend runs on the CPU here; this takes about " in r.stderr and " min per photo." in r.stderr
    assert "Fitting" not in r.stderr and "\r" not in r.stderr  # no progress line when stderr is not a terminal
    assert "grace_hopper.jpg -> " in r.stdout
    sidecar = json.loads((tmp_path / "out.jpg.json").read_text())
    s = sidecar["settings"]
    assert s["backend"] == "eg3d"
    rec = s["backend_options"]
    assert rec["checkpoint"] == str(tiny_pkl.resolve())
    assert rec["checkpoint_sha256"] == hashlib.sha256(tiny_pkl.read_bytes()).hexdigest()
    assert rec["steps"] == STEPS and rec["device"] == ("cuda" if _cuda() else "cpu")
    assert "lpips_weights" not in rec
    words = shlex.split(sidecar["reproduce"])
    i = words.index("--backend")
    assert words[i:] == ["--backend", "eg3d", "--checkpoint", str(tiny_pkl.resolve()), "--steps", STEPS, "--device", rec["device"]]
    # The reproduce command writes the same bytes. (With a fresh cache folder: a fit read back from the cache
    # carries the tuned weights as float16 differences, so it is close to the first run's but not byte-equal.)
    again = tmp_path / "again.jpg"
    words[words.index("-o") + 1] = str(again)
    r2 = run_env(*words[2:], cache=tmp_path / "cache2")
    assert r2.returncode == 0, r2.stderr
    assert again.read_bytes() == out.read_bytes()
    # ...and it is not the landmark backend's picture.
    landmark = tmp_path / "landmark.jpg"
    assert run_env("undistort", str(grace_jpg), "-o", str(landmark), cache=tmp_path / "cache3").returncode == 0
    assert landmark.read_bytes() != out.read_bytes()


def _read_until(fd: int, buf: bytearray, needle: bytes, deadline: float) -> bool:
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return needle in buf
            if not chunk:
                return needle in buf
            buf += chunk
    return True


def test_progress_line_on_a_terminal_and_ctrl_c_during_the_fit(tmp_path, grace_jpg, tiny_pkl):
    outdir = tmp_path / "out"
    outdir.mkdir()
    master, slave = pty.openpty()
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), COLUMNS="200")
    p = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "undistort", str(grace_jpg), "-o", str(outdir / "fixed.jpg"),
                          "--backend", "eg3d", "--checkpoint", str(tiny_pkl), "--steps", "40"],
                         stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    buf = bytearray()
    try:
        assert _read_until(master, buf, b"step 2 of", time.monotonic() + 300), bytes(buf)
        p.send_signal(signal.SIGINT)
        assert p.wait(120) == 130
        _read_until(master, buf, b"interrupted", time.monotonic() + 10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    text = bytes(buf).decode("utf-8", "replace")
    # One updating line: each message replaces the last (carriage return, erase line), cleared before "interrupted".
    assert "\r\x1b[Kgrace_hopper.jpg: Fitting the 3D face (camera): step 1 of 85, about " in text and " left" in text
    assert "\r\x1b[Kinterrupted" in text
    assert "Traceback" not in text
    assert list(outdir.iterdir()) == []  # nothing written, no temporary file left
