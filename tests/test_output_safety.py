"""Output safety (issue 10, items 1-5 and 8): the input is never replaced, a run's outputs never replace each
other, a run writes all of its files or none, never through a symbolic link, extreme numbers never reach a
traceback, and the sidecar reproduces the export byte for byte.

Most refusals happen before the analysis, so most of these tests are fast; the ones that edit run the
pipeline in this process (``cli.main``), where MediaPipe's graphs are built once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from super_gui import cli
from tests.conftest import save
from tests.test_cli import ROOT, run


def main(*args: str) -> int:
    return cli.main([str(a) for a in args])


@pytest.fixture(autouse=True)
def _keep_stderr(monkeypatch):
    """cli.main sends descriptor 2 to /dev/null for MediaPipe's chatter; capsys needs sys.stderr untouched."""
    monkeypatch.setenv("SUPER_GUI_DEBUG", "1")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".part-" in p.name)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def no_analysis(monkeypatch):
    """Fail the test if the slow part starts: refusals must come before it."""

    def boom(*a, **k):
        raise AssertionError("the analysis started before the refusal")

    import super_gui.core.analysis as analysis
    import super_gui.app.faces as faces
    import super_gui.app.pipeline as pipeline

    monkeypatch.setattr(analysis, "analyze_photo", boom)
    monkeypatch.setattr(pipeline, "prepare", boom)
    monkeypatch.setattr(faces, "find_faces", boom)


# --- 1. the input is never overwritten -------------------------------------------------------------------------


def test_no_output_of_a_run_may_replace_an_input(tmp_path, grace_jpg, no_analysis, capsys):
    before = _sha(grace_jpg)
    out = tmp_path / "out.jpg"
    disguised = tmp_path / "portrait.jpg.json"  # a photo named like the sidecar of portrait.jpg
    disguised.write_bytes(grace_jpg.read_bytes())
    cases = [
        ("analyze", grace_jpg, "--json", grace_jpg),
        ("edit", grace_jpg, "-o", out, "--json", grace_jpg),
        ("edit", grace_jpg, "-o", out, "--json", grace_jpg, "--overwrite"),  # --overwrite is for the image only
        ("edit", grace_jpg, "-o", out, "--json", out),  # the report over the image
        ("edit", disguised, "-o", tmp_path / "portrait.jpg"),  # the sidecar over the input
        ("edit", grace_jpg, "-o", tmp_path / "m_texture.png", "--mesh", tmp_path / "m.obj"),  # texture over image
    ]
    # The OBJ's texture is named after the mesh: a mesh called "g.obj" would write g_texture.png.
    (tmp_path / "g_texture.png").write_bytes(grace_jpg.read_bytes())
    cases.append(("edit", tmp_path / "g_texture.png", "-o", out, "--mesh", tmp_path / "g.obj"))
    for args in cases:
        capsys.readouterr()
        assert main(*args) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, (args, err)
    assert _sha(grace_jpg) == before and _sha(disguised) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g_texture.png", "grace_hopper.jpg", "portrait.jpg.json"]


def test_obj_mesh_is_a_set_named_after_the_mesh_and_replaces_nothing_else(tmp_path, astronaut_jpg):
    other = tmp_path / "material_0.png"  # an earlier export's texture, or anything of that name
    other.write_bytes(b"not mine")
    out, mesh = tmp_path / "out.jpg", tmp_path / "head.obj"
    assert main("edit", astronaut_jpg, "-o", out, "--mesh", mesh, "--yaw", "5") == 0
    assert other.read_bytes() == b"not mine"
    assert (tmp_path / "head.mtl").is_file() and (tmp_path / "head_texture.png").is_file()
    assert "head_texture.png" in (tmp_path / "head.mtl").read_text()
    import trimesh

    loaded = trimesh.load(mesh, force="mesh")
    assert loaded.visual.material.image.size[0] > 16 and len(loaded.faces) > 1000
    assert _leftovers(tmp_path) == []


def test_the_plan_names_every_file_and_refuses_duplicates(tmp_path, grace_jpg):
    from super_gui.core.outputs import plan_outputs
    from super_gui.errors import UserInputError

    plan = plan_outputs(grace_jpg, image=tmp_path / "a.jpg", report=tmp_path / "r.json", mesh=tmp_path / "m.obj")
    assert {o.role: o.path.name for o in plan.outputs} == {
        "image": "a.jpg", "sidecar": "a.jpg.json", "report": "r.json", "mesh": "m.obj",
        "mesh material": "m.mtl", "mesh texture": "m_texture.png"}
    with pytest.raises(UserInputError, match="a.jpg.json"):
        plan_outputs(grace_jpg, image=tmp_path / "a.jpg", report=tmp_path / "sub" / ".." / "a.jpg.json")
    os.link(grace_jpg, tmp_path / "hard.json")  # the input under another name
    with pytest.raises(UserInputError, match="input"):
        plan_outputs(grace_jpg, image=tmp_path / "a.jpg", report=tmp_path / "hard.json")


# --- 2. a batch never overwrites its own results ---------------------------------------------------------------


def test_batch_gives_colliding_names_distinct_outputs(tmp_path, astronaut_rgb, capsys):
    a = save(astronaut_rgb, tmp_path / "IMG_1.webp", quality=95)
    b = save(astronaut_rgb[:, ::-1].copy(), tmp_path / "IMG_1.JPG", quality=95)
    outdir = tmp_path / "out"
    assert main("undistort", a, b, "-o", outdir) == 0
    printed = capsys.readouterr().out
    names = sorted(p.name for p in outdir.iterdir() if p.suffix == ".jpg")
    assert names == ["IMG_1-2.jpg", "IMG_1.jpg"], names
    assert "IMG_1-2.jpg" in printed and "2 of 2 photos done" in printed
    first, second = (np.asarray(Image.open(outdir / n)) for n in ("IMG_1.jpg", "IMG_1-2.jpg"))
    assert np.abs(first.astype(int) - second[:, ::-1]).mean() < 20  # each is its own photo's edit
    assert json.loads((outdir / "IMG_1-2.jpg.json").read_text())["input"].endswith("IMG_1.JPG")


def test_usage_errors_are_refused_before_the_output_folder_is_made(tmp_path, grace_jpg, astronaut_jpg, no_analysis):
    outdir = tmp_path / "new" / "out"
    for extra in (["--mesh", str(tmp_path / "m.glb")], ["--quality", "0"], ["--quality", "101"],
                  ["--capture-focal", "2"], ["--distance-cm", "1"], ["--face", "x"],
                  ["--json", str(tmp_path / "nowhere" / "r.json")]):
        assert main("undistort", grace_jpg, astronaut_jpg, "-o", outdir, *extra) == 2, extra
        assert not (tmp_path / "new").exists(), extra


# --- 3. all or nothing ---------------------------------------------------------------------------------------


def test_an_output_that_cannot_be_written_is_refused_before_any_work(tmp_path, grace_jpg, no_analysis, capsys):
    out = tmp_path / "out.jpg"
    (tmp_path / "out.jpg.json").mkdir()  # the sidecar's name is taken by a folder
    assert main("edit", grace_jpg, "-o", out) == 2
    assert "out.jpg.json" in capsys.readouterr().err
    assert main("edit", grace_jpg, "-o", tmp_path / "b.jpg", "--mesh", tmp_path / "missing" / "m.glb") == 2
    assert "missing" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grace_hopper.jpg", "out.jpg.json"]


def test_a_failure_after_the_image_leaves_nothing_and_names_the_users_file(tmp_path, astronaut_jpg, monkeypatch,
                                                                           capsys):
    import trimesh

    old = tmp_path / "out.jpg"
    old.write_bytes(b"an earlier export, kept if this one fails")

    def full(self, file_obj=None, *a, **k):
        raise OSError(28, "No space left on device", str(file_obj))

    monkeypatch.setattr(trimesh.Trimesh, "export", full)
    r = main("edit", astronaut_jpg, "-o", old, "--mesh", tmp_path / "m.glb", "--json", tmp_path / "r.json")
    err = capsys.readouterr().err
    assert r == 2 and "m.glb" in err and ".part-" not in err and "no space left" in err.lower(), err
    assert old.read_bytes() == b"an earlier export, kept if this one fails"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["astronaut.jpg", "out.jpg"]


_SIGNAL_SCRIPT = """
import os, signal, sys
sys.path.insert(0, {root!r})
import super_gui.core.export as export
from super_gui import cli
real = export.write_sidecar if {late} else None

def hit(*a, **k):
    os.kill(os.getpid(), signal.{sig})
    return real(*a, **k) if real else None

if {late}:
    export.write_sidecar = hit
    import super_gui.app.edit as edit
    edit.write_sidecar = hit
else:
    import super_gui.core.image_io as io
    io.load_photo = hit
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize(("sig", "late"), [("SIGTERM", True), ("SIGHUP", False)])
def test_sigterm_and_sighup_clean_up_like_sigint(tmp_path, astronaut_jpg, sig, late):
    script = _SIGNAL_SCRIPT.format(root=str(ROOT), sig=sig, late=late)
    out = tmp_path / "out"
    out.mkdir()
    r = subprocess.run([sys.executable, "-c", script, "edit", str(astronaut_jpg), "-o", str(out / "e.jpg")],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 128 + getattr(signal, sig), (r.returncode, r.stderr[-2000:])
    assert "interrupted" in r.stderr and "Traceback" not in r.stderr
    assert list(out.iterdir()) == []


# --- 4. never through a symbolic link ---------------------------------------------------------------------------


def test_a_symlink_at_an_output_is_refused_and_replaced_only_with_overwrite(tmp_path, astronaut_jpg, capsys):
    victim = tmp_path / "victim.jpg"
    victim.write_bytes(b"someone else's file")
    link = tmp_path / "out.jpg"
    link.symlink_to(victim)
    (tmp_path / "b.jpg.json").symlink_to(victim)
    for args in (("-o", link), ("-o", tmp_path / "b.jpg"), ("-o", tmp_path / "c.jpg", "--json", link)):
        assert main("edit", astronaut_jpg, *args) == 2, args
        assert "link" in capsys.readouterr().err
    assert main("edit", astronaut_jpg, "-o", link, "--overwrite") == 0
    assert victim.read_bytes() == b"someone else's file"
    assert not link.is_symlink() and Image.open(link).size == (512, 512)
    assert not (tmp_path / "c.jpg").exists() and not (tmp_path / "b.jpg").exists()


def test_a_linked_folder_is_written_into(tmp_path, grace_jpg, no_analysis):
    from super_gui.core.export import check_output_path

    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "linked").symlink_to(real, target_is_directory=True)
    assert check_output_path(grace_jpg, tmp_path / "linked" / "x.jpg") == real.resolve() / "x.jpg"
    (real / "f.jpg").write_bytes(b"x")
    (tmp_path / "to_file.jpg").symlink_to(real / "f.jpg")
    from super_gui.errors import UserInputError

    with pytest.raises(UserInputError, match="link"):
        check_output_path(grace_jpg, tmp_path / "to_file.jpg")
    assert check_output_path(grace_jpg, tmp_path / "to_file.jpg", overwrite=True) == tmp_path.resolve() / "to_file.jpg"


# --- 5. extreme values never reach a traceback ---------------------------------------------------------------


def _with_exif_focal(rgb: np.ndarray, path: Path, focal) -> Path:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS 80D"
    exif.get_ifd(0x8769)[0x920A] = focal
    Image.fromarray(rgb).save(path, quality=95, exif=exif)
    return path


def test_implausible_exif_focal_is_ignored_with_a_note(tmp_path, astronaut_rgb, capsys):
    from super_gui.core.camera import capture_focal

    for mm in (1e6, 1e300, float("inf"), float("nan"), -5.0, 1e-9):
        f = capture_focal(None, mm, "Canon", "Canon EOS 80D")
        assert (f.focal_35mm, f.source) == (26.0, "default") and f.note and "ignored" in f.note, mm
    assert capture_focal(None, 50.0, "Canon", "Canon EOS 80D").focal_35mm == 80.0
    photo = _with_exif_focal(astronaut_rgb, tmp_path / "crafted.jpg", 1_000_000)
    assert main("analyze", photo, "--json", tmp_path / "r.json") == 0
    captured = capsys.readouterr()
    assert "note:" in captured.err and "1e+06" in captured.err or "1000000" in captured.err, captured.err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["capture_focal_source"] == "default" and "ignored" in report["capture_focal_note"]


def test_long_capture_focal_inside_the_range_is_handled(tmp_path, astronaut_jpg, capsys):
    # 1199 mm on a 512 px photo: the face spans under 0.3 % of the focal length, which SQPnP refuses.
    assert main("analyze", astronaut_jpg, "--capture-focal", "1199") == 0
    out = capsys.readouterr().out
    assert "1199 mm" in out


def test_every_numeric_option_is_checked_before_the_analysis(tmp_path, grace_jpg, no_analysis, capsys):
    out = tmp_path / "o.jpg"
    bad = [["--capture-focal", "4"], ["--capture-focal", "1201"], ["--distance-cm", "9"], ["--distance-cm", "1e9"],
           ["--focal", "5"], ["--focal", "1000"], ["--yaw", "31"], ["--pitch", "-20.5"], ["--quality", "0"],
           ["--quality", "1e3"], ["--face", "1e3"], ["--face", "-1"], ["--yaw", "inf"]]
    for args in bad:
        capsys.readouterr()
        assert main("edit", grace_jpg, "-o", out, *args) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, (args, err)
    for args in (["--capture-focal", "1e9"], ["--face", "99999999999999999999"]):
        assert main("analyze", grace_jpg, *args) == 2, args
    assert not out.exists()


# --- 8. the small ones -------------------------------------------------------------------------------------


def test_overwrite_records_the_hash_of_the_input_as_it_was(tmp_path, astronaut_jpg):
    before = _sha(astronaut_jpg)
    assert main("edit", astronaut_jpg, "-o", astronaut_jpg, "--overwrite", "--yaw", "4") == 0
    sidecar = json.loads((tmp_path / "astronaut.jpg.json").read_text())
    assert sidecar["input_sha256"] == before != _sha(astronaut_jpg)


def test_control_characters_in_names_are_printed_escaped(tmp_path, grace_jpg):
    odd = tmp_path / "a\nb\x1b[31m.jpg"
    odd.write_bytes(grace_jpg.read_bytes())
    r = run("edit", str(odd), "-o", str(odd))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "\x1b" not in r.stderr
    assert "a\\nb\\x1b[31m.jpg" in r.stderr, r.stderr


def test_reproduce_command_is_quoted_exact_and_writes_the_same_bytes(tmp_path, astronaut_rgb, monkeypatch):
    folder = tmp_path / "it's; rm -rf ~"
    folder.mkdir()
    photo = save(astronaut_rgb, folder / ";rm -rf ~;.jpg", quality=95)
    out = folder / "edited $(x).jpg"
    assert main("edit", photo, "-o", out, "--yaw", "7.123456789", "--pitch", "-3.3", "--focal", "61.73",
                "--quality", "87", "--mesh", folder / "m.glb") == 0
    umask = os.umask(0)
    os.umask(umask)
    for p in (out, folder / "edited $(x).jpg.json", folder / "m.glb"):
        assert p.stat().st_mode & 0o777 == 0o666 & ~umask, p
    command = json.loads((folder / "edited $(x).jpg.json").read_text())["reproduce"]
    words = shlex.split(command)
    assert words[:3] == ["python", "main.py", "edit"] and words[3] == str(photo.resolve())
    assert "--quality" in words and "7.123456789" in words
    again = tmp_path / "again.jpg"
    words[words.index("-o") + 1] = str(again)
    assert main(*words[2:]) == 0
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.parametrize("option", ["-o", "--json", "--mesh"])
def test_an_empty_output_name_is_refused_not_read_as_the_current_folder(tmp_path, astronaut_jpg, option, monkeypatch):
    from super_gui.cli import main

    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    args = ["undistort", str(astronaut_jpg), "-o", "fixed.jpg"]
    args = ["undistort", str(astronaut_jpg), "-o", ""] if option == "-o" else [*args, option, ""]
    assert main(args) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_batch_that_writes_nothing_leaves_no_output_folder(tmp_path, capsys):
    from super_gui.cli import main

    bad = [tmp_path / "a.jpg", tmp_path / "b.jpg"]
    for p in bad:
        p.write_bytes(b"not a photo")
    out = tmp_path / "new" / "results"
    assert main(["undistort", *map(str, bad), "-o", f"{out}/"]) == 2
    assert "0 of 2 photos done" in capsys.readouterr().out
    assert not (tmp_path / "new").exists()


def test_usage_names_the_command_the_user_ran(monkeypatch, capsys):
    from super_gui import cli

    monkeypatch.setattr(sys, "argv", ["/home/me/.local/bin/super-gui", "edit"])
    assert cli.main(["edit"]) == 2
    assert "see 'super-gui edit --help'" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", ["main.py", "edit"])
    assert cli.main(["edit"]) == 2
    assert "see 'python main.py edit --help'" in capsys.readouterr().err
