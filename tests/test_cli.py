"""The CLI contract: output, JSON, exit codes, and the broken-file corpus (exit 2, one sentence, no file)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import save, three_faces

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def _png_header_only(path: Path, w: int, h: int) -> Path:
    """A PNG that claims w x h pixels but carries almost no data (a decompression-bomb header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return path


@pytest.fixture
def corpus(tmp_path, astronaut_rgb, grace_rgb) -> dict[str, tuple[Path, str]]:
    """Broken or unusable files, each with a word its error message must contain."""
    d = tmp_path / "corpus"
    d.mkdir()
    good = save(astronaut_rgb, d / "good.jpg", quality=90).read_bytes()
    (d / "empty.jpg").write_bytes(b"")
    (d / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (d / "notes.jpg").write_text("this is a shopping list, not a photo\n")
    (d / "good.jpg").unlink()
    Image.new("RGB", (1, 1)).save(d / "pixel.png")
    _png_header_only(d / "bomb.png", 20000, 20000)
    from skimage import data

    save(np.ascontiguousarray(data.coffee()), d / "coffee.png")
    return {
        "empty.jpg": (d / "empty.jpg", "empty"),
        "truncated.jpg": (d / "truncated.jpg", "truncated"),
        "notes.jpg": (d / "notes.jpg", "not an image"),
        "pixel.png": (d / "pixel.png", "1x1"),
        "bomb.png": (d / "bomb.png", "megapixels"),
        "coffee.png": (d / "coffee.png", "no face"),
    }


def test_analyze_astronaut_reports_one_plausible_near_frontal_face(tmp_path, astronaut_jpg):
    out = tmp_path / "report.json"
    r = run("analyze", str(astronaut_jpg), "--json", str(out))
    assert r.returncode == 0, r.stderr
    assert "faces:            1" in r.stdout and "capture distance" in r.stdout and "time per stage" in r.stdout
    rep = json.loads(out.read_text())
    assert rep["faces"] == 1 and rep["capture_focal_source"] == "default" and rep["capture_focal_35mm"] == 26.0
    # A 512 px NASA portrait with the 26 mm phone default: the face is about half a metre away.
    assert 30 < rep["capture_distance_cm"] < 120
    assert abs(rep["head_pose_deg"]["yaw"]) < 10 and abs(rep["head_pose_deg"]["pitch"]) < 15
    assert set(rep["timings_s"]) >= {"load", "faces", "pose", "total"}
    assert r.stderr == ""


def test_analyze_capture_focal_override_scales_distance(tmp_path, astronaut_jpg):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run("analyze", str(astronaut_jpg), "--json", str(a)).returncode == 0
    assert run("analyze", str(astronaut_jpg), "--json", str(b), "--capture-focal", "52").returncode == 0
    ra, rb = json.loads(a.read_text()), json.loads(b.read_text())
    assert rb["capture_focal_source"] == "user" and rb["capture_focal_35mm"] == 52
    assert rb["capture_distance_cm"] == pytest.approx(2 * ra["capture_distance_cm"], rel=0.1)


def test_exif_orientation_6_gives_the_same_face(tmp_path, astronaut_rgb):
    upright = save(astronaut_rgb, tmp_path / "upright.jpg", quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: the viewer rotates 90 deg clockwise to show it upright
    stored = np.ascontiguousarray(np.rot90(astronaut_rgb, 1))  # counter-clockwise, undone by orientation 6
    rotated = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(rotated, quality=95, exif=exif.tobytes())
    reps = []
    for p in (upright, rotated):
        out = tmp_path / (p.stem + ".json")
        r = run("analyze", str(p), "--json", str(out))
        assert r.returncode == 0, r.stderr
        reps.append(json.loads(out.read_text()))
    a, b = reps
    assert a["image_size"] == b["image_size"] == [512, 512]
    assert b["capture_distance_cm"] == pytest.approx(a["capture_distance_cm"], rel=0.05)
    for k in ("yaw", "pitch", "roll"):
        assert b["head_pose_deg"][k] == pytest.approx(a["head_pose_deg"][k], abs=2.0)


def test_broken_corpus_exits_2_with_one_specific_sentence_and_writes_nothing(tmp_path, corpus):
    for name, (path, word) in corpus.items():
        before = {p.name: p.read_bytes() for p in path.parent.iterdir()}
        out = tmp_path / f"{name}.json"
        r = run("analyze", str(path), "--json", str(out), cwd=tmp_path)
        assert r.returncode == 2, (name, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr, name
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, r.stderr)
        assert word in lines[0], (name, lines[0])
        assert not out.exists(), name
        after = {p.name: p.read_bytes() for p in path.parent.iterdir()}
        assert after == before, f"{name}: the folder changed"


def test_three_faces_can_be_chosen_with_face(tmp_path, grace_rgb):
    path = save(three_faces(grace_rgb), tmp_path / "three_faces.png")
    r = run("analyze", str(path), "--face", "2")
    assert r.returncode == 0, r.stderr
    assert "faces:            3 (using face 2" in r.stdout


def test_usage_errors_exit_2(tmp_path, astronaut_jpg):
    for args in (["analyze"], ["analyze", str(astronaut_jpg), "--face", "x"], ["analyze", str(astronaut_jpg), "--capture-focal", "-3"], ["frobnicate"]):
        r = run(*args)
        assert r.returncode == 2, args
        assert "Traceback" not in r.stderr and r.stderr.startswith("error: "), (args, r.stderr)


def test_json_to_a_missing_folder_is_a_clear_error(tmp_path, astronaut_jpg):
    r = run("analyze", str(astronaut_jpg), "--json", str(tmp_path / "nope" / "r.json"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "nope" in r.stderr


def test_cli_never_imports_qt():
    code = "import sys, super_gui.cli, super_gui.core.analysis; sys.exit('PySide6' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_main_py_photo_that_does_not_exist_is_a_plain_error(tmp_path):
    r = run(str(tmp_path / "missing.jpg"))
    assert r.returncode == 2 and "missing.jpg does not exist" in r.stderr and "Traceback" not in r.stderr


def test_the_editor_without_a_display_is_a_plain_error(astronaut_jpg):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), str(astronaut_jpg)], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 2 and "no display" in r.stderr and "Traceback" not in r.stderr


def test_the_which_face_note_counts_only_faces_that_can_be_edited(tmp_path, grace_rgb):
    canvas = three_faces(grace_rgb)
    cut = canvas[:, : canvas.shape[1] - grace_rgb.shape[1] // 2]  # the right copy's face crosses the border
    photo = save(np.ascontiguousarray(cut), tmp_path / "group.png")
    r = run("analyze", str(photo))
    err = r.stderr
    assert r.returncode == 0, err  # several faces of similar size: the largest, with a note (no refusal)
    assert "faces:            3 (using face 1" in r.stdout, r.stdout
    assert err.startswith("note: ") and err.count("\n") == 1, err
    assert "has 2 faces of similar size that can be edited" in err and "using face 1, the largest" in err, err
    assert "2 (right, " not in err and "and 1 more that cannot be edited" in err, err
