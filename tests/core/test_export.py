"""Exporting: round trips per format and bit depth, metadata kept, refusals, and no half-written files."""

from __future__ import annotations

import dataclasses
import json
import os
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from super_gui import __version__
from super_gui.core import export as export_mod
from super_gui.core.export import (
    EXPORT_SUFFIXES,
    check_output_path,
    export_image,
    sidecar_path,
    write_sidecar,
)
from super_gui.core.image_io import load_photo
from super_gui.errors import UserInputError

pytestmark = pytest.mark.filterwarnings("error")

W, H = 96, 72  # not square, so a missed transpose changes the shape; image_io refuses sides under 64
SOFTWARE = f"super_gui {__version__}"
ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _rgb8(seed: int = 0) -> np.ndarray:
    """(H, W, 3) uint8: a gradient plus noise (smooth enough for JPEG, varied enough to catch swaps)."""
    y, x = np.mgrid[0:H, 0:W]
    base = np.stack([x * 255 // (W - 1), y * 255 // (H - 1), (x + y) * 255 // (W + H - 2)], axis=-1)
    noise = np.random.default_rng(seed).integers(-8, 9, (H, W, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _rgb16(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 65536, (H, W, 3), dtype=np.uint16)


def _exif(orientation: int = 1) -> Image.Exif:
    ex = Image.Exif()
    ex[0x010F], ex[0x0110], ex[0x0112] = "Acme", "Selfie Phone 3", orientation
    ex.get_ifd(0x8769)[0xA405] = 26  # FocalLengthIn35mmFilm
    return ex


@pytest.fixture
def jpg_photo(tmp_path):
    """A JPEG with Make/Model, a focal length and an ICC profile, loaded."""
    path = tmp_path / "in.jpg"
    # 4:4:4: an export keeps the original's chroma subsampling, and the round trips compare noisy pixels
    Image.fromarray(_rgb8()).save(path, quality=95, subsampling=0, exif=_exif(), icc_profile=ICC)
    return load_photo(path)


def _png16_with_icc(path: Path, pixels: np.ndarray) -> Path:
    """A 16-bit PNG (OpenCV, BGR order) with an iCCP chunk put in by hand."""
    ok, buf = cv2.imencode(".png", pixels[:, :, [2, 1, 0, 3][: pixels.shape[2]]])
    data = buf.tobytes()
    iccp = export_mod._png_chunk(b"iCCP", b"sRGB\x00\x00" + zlib.compress(ICC))
    path.write_bytes(data[:33] + iccp + data[33:])
    return path


def _exif_of(path: Path) -> Image.Exif:
    with Image.open(path) as im:
        im.load()
        return im.getexif()


# --- round trips --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".tif", ".tiff", ".jpg", ".jpeg"])
def test_round_trip_8bit(tmp_path, jpg_photo, suffix):
    edited = _rgb8(seed=1)
    out = export_image(jpg_photo, edited, tmp_path / f"out{suffix}")
    assert out == (tmp_path / f"out{suffix}").resolve() and out.is_file()
    back = load_photo(out)
    assert back.meta.format == EXPORT_SUFFIXES[suffix] and back.rgb.shape == (H, W, 3) and back.rgb.dtype == np.uint8
    if suffix in (".jpg", ".jpeg"):
        assert np.abs(back.rgb.astype(int) - edited).mean() < 3
    else:
        np.testing.assert_array_equal(back.rgb, edited)
    assert back.meta.make == "Acme" and back.meta.model == "Selfie Phone 3"
    assert back.meta.focal_length_35mm == 26  # the Exif sub-IFD survives in JPEG, PNG and 8-bit TIFF
    assert back.meta.icc_profile == ICC
    assert back.meta.orientation == 1
    assert _exif_of(out)[0x0131] == SOFTWARE


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_round_trip_16bit_keeps_values_and_icc(tmp_path, suffix):
    src = _rgb16()
    photo = load_photo(_png16_with_icc(tmp_path / "in16.png", src))
    assert photo.meta.bit_depth == 16 and photo.meta.icc_profile == ICC
    edited = _rgb16(seed=2)
    out = export_image(photo, edited, tmp_path / f"out{suffix}")
    back = load_photo(out)
    assert back.meta.bit_depth == 16 and back.rgb.dtype == np.uint16
    np.testing.assert_array_equal(back.rgb, edited)
    assert back.rgb.max() > 255
    assert back.meta.icc_profile == ICC
    if suffix == ".png":  # Pillow reads the hand-made chunks: correct CRCs, eXIf with Software
        with Image.open(out) as im:
            assert im.info["icc_profile"] == ICC
        assert _exif_of(out)[0x0131] == SOFTWARE
    else:
        with tifffile.TiffFile(out) as tif:
            assert tif.pages[0].tags["Software"].value == SOFTWARE


def test_16bit_to_jpeg_is_rounded_to_8bit(tmp_path):
    photo = load_photo(_png16_with_icc(tmp_path / "in16.png", _rgb16()))
    edited = (_rgb8().astype(np.uint16) * 257)
    back = load_photo(export_image(photo, edited, tmp_path / "out.jpg", jpeg_quality=100))
    assert np.abs(back.rgb.astype(int) - _rgb8()).mean() < 2
    assert _exif_of(back.path)[0x0131] == SOFTWARE  # the photo had no EXIF: a minimal one is written


def test_orientation_6_exports_upright_pixels_and_orientation_1(tmp_path):
    upright = _rgb8()
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # what a camera stores for 6
    stored.save(tmp_path / "rot.jpg", quality=95, exif=_exif(orientation=6))
    photo = load_photo(tmp_path / "rot.jpg")
    assert photo.meta.orientation == 6 and photo.rgb.shape == (H, W, 3)
    for suffix in (".png", ".jpg", ".tif"):
        out = export_image(photo, photo.rgb, tmp_path / f"up{suffix}")
        exif = _exif_of(out)
        assert exif.get(0x0112, 1) == 1 and exif[0x010F] == "Acme" and exif[0x0131] == SOFTWARE
        back = load_photo(out)
        assert back.meta.orientation == 1 and back.rgb.shape == (H, W, 3)
        if suffix != ".jpg":
            np.testing.assert_array_equal(back.rgb, photo.rgb)


def test_orientation_is_forced_to_1_even_if_metadata_says_otherwise(tmp_path, jpg_photo):
    meta = dataclasses.replace(jpg_photo.meta, exif=_exif(orientation=6).tobytes())
    photo = dataclasses.replace(jpg_photo, meta=meta)
    for suffix in (".jpg", ".png", ".tif"):
        assert _exif_of(export_image(photo, _rgb8(), tmp_path / f"out{suffix}"))[0x0112] == 1


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_rgba_keeps_alpha_exactly(tmp_path, suffix):
    rgba = np.dstack([_rgb8(), np.random.default_rng(3).integers(0, 256, (H, W), dtype=np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "in.png")
    photo = load_photo(tmp_path / "in.png")
    out = export_image(photo, _rgb8(seed=4), tmp_path / f"out{suffix}")
    back = load_photo(out)
    np.testing.assert_array_equal(back.alpha, rgba[:, :, 3])
    np.testing.assert_array_equal(back.rgb, _rgb8(seed=4))
    jpg = load_photo(export_image(photo, _rgb8(seed=4), tmp_path / "out.jpg"))
    assert jpg.alpha is None
    back16 = load_photo(export_image(photo, _rgb16(), tmp_path / f"out16{suffix}"))  # a 16-bit result
    np.testing.assert_array_equal(back16.alpha, rgba[:, :, 3].astype(np.uint16) * 257)


def test_rgba16_png_keeps_alpha_and_alpha_follows_image_depth(tmp_path):
    src = np.random.default_rng(5).integers(0, 65536, (H, W, 4), dtype=np.uint16)
    photo = load_photo(_png16_with_icc(tmp_path / "in.png", src))
    back = load_photo(export_image(photo, _rgb16(seed=6), tmp_path / "out.png"))
    np.testing.assert_array_equal(back.alpha, src[:, :, 3])
    np.testing.assert_array_equal(back.rgb, _rgb16(seed=6))
    back8 = load_photo(export_image(photo, _rgb8(), tmp_path / "out8.png"))  # an 8-bit result of a 16-bit photo
    assert back8.alpha.dtype == np.uint8
    np.testing.assert_array_equal(back8.alpha, ((src[:, :, 3].astype(np.uint32) * 255 + 32767) // 65535))


def test_jpeg_quality_and_subsampling(tmp_path, jpg_photo):
    # (a photo that was a JPEG keeps its own subsampling: tests/core/test_jpeg_like_original.py)
    png_photo = load_photo(_png16_with_icc(tmp_path / "in.png", _rgb16()))
    low = export_image(png_photo, _rgb8(), tmp_path / "low.jpg", jpeg_quality=60)
    high = export_image(png_photo, _rgb8(), tmp_path / "high.jpg", jpeg_quality=95)
    from PIL import JpegImagePlugin

    with Image.open(low) as a, Image.open(high) as b:
        assert JpegImagePlugin.get_sampling(a) == 2 and JpegImagePlugin.get_sampling(b) == 0
    assert low.stat().st_size < high.stat().st_size
    for bad in (0, 101, 9.5, True):
        with pytest.raises(UserInputError, match="quality"):
            export_image(jpg_photo, _rgb8(), tmp_path / "bad.jpg", jpeg_quality=bad)
    assert not (tmp_path / "bad.jpg").exists()


def test_image_must_match_photo(tmp_path, jpg_photo):
    for bad in (_rgb8()[:-1], _rgb8().astype(np.float32), _rgb8()[:, :, :2]):
        with pytest.raises(ValueError) as info:
            export_image(jpg_photo, bad, tmp_path / "out.png")
        assert not isinstance(info.value, UserInputError)


# --- refusals -----------------------------------------------------------------------------------------------


def test_refuses_to_overwrite_input_unless_asked(tmp_path, jpg_photo):
    before = jpg_photo.path.read_bytes()
    with pytest.raises(UserInputError, match=r"^Refusing to overwrite the input photo in\.jpg; .*--overwrite\.$"):
        export_image(jpg_photo, _rgb8(seed=1), jpg_photo.path)
    os.link(jpg_photo.path, tmp_path / "hard.jpg")  # the same file under another name
    with pytest.raises(UserInputError, match="Refusing"):
        check_output_path(jpg_photo.path, tmp_path / "hard.jpg")
    with pytest.raises(UserInputError, match="Refusing"):
        check_output_path(jpg_photo.path, tmp_path / "sub" / ".." / "in.jpg")
    assert jpg_photo.path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["hard.jpg", "in.jpg"]
    export_image(jpg_photo, _rgb8(seed=1), jpg_photo.path, overwrite=True)
    assert jpg_photo.path.read_bytes() != before
    assert np.abs(load_photo(jpg_photo.path).rgb.astype(int) - _rgb8(seed=1)).mean() < 3


def test_refuses_unsupported_suffix_and_missing_folder(tmp_path, jpg_photo):
    for name in ("out.webp", "out", "out.heic"):
        with pytest.raises(UserInputError, match=r"use \.jpg, \.jpeg, \.png, \.tif or \.tiff\.$"):
            export_image(jpg_photo, _rgb8(), tmp_path / name)
    with pytest.raises(UserInputError, match="nowhere"):
        export_image(jpg_photo, _rgb8(), tmp_path / "nowhere" / "out.png")
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(UserInputError, match="folder"):
        check_output_path(jpg_photo.path, tmp_path / "dir.png")
    assert check_output_path(jpg_photo.path, tmp_path / "OUT.JPG") == (tmp_path / "OUT.JPG").resolve()
    assert sorted(os.listdir(tmp_path)) == ["dir.png", "in.jpg"]


# --- atomic writes ------------------------------------------------------------------------------------------


def _fail_after_writing(*args, **kwargs):
    target = next(a for a in args if isinstance(a, (str, os.PathLike)))
    Path(target).write_bytes(b"half an image")
    raise RuntimeError("encoder crashed")


@pytest.mark.parametrize(
    ("suffix", "dtype", "patch"),
    [(".jpg", np.uint8, "pil"), (".png", np.uint8, "png"), (".tif", np.uint8, "pil"),
     (".png", np.uint16, "png"), (".tif", np.uint16, "tifffile")],
)
def test_failed_encoding_leaves_nothing(tmp_path, monkeypatch, suffix, dtype, patch):
    photo = load_photo(_png16_with_icc(tmp_path / "in.png", _rgb16()))
    if patch == "pil":
        monkeypatch.setattr(Image.Image, "save", lambda self, fp, *a, **k: _fail_after_writing(fp))
    elif patch == "png":
        monkeypatch.setattr(export_mod, "_png_chunk", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("encoder crashed")))
    else:
        monkeypatch.setattr(tifffile, "imwrite", _fail_after_writing)
    image = _rgb8() if dtype == np.uint8 else _rgb16()
    existing = tmp_path / f"old{suffix}"
    existing.write_bytes(b"previous export")
    for out in (tmp_path / f"new{suffix}", existing):
        with pytest.raises(RuntimeError, match="encoder crashed"):
            export_image(photo, image, out)
    assert sorted(os.listdir(tmp_path)) == sorted(["in.png", f"old{suffix}"])  # no new file, no .part- file
    assert existing.read_bytes() == b"previous export"


def test_disk_errors_are_user_errors(tmp_path, monkeypatch, jpg_photo):
    def full(self, fp, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full)
    with pytest.raises(UserInputError, match=r"^Cannot write out\.jpg: no space left on device\.$"):
        export_image(jpg_photo, _rgb8(), tmp_path / "out.jpg")
    assert sorted(os.listdir(tmp_path)) == ["in.jpg"]


def test_written_file_has_usual_permissions(tmp_path, jpg_photo):
    out = export_image(jpg_photo, _rgb8(), tmp_path / "out.png")
    assert out.stat().st_mode & 0o777 == 0o666 & ~export_mod._umask()


def test_bad_exif_tag_falls_back_to_main_ifd(tmp_path, monkeypatch, jpg_photo):
    calls = []
    real_save = Image.Image.save

    def picky(self, fp, *a, **k):
        calls.append(k.get("exif"))
        if len(calls) == 1:
            raise ValueError("cannot write that tag")
        return real_save(self, fp, *a, **k)

    monkeypatch.setattr(Image.Image, "save", picky)
    back = load_photo(export_image(jpg_photo, _rgb8(), tmp_path / "out.tif"))
    assert len(calls) == 2 and back.meta.make == "Acme" and back.meta.focal_length_35mm is None


# --- sidecar ------------------------------------------------------------------------------------------------


def test_sidecar_next_to_output(tmp_path):
    out = tmp_path / "portrait.jpg"
    assert sidecar_path(out) == tmp_path / "portrait.jpg.json"
    report = {"yaw_deg": np.float32(12.5), "size": (W, H), "mask": np.arange(3), "input": tmp_path / "in.jpg",
              "name": "Zoë"}
    path = write_sidecar(out, report)
    assert path == tmp_path / "portrait.jpg.json"
    assert json.loads(path.read_text("utf-8")) == {
        "yaw_deg": 12.5, "size": [W, H], "mask": [0, 1, 2], "input": str(tmp_path / "in.jpg"), "name": "Zoë"
    }
    with pytest.raises(TypeError):
        write_sidecar(tmp_path / "other.jpg", {"bad": object()})
    assert sorted(os.listdir(tmp_path)) == ["portrait.jpg.json"]
