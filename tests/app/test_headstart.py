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


# -- the head start in a child process (main.py PHOTO on Linux) --------------------------------------------
# Each in a fresh interpreter, as main.py begins it: nothing heavy loaded and no other thread at the fork.

_CHILD = """
import os, signal, sys
from super_gui.app.headstart import HeadStart
head = HeadStart(sys.argv[1])
assert head._child is not None, "no child process"
what = sys.argv[2]
if what == "killed":
    os.kill(head._child.pid, signal.SIGKILL)  # (as if it crashed)
if what == "cancel":
    head.cancel()
    head.wait()
    status = head._child.status
    print("killed" if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL else f"status {status}")
    try:
        head.fitted()
    except Exception as e:
        print(type(e).__name__)
    sys.exit()
head.fit_with_landmark()
import numpy as np
from super_gui.app.pipeline import prepare
from super_gui.core.image_io import load_photo
try:
    photo = head.photo()
except Exception as e:
    print("photo:", type(e).__name__, e)
    sys.exit()
alone = load_photo(sys.argv[1])
print("pixels", np.array_equal(photo.rgb, alone.rgb), photo.rgb.flags.writeable, photo.meta == alone.meta)
try:
    faces, prepared = head.fitted()
except Exception as e:
    print("fit:", type(e).__name__, e)
    sys.exit()
print("same photo", faces.photo is photo, prepared.photo is photo, prepared.inversion.photo_rgb is photo.rgb)
mine = prepare(alone)
import dataclasses
def arrays(x, path="", seen=None):  # every array a fit holds, by where it is held
    seen = set() if seen is None else seen
    if id(x) in seen:
        return {}
    seen.add(id(x))
    if isinstance(x, np.ndarray):
        return {path: x}
    out = {}
    if dataclasses.is_dataclass(x):
        for f in dataclasses.fields(x):
            out.update(arrays(getattr(x, f.name), path + "." + f.name, seen))
    elif isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            out.update(arrays(v, f"{path}[{i}]", seen))
    return out
got, want = arrays(prepared), arrays(mine)
print("same fit", sorted(got) == sorted(want), all(np.array_equal(got[k], want[k]) for k in want),
      all((a is photo.rgb) == (k.endswith("photo.rgb") or k.endswith("photo_rgb")) for k, a in got.items()),
      faces.prepared(faces.default) is prepared)
if what == "killed":
    head.wait()
    print("child", "killed" if os.WIFSIGNALED(head._child.status) else "done")
"""


def _in_child(photo, what: str = "fit") -> list[str]:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(photo), what], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the head start forks a child on Linux only")
def test_a_child_process_gives_what_the_jobs_would(grace_jpg):
    assert _in_child(grace_jpg) == ["pixels True False True", "same photo True True True", "same fit True True True True"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the head start forks a child on Linux only")
def test_a_child_that_dies_leaves_the_work_to_this_process(grace_jpg):
    assert _in_child(grace_jpg, "killed") == ["pixels True False True", "same photo True True True",
                                              "same fit True True True True", "child killed"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the head start forks a child on Linux only")
def test_a_cancelled_child_is_ended(grace_jpg):
    assert _in_child(grace_jpg, "cancel") == ["killed", "Cancelled"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the head start forks a child on Linux only")
def test_a_childs_refusals_are_the_same_sentences(tmp_path):
    from PIL import Image

    from super_gui.app.faces import find_faces
    from super_gui.errors import FaceAnalysisError

    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg at all")
    with pytest.raises(ImageLoadError) as direct:
        load_photo(bad)
    assert _in_child(bad) == [f"photo: ImageLoadError {direct.value}"]
    wall = tmp_path / "wall.jpg"  # a photo without a face
    Image.fromarray(np.tile(np.linspace(40, 220, 640, dtype=np.uint8)[None, :, None], (480, 1, 3))).save(wall)
    with pytest.raises(FaceAnalysisError) as direct:
        find_faces(load_photo(wall))
    assert _in_child(wall) == ["pixels True False True", f"fit: FaceAnalysisError {direct.value}"]
