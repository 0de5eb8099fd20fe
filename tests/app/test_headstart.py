"""The head start of ``main.py PHOTO``: the photo decoded and fitted from process start, exactly as the editor's
own jobs would; errors raised on the thread that asks; nothing of it when it is not for that photo."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from super_gui.app import headstart
from super_gui.app.headstart import HeadStart
from super_gui.app.pipeline import prepare
from super_gui.core.image_io import load_photo
from super_gui.errors import Cancelled, ImageLoadError


def test_the_head_start_gives_what_the_jobs_would(grace_jpg):
    head = HeadStart(grace_jpg)
    head.fit_with_landmark()
    photo = head.photo()
    assert np.array_equal(photo.rgb, load_photo(grace_jpg).rgb)
    faces, prepared = head.fitted()
    assert faces.photo is photo and prepared.photo is photo
    alone = prepare(load_photo(grace_jpg))
    assert np.array_equal(prepared.analysis.faces.face.landmarks, alone.analysis.faces.face.landmarks)
    assert np.array_equal(prepared.inversion.depth.depth_m, alone.inversion.depth.depth_m)
    assert np.array_equal(prepared.mesh.triangles, alone.mesh.triangles)


def test_a_broken_photo_raises_its_sentence_where_it_is_asked_for(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg at all")
    with pytest.raises(ImageLoadError) as direct:
        load_photo(bad)
    head = HeadStart(bad)
    head.fit_with_landmark()
    for ask in (head.photo, head.fitted):
        with pytest.raises(ImageLoadError) as got:
            ask()
        assert str(got.value) == str(direct.value)


def test_a_cancelled_head_start_stops(grace_jpg):
    head = HeadStart(grace_jpg)  # (never told to fit: it stops after the faces)
    assert head.photo() is not None
    with pytest.raises(Cancelled):
        head.fitted(is_cancelled=lambda: True)
    head.wait()
    assert not any(t.is_alive() for t in head._threads)


def test_begun_only_for_one_photo_file_and_taken_once(grace_jpg, tmp_path, monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    for argv in ([], ["edit", str(grace_jpg)], ["--help"], [str(tmp_path / "missing.jpg")], [str(grace_jpg), "x"],
                 [str(tmp_path)]):
        assert headstart.begin_for_argv(argv) is None, argv
    head = headstart.begin_for_argv([str(grace_jpg)])
    assert head is not None
    assert headstart.take(tmp_path / "other.jpg") is None  # (another photo: cancelled)
    head.wait()
    head = headstart.begin_for_argv([str(grace_jpg)])
    assert headstart.take(grace_jpg) is head and headstart.take(grace_jpg) is None
    head.cancel()
    head.wait()


def test_the_landmark_path_never_imports_torch(grace_jpg):
    code = ("import sys\n"
            "from super_gui.app.headstart import HeadStart\n"
            "h = HeadStart(sys.argv[1]); h.fit_with_landmark(); h.fitted()\n"
            "print('torch' in sys.modules, 'matplotlib' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code, str(grace_jpg)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False"]
