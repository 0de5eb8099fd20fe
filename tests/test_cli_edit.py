"""edit / undistort from the command line: outputs, reports, batches, refusals."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from tests.test_cli import run


def test_edit_writes_full_size_output_sidecar_report_and_mesh(tmp_path, grace_jpg):
    out, rep, mesh = tmp_path / "turned.jpg", tmp_path / "report.json", tmp_path / "head.glb"
    before = grace_jpg.read_bytes()
    r = run("edit", str(grace_jpg), "-o", str(out), "--yaw", "15", "--json", str(rep), "--mesh", str(mesh))
    assert r.returncode == 0, r.stderr
    assert grace_jpg.read_bytes() == before
    with Image.open(out) as im:
        assert im.size == Image.open(grace_jpg).size and im.format == "JPEG"
    report = json.loads(rep.read_text())
    assert report["output"] == str(out.resolve()) and report["settings"]["yaw_deg"] == 15
    assert {"analysis", "inversion", "mesh", "render", "export", "total"} <= set(report["timings_s"])
    sidecar = json.loads((tmp_path / "turned.jpg.json").read_text())
    assert sidecar["settings"]["capture_focal_35mm"] == 26.0 and "--yaw 15" in sidecar["reproduce"]
    import trimesh

    assert len(trimesh.load(mesh, force="mesh").faces) > 1000
    assert not [p for p in tmp_path.iterdir() if ".part-" in p.name]


def test_undistort_batch_keeps_going_past_a_broken_file(tmp_path, grace_jpg, astronaut_jpg):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(grace_jpg.read_bytes()[:5000])
    outdir = tmp_path / "out"
    r = run("undistort", str(grace_jpg), str(broken), str(astronaut_jpg), "-o", str(outdir) + "/")
    assert r.returncode == 2
    assert "broken.jpg" in r.stderr and "truncated" in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in outdir.iterdir() if p.suffix == ".jpg") == ["astronaut.jpg", "grace_hopper.jpg"]
    assert "2 of 3 photos done" in r.stdout


def test_edit_refuses_to_overwrite_the_input(tmp_path, grace_jpg):
    before = grace_jpg.read_bytes()
    r = run("edit", str(grace_jpg), "-o", str(grace_jpg), "--yaw", "5")
    assert r.returncode == 2 and "overwrite" in r.stderr
    assert grace_jpg.read_bytes() == before


def test_edit_bad_values_exit_2(tmp_path, grace_jpg):
    for args in (["--yaw", "60"], ["--focal", "900"], ["--pitch", "nan"]):
        r = run("edit", str(grace_jpg), "-o", str(tmp_path / "x.jpg"), *args)
        assert r.returncode == 2 and "Traceback" not in r.stderr, (args, r.stderr)
    assert not (tmp_path / "x.jpg").exists()
    r = run("edit", str(grace_jpg), "-o", str(tmp_path / "x.gif"))
    assert r.returncode == 2 and ".gif" in r.stderr or "x.gif" in r.stderr


def test_png_output_of_an_rgba_photo_keeps_alpha(tmp_path, grace_rgb):
    rgba = np.dstack([grace_rgb, np.full(grace_rgb.shape[:2], 200, np.uint8)])
    src = tmp_path / "rgba.png"
    Image.fromarray(rgba).save(src)
    out = tmp_path / "out.png"
    r = run("edit", str(src), "-o", str(out), "--pitch", "5")
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im:
        assert im.mode == "RGBA"
        assert np.array_equal(np.asarray(im)[..., 3], rgba[..., 3])


def test_edit_outside_the_supported_range_is_written_with_a_note(tmp_path, grace_jpg):
    out = tmp_path / "far.jpg"
    r = run("edit", str(grace_jpg), "-o", str(out), "--yaw", "28")
    assert r.returncode == 0, r.stderr  # the user decides; the edit is still written
    assert "outside the range the photo supports (yaw;" in r.stderr
    cov = json.loads((tmp_path / "far.jpg.json").read_text())["coverage"]
    assert cov["outside"] == ["yaw"] and cov["view"] < cov["supported"]["min_coverage"]
    assert cov["supported"]["yaw_deg"][0] < 0 < cov["supported"]["yaw_deg"][1] < 28
    r = run("edit", str(grace_jpg), "-o", str(tmp_path / "near.jpg"), "--yaw", "5")
    assert r.returncode == 0 and "outside the range" not in r.stderr
    assert json.loads((tmp_path / "near.jpg.json").read_text())["coverage"]["outside"] == []


def test_no_opengl_is_a_sentence_and_exit_2_not_a_bug_report(tmp_path, grace_jpg):
    # A machine without GL drivers (or with too little memory for software GL to start) gets the fix in
    # one sentence, no traceback, and nothing written.
    import subprocess
    import sys
    import textwrap

    from tests.test_cli import ROOT

    code = textwrap.dedent(f"""
        import sys, moderngl
        def no_gl(*a, **k):
            raise RuntimeError("eglInitialize failed (0x3001)")
        moderngl.create_context = no_gl
        from super_gui.cli import main
        sys.exit(main(["edit", {str(grace_jpg)!r}, "-o", {str(tmp_path / 'out.jpg')!r}, "--yaw", "5"]))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "No OpenGL 3.3 context could be created" in done.stderr and "apt-get install" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert not (tmp_path / "out.jpg").exists()
