"""Every face on the command line: ``--face all`` and ``--face 0,2`` on edit and undistort (with one value per
face for --yaw, --pitch, --focal, --distance-cm), undistort edits every face by default, several faces of
similar size take the largest with a note instead of a refusal, a batch of group photos refuses none, the
sidecar sums up each face and its reproduce command writes the same bytes."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import cv2
import numpy as np
import pytest

from super_gui import cli
from tests.conftest import four_faces, save, three_faces


def main(*args) -> int:
    return cli.main([str(a) for a in args])


@pytest.fixture(autouse=True)
def _keep_stderr(monkeypatch):
    """cli.main sends descriptor 2 to /dev/null for MediaPipe's chatter; capsys needs sys.stderr untouched."""
    monkeypatch.setenv("SUPER_GUI_DEBUG", "1")


def reproduce(sidecar: Path, again: Path) -> bytes:
    """Run the sidecar's reproduce command with its output at ``again``; the bytes it wrote."""
    words = shlex.split(json.loads(sidecar.read_text())["reproduce"])
    words[words.index("-o") + 1] = str(again)
    assert main(*words[2:]) == 0
    return again.read_bytes()


def boxes_changed(out: Path, photo: Path, faces: list[dict]) -> list[bool]:
    a, b = cv2.imread(str(out)), cv2.imread(str(photo))
    return [bool((a[y0:y1, x0:x1] != b[y0:y1, x0:x1]).any())
            for x0, y0, x1, y1 in ([int(v) for v in f["box"]] for f in faces)]


def test_undistort_fixes_every_face_of_a_group_photo_by_default(tmp_path, grace_rgb, capsys):
    photo = save(four_faces(grace_rgb), tmp_path / "four.png")
    out = tmp_path / "fixed.png"
    assert main("undistort", photo, "-o", out) == 0
    assert "; 4 faces, distance " in capsys.readouterr().out
    rep = json.loads((tmp_path / "fixed.png.json").read_text())
    s = rep["settings"]
    assert s["face"] == [0, 1, 2, 3] and s["focal_35mm"] == [85.0] * 4 and len(s["distance_cm"]) == 4
    assert [f["index"] for f in rep["faces"]] == [0, 1, 2, 3]
    for f in rep["faces"]:
        assert set(f) >= {"index", "box", "capture_distance_cm", "head_pose_deg", "view", "coverage"}
        assert f["view"] == {"yaw_deg": 0.0, "pitch_deg": 0.0, "focal_35mm": 85.0}
    assert boxes_changed(out, photo, rep["faces"]) == [True] * 4
    assert "--face 0,1,2,3" in rep["reproduce"] and "--focal 85.0,85.0,85.0,85.0" in rep["reproduce"]
    assert reproduce(tmp_path / "fixed.png.json", tmp_path / "again.png") == out.read_bytes()


def test_a_list_of_faces_with_one_view_each(tmp_path, grace_rgb):
    photo = save(three_faces(grace_rgb), tmp_path / "three.png")
    out = tmp_path / "two.png"
    assert main("edit", photo, "-o", out, "--face", "2,0", "--yaw", "6,-6", "--focal", "60") == 0
    rep = json.loads((tmp_path / "two.png.json").read_text())
    s = rep["settings"]
    assert s["face"] == [2, 0] and s["yaw_deg"] == [6.0, -6.0] and s["focal_35mm"] == [60.0, 60.0]
    assert [f["view"]["yaw_deg"] for f in rep["faces"]] == [6.0, -6.0]
    middle = json.loads(json.dumps(rep["faces"][0]))
    middle["box"] = [512 + 40, 40, 1024 - 40, 560]  # inside the middle copy: face 1, not asked for
    assert boxes_changed(out, photo, rep["faces"] + [middle]) == [True, True, False]
    assert reproduce(tmp_path / "two.png.json", tmp_path / "again.png") == out.read_bytes()


def test_several_faces_of_similar_size_edit_the_largest_with_a_note(tmp_path, grace_rgb, capsys):
    photo = save(three_faces(grace_rgb), tmp_path / "three.png")
    out = tmp_path / "one.png"
    assert main("edit", photo, "-o", out, "--yaw", "8") == 0
    err = capsys.readouterr().err
    assert "note: three.png has 3 faces of similar size that can be edited" in err
    assert "editing face 1, the largest (--face N edits another, --face all every one)" in err
    rep = json.loads((tmp_path / "one.png.json").read_text())
    assert rep["settings"]["face"] == 1 and rep["settings"]["yaw_deg"] == 8.0  # one face: as before
    assert [f["index"] for f in rep["faces"]] == [1] and "--face 1" in rep["reproduce"]


@pytest.mark.parametrize("args, words", [
    (["--face", "0,0"], "Face 0 is given twice"),
    (["--face", "0,7"], "face index 7 does not exist"),
    (["--face", "0,2", "--yaw", "1,2,3"], "--yaw gives 3 values for 2 faces"),
    (["--face", "all", "--distance-cm", "50,60"], "--distance-cm gives 2 values for 3 faces"),
    (["--face", "all", "--mesh", "head.glb"], "--mesh writes one face's head"),
    (["--face", "1,x"], "face index must be a whole number"),
    (["--yaw", "5,40"], "Yaw 40 deg is outside"),
])
def test_face_lists_are_refused_in_one_sentence_and_nothing_is_written(tmp_path, grace_rgb, capsys, args, words):
    photo = save(three_faces(grace_rgb), tmp_path / "three.png")
    args = [a if a != "head.glb" else tmp_path / a for a in args]
    assert main("edit", photo, "-o", tmp_path / "out.png", *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and words in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["three.png"]


def test_a_batch_of_group_photos_refuses_none_for_similar_size(tmp_path, grace_rgb, capsys):
    three = three_faces(grace_rgb)
    cut = np.ascontiguousarray(three[:, : three.shape[1] - grace_rgb.shape[1] // 2])  # the right face cut off
    photos = [save(three, tmp_path / "three.png"), save(four_faces(grace_rgb), tmp_path / "four.jpg", quality=95),
              save(cut, tmp_path / "cut.png"), save(grace_rgb, tmp_path / "one.jpg", quality=95)]
    out = tmp_path / "out"
    assert main("undistort", *photos, "-o", f"{out}/", "--jobs", "1") == 0
    captured = capsys.readouterr()
    assert "4 of 4 photos done" in captured.out and "error" not in captured.err, captured.err
    faces = {p.name: json.loads((out / (p.stem + p.suffix + ".json")).read_text())["settings"]["face"] for p in photos}
    assert faces == {"three.png": [0, 1, 2], "four.jpg": [0, 1, 2, 3], "cut.png": [0, 1], "one.jpg": 0}
