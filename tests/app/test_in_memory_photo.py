"""A photo that has no file (the editor's camera capture): it decodes from its bytes, edits like any photo, and
its export writes the image and a sidecar that says there is no input file rather than naming one."""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image

from super_gui.core.camera import View
from super_gui.core.image_io import load_photo
from super_gui.app.edit import write_edit, write_mesh
from super_gui.app.pipeline import PortraitRenderer, prepare

NAME = "Selfie 2026-11-25 17-40.jpg"


def _jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def test_bytes_decode_as_the_file_would(tmp_path, grace_rgb):
    data = _jpeg(grace_rgb)
    (tmp_path / "same.jpg").write_bytes(data)
    from_file, in_memory = load_photo(tmp_path / "same.jpg"), load_photo(NAME, data=data)
    assert np.array_equal(from_file.rgb, in_memory.rgb) and from_file.meta == in_memory.meta
    assert in_memory.in_memory and not from_file.in_memory and in_memory.path.name == NAME


def test_export_of_a_photo_without_a_file(tmp_path, grace_rgb, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a file of the photo's name in the working folder is not its input
    (tmp_path / NAME).write_bytes(b"unrelated")
    photo = load_photo(NAME, data=_jpeg(grace_rgb))
    prepared = prepare(photo)
    renderer = PortraitRenderer(prepared)
    try:
        view = View(10.0, 0.0, 85.0)
        image = renderer.render(view, full=True).image
    finally:
        renderer.release()
    out = tmp_path / "out" / NAME  # the photo's own name is a fine name for its export: there is no file to protect
    out.parent.mkdir()
    report = write_edit(prepared, image, view, out, command="editor", input_sha256="ab" * 32)
    sidecar = json.loads((out.parent / f"{NAME}.json").read_text())
    assert out.is_file() and sidecar == {k: v for k, v in report.items() if k != "sidecar"}
    assert sidecar["input"] is None and sidecar["input_name"] == NAME and sidecar["input_sha256"] == "ab" * 32
    assert sidecar["reproduce"] is None and "never saved" in sidecar["reproduce_note"]
    assert sidecar["settings"]["focal_35mm"] == 85.0
    assert (tmp_path / NAME).read_bytes() == b"unrelated"
    # Writing over the working folder's file of that name is allowed like any other file's (asked for).
    write_edit(prepared, image, view, tmp_path / NAME, command="editor", overwrite=True)
    assert (tmp_path / NAME).read_bytes()[:2] == b"\xff\xd8"
    assert write_mesh(prepared, tmp_path / "head.glb").is_file()
