"""``--jobs N`` (issue 12, item 5): a batch in worker processes gives what one job gives (the same files byte
for byte, the same lines, summary, report and exit status), fails a killed worker's photo alone and rolls it
back, and Ctrl+C leaves no temporary file and no process behind."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from super_gui import cli
from super_gui.cli_batch import _Bar, _roll_back, jobs_for
from tests.conftest import save
from tests.test_cli import ROOT, run


def _batch(tmp_path: Path, astronaut_rgb, grace_rgb) -> list[Path]:
    """Six photos: four faces (two of them named alike), a photo without a face and a file that is no image."""
    from skimage import data

    d = tmp_path / "in"
    (d / "more").mkdir(parents=True)
    photos = [save(astronaut_rgb, d / "astronaut.jpg", quality=95),
              save(np.ascontiguousarray(data.coffee()), d / "coffee.png"),
              save(grace_rgb, d / "grace.jpg", quality=95),
              d / "notes.jpg",
              save(astronaut_rgb[:, ::-1].copy(), d / "mirrored.png"),
              save(grace_rgb[:, ::-1].copy(), d / "more" / "grace.jpg", quality=90)]
    photos[3].write_text("a shopping list, not a photo\n")
    return photos


def _same_text(text: str, out: Path) -> str:
    """A run's printed text with its output folder and its timings taken out."""
    return re.sub(r"\(\d+\.\d+ s;", "(T s;", text.replace(str(out), "OUT"))


def _leftovers(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if ".part-" in p.name)


def test_two_jobs_give_what_one_job_gives(tmp_path, astronaut_rgb, grace_rgb):
    photos = _batch(tmp_path, astronaut_rgb, grace_rgb)
    runs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        r = run("undistort", *map(str, photos), "-o", f"{out}/", "--json", str(tmp_path / f"report{jobs}.json"),
                "--jobs", jobs)
        runs[jobs] = (r, out)
    (r1, out1), (r2, out2) = runs["1"], runs["2"]
    assert r1.returncode == r2.returncode == 2, (r1.stderr, r2.stderr)
    assert "4 of 6 photos done, 2 failed" in r1.stdout
    assert _same_text(r2.stdout, out2) == _same_text(r1.stdout, out1)
    assert _same_text(r2.stderr, out2) == _same_text(r1.stderr, out1)
    assert "photos/min" not in r2.stderr and "\r" not in r2.stderr  # no bar when stderr is not a terminal
    assert "Traceback" not in r2.stderr
    names = sorted(p.name for p in out1.iterdir())
    assert names == sorted(p.name for p in out2.iterdir())
    assert names == ["astronaut.jpg", "astronaut.jpg.json", "grace-2.jpg", "grace-2.jpg.json", "grace.jpg",
                     "grace.jpg.json", "mirrored.png", "mirrored.png.json"]
    for name in names:
        if name.endswith(".json"):  # the same but for the output path and the timings
            a, b = (json.loads((o / name).read_text()) for o in (out1, out2))
            for rep in (a, b):
                rep.pop("timings_s", None)
            assert json.dumps(a).replace(str(out1), "OUT") == json.dumps(b).replace(str(out2), "OUT"), name
        else:
            assert (out1 / name).read_bytes() == (out2 / name).read_bytes(), name
    reports = [json.loads((tmp_path / f"report{j}.json").read_text())["results"] for j in ("1", "2")]
    assert [r["input"] for r in reports[1]] == [str(p) for p in photos]  # input order
    assert [("error" in a, "error" in b) for a, b in zip(*reports)] == [(e, e) for e in
                                                                        (False, True, False, True, False, False)]
    assert [r.get("error") for r in reports[0]] == [r.get("error") for r in reports[1]]


_KILLING_MAIN = """
import os, signal, sys
sys.path.insert(0, {root!r})
import super_gui.core.outputs  # noqa: F401  (loads the module that renames the files into place)

_replace = os.replace
IN_WORKER = __name__ != "__main__"  # the parent gives back what a killed worker replaced: it must not die


def replace(src, dst, *a, **k):
    # a photo named die*: its worker is killed as soon as its image is renamed into place, before its sidecar
    _replace(src, dst, *a, **k)
    if IN_WORKER and os.path.basename(str(dst)).startswith("die") and ".part-" not in str(dst):
        os.kill(os.getpid(), signal.SIGKILL)


os.replace = replace  # runs in every worker too: spawn runs this file in them as __mp_main__

if __name__ == "__main__":
    from super_gui import cli

    sys.exit(cli.main(sys.argv[1:]))
"""


def test_a_killed_worker_fails_its_photo_alone_and_is_rolled_back(tmp_path, astronaut_rgb, grace_rgb):
    d = tmp_path / "in"
    d.mkdir()
    photos = [save(astronaut_rgb, d / "die_old.jpg", quality=95), save(grace_rgb, d / "grace.jpg", quality=95),
              save(astronaut_rgb, d / "die_new.jpg", quality=95), save(grace_rgb[:, ::-1].copy(), d / "b.jpg")]
    out = tmp_path / "out"
    out.mkdir()
    (out / "die_old.jpg").write_bytes(b"an earlier result, given back")
    script = tmp_path / "killing_main.py"
    script.write_text(_KILLING_MAIN.format(root=str(ROOT)))
    r = subprocess.run([sys.executable, str(script), "undistort", *map(str, photos), "-o", f"{out}/", "--jobs", "2"],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "2 of 4 photos done, 2 failed" in r.stdout
    for name in ("die_old.jpg", "die_new.jpg"):
        assert f"error: {name}: the process editing it was killed" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert (out / "die_old.jpg").read_bytes() == b"an earlier result, given back"
    assert sorted(p.name for p in out.iterdir()) == ["b.jpg", "b.jpg.json", "die_old.jpg", "grace.jpg",
                                                     "grace.jpg.json"]


def _group(pgid: int) -> list[str]:
    """The processes left in a process group (zombies included)."""
    left = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid:
                    left.append(Path(f"/proc/{entry}/stat").read_text()[:60])
            except OSError:
                pass
    return left


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_ctrl_c_mid_batch_leaves_no_temporaries_and_no_workers(tmp_path, astronaut_rgb, grace_rgb):
    photos = _batch(tmp_path, astronaut_rgb, grace_rgb)
    photos = [p for p in photos if p.suffix != ".png"] + [save(np.roll(astronaut_rgb, 8 * i, axis=1), tmp_path / "in" / f"u{i}.jpg")
                                                          for i in range(4)]
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "undistort", *map(str, photos), "-o", f"{out}/",
                          "--jobs", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, cwd=tmp_path)
    try:
        ready, _, _ = select.select([p.stdout], [], [], 240)
        assert ready, "no photo was done in 240 s"
        first = p.stdout.readline()
        assert " -> " in first, first
        os.killpg(p.pid, signal.SIGINT)  # Ctrl+C: the whole foreground group, workers included
        out_text, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert _leftovers(tmp_path) == []
    deadline = time.monotonic() + 5
    while _group(p.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _group(p.pid) == []


def test_jobs_is_checked_before_any_work(tmp_path, grace_jpg, astronaut_jpg, capsys, monkeypatch):
    monkeypatch.setenv("SUPER_GUI_DEBUG", "1")  # cli.main keeps sys.stderr for capsys
    out = tmp_path / "new"
    for value in ("0", "-1", "x", "1.5", "257", ""):
        assert cli.main(["undistort", str(grace_jpg), str(astronaut_jpg), "-o", f"{out}/", "--jobs", value]) == 2
        assert "--jobs" in capsys.readouterr().err, value
        assert not out.exists()


def test_jobs_with_one_photo(tmp_path, astronaut_jpg, capsys, monkeypatch):
    monkeypatch.setenv("SUPER_GUI_DEBUG", "1")
    assert cli.main(["undistort", str(astronaut_jpg), "-o", str(tmp_path / "a.jpg"), "--jobs", "4"]) == 0
    assert cli.main(["undistort", str(astronaut_jpg), "-o", f"{tmp_path / 'folder'}/", "--jobs", "3"]) == 0
    assert (tmp_path / "a.jpg").read_bytes() == (tmp_path / "folder" / "astronaut.jpg").read_bytes()
    assert "photos done" not in capsys.readouterr().out  # one photo: no batch summary, as without --jobs


def test_how_many_jobs():
    from argparse import Namespace

    from super_gui.cli_batch import default_jobs

    assert jobs_for(Namespace(jobs=None), "landmark", 50) == default_jobs()
    assert jobs_for(Namespace(jobs=8), "landmark", 3) == 3  # never more workers than photos
    assert jobs_for(Namespace(jobs=None), "eg3d", 50) == 1  # PyTorch takes every core already
    assert jobs_for(Namespace(jobs=2), "eg3d", 50) == 2


def test_the_bar_reads_like_tqdm(monkeypatch):
    bar = _Bar(50, on=True)
    bar.start -= 120  # two minutes in
    bar.done = 10
    text = bar.text(100)
    assert text.startswith("10/50 [") and "20%" in text and "5.0 photos/min" in text and "ETA 8:00" in text
    assert len(text) <= 100
    assert "--" in _Bar(3, on=True).text(80)  # nothing done yet: no rate, no time left


def test_rolling_back_a_dead_workers_photo(tmp_path):
    """What a worker killed inside its commit leaves: its temporary folder (named after it) with the sidecar
    not yet renamed and the hard link of the file its image replaced; a new file renamed into place."""
    from super_gui.core.outputs import TEMP_PREFIX

    old, new = tmp_path / "old.jpg", tmp_path / "new.jpg"
    tmp = tmp_path / f"{TEMP_PREFIX}4242-abc"
    tmp.mkdir()
    (tmp / ".backup-old.jpg").write_bytes(b"the old file")
    (tmp / "old.jpg.json").write_text("{}")
    old.write_bytes(b"the new file")
    new.write_bytes(b"a new file")
    other = tmp_path / f"{TEMP_PREFIX}4243-abc"  # another worker's: not touched
    other.mkdir()
    _roll_back(4242, {old: True, old.with_name("old.jpg.json"): False, new: False})
    assert old.read_bytes() == b"the old file"
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "old.jpg"]


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal")
def test_the_bar_is_drawn_in_place_on_a_terminal(tmp_path, astronaut_jpg):
    import pty

    notes = tmp_path / "notes.jpg"
    notes.write_text("not a photo")
    master, terminal = pty.openpty()
    p = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "undistort", str(astronaut_jpg), str(notes), "-o",
                          f"{tmp_path / 'out'}/", "--jobs", "2"], stdout=subprocess.PIPE, stderr=terminal,
                         stdin=subprocess.DEVNULL, cwd=tmp_path, text=True)
    os.close(terminal)
    shown = b""
    try:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal's last writer has gone
                break
            if not chunk:
                break
            shown += chunk
        out, _ = p.communicate(timeout=240)
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
    text = shown.decode("utf-8", "replace")
    assert p.returncode == 2, text
    assert "\r\x1b[K0/2 [" in text and "photos/min" in text and "ETA" in text
    assert "error: notes.jpg:" in text and "1 of 2 photos done, 1 failed" in out
    assert text.rstrip().endswith("HEIC/HEIF).")  # the bar is cleared before the lines and at the end
