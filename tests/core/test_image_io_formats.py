"""Loading photos of every mode and format: 16-bit PNG and TIFF (BigTIFF too) with their orientation, float and
int32 TIFF, CMYK JPEG with and without an ICC profile, alpha, palette and gray modes, the lossless formats, TIFF
EXIF, and HEIC (with pillow_heif, and the message without it). Moved out of test_image_io.py unchanged.
"""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from super_gui.core import image_io
from super_gui.core.exif import apply_orientation
from super_gui.core.image_io import load_photo, read_image_size
from super_gui.errors import ImageLoadError
from tests.core.conftest import _exif, _load_untouched, _png_chunk, _stored

# Whatever the decoders think of a file, the user gets a Photo or an ImageLoadError, never a stray warning.
pytestmark = pytest.mark.filterwarnings("error")


def _with_exif_chunk(png: bytes, exif: Image.Exif) -> bytes:
    """Insert an eXIf chunk right after IHDR (signature 8 bytes + IHDR chunk 25 bytes)."""
    return png[:33] + _png_chunk(b"eXIf", exif.tobytes()[6:]) + png[33:]


def _pillow_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _cmyk_lut_profile(lab: tuple[float, float, float]) -> bytes:
    """A minimal ICC v2 CMYK printer profile (lut8 A2B0) that maps every ink mix to one Lab colour.

    Pillow cannot create CMYK profiles and nothing may be downloaded, so the test builds one by hand; its
    output is nothing like Pillow's naive CMYK->RGB formula, which shows that the embedded profile was used.
    """

    def s15(x: float) -> bytes:
        return struct.pack(">i", round(x * 65536))

    d50 = s15(0.9642) + s15(1.0) + s15(0.8249)
    text = b"test CMYK\x00"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(8) + bytes(3) + bytes(67)
    wtpt = b"XYZ " + bytes(4) + d50
    ramp = bytes(range(256))
    grid = 2
    clut = bytes([round(lab[0] * 255 / 100), round(lab[1] + 128), round(lab[2] + 128)]) * grid**4
    identity = b"".join(s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    a2b0 = b"mft1" + bytes(4) + bytes([4, 3, grid, 0]) + identity + ramp * 4 + clut + ramp * 3
    tags = [(b"desc", desc), (b"wtpt", wtpt), (b"A2B0", a2b0)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, payload in tags:
        body += bytes(-(offset + len(body)) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(payload))
        body += payload
    header = (
        struct.pack(">I", offset + len(body)) + bytes(4) + struct.pack(">I", 0x02100000)
        + b"prtrCMYKLab " + bytes(12) + b"acsp" + bytes(24) + bytes(4) + d50 + bytes(48)
    )
    return header + struct.pack(">I", len(tags)) + table + body


# --- modes and formats --------------------------------------------------------------------------------------


def test_16bit_gray_png(tmp_path):
    gray = (np.arange(80 * 70, dtype=np.uint32).reshape(70, 80) * 11 % 65536).astype(np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(gray).save(path)
    photo = _load_untouched(path)
    assert photo.rgb.dtype == np.uint16 and photo.rgb.shape == (70, 80, 3) and photo.meta.bit_depth == 16
    assert photo.rgb.max() > 255
    for c in range(3):
        np.testing.assert_array_equal(photo.rgb[..., c], gray)
    np.testing.assert_array_equal(photo.rgb8[..., 0], np.round(gray / 257.0).astype(np.uint8))


def test_16bit_rgb_and_rgba_png(tmp_path):
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 65536, (70, 90, 4), dtype=np.uint16)
    rgb_path, rgba_path = tmp_path / "c16.png", tmp_path / "c16a.png"
    cv2.imwrite(str(rgb_path), rgba[..., 2::-1])  # OpenCV writes BGR(A)
    cv2.imwrite(str(rgba_path), rgba[..., [2, 1, 0, 3]])
    rgb_photo = _load_untouched(rgb_path)
    np.testing.assert_array_equal(rgb_photo.rgb, rgba[..., :3])
    assert rgb_photo.alpha is None and rgb_photo.meta.bit_depth == 16 and rgb_photo.meta.mode == "RGB"
    rgba_photo = _load_untouched(rgba_path)
    np.testing.assert_array_equal(rgba_photo.rgb, rgba[..., :3])
    np.testing.assert_array_equal(rgba_photo.alpha, rgba[..., 3])
    assert rgba_photo.alpha.dtype == np.uint16 and rgba_photo.rgb.flags.c_contiguous


def test_16bit_rgb_png_orientation(tmp_path):
    stored = np.random.default_rng(1).integers(0, 65536, (70, 90, 3), dtype=np.uint16)
    ok, png = cv2.imencode(".png", stored[..., ::-1])
    assert ok
    path = tmp_path / "c16o6.png"
    path.write_bytes(_with_exif_chunk(png.tobytes(), _exif(6)))
    photo = _load_untouched(path)
    np.testing.assert_array_equal(photo.rgb, np.rot90(stored, -1))  # 6: turn 90 degrees clockwise
    assert photo.meta.orientation == 6 and photo.meta.source_size == (90, 70)
    assert read_image_size(path) == (70, 90)


def test_16bit_tiff_gray_and_rgb(tmp_path):
    gray = np.linspace(0, 65535, 70 * 80).astype(np.uint16).reshape(70, 80)
    gray_path = tmp_path / "g16.tif"
    Image.fromarray(gray).save(gray_path)
    photo = _load_untouched(gray_path)
    assert photo.meta.format == "TIFF" and photo.meta.bit_depth == 16
    np.testing.assert_array_equal(photo.rgb[..., 1], gray)
    rgb = np.random.default_rng(2).integers(0, 65536, (70, 80, 3), dtype=np.uint16)
    rgb_path = tmp_path / "c16.tiff"
    cv2.imwrite(str(rgb_path), rgb[..., ::-1])
    photo = _load_untouched(rgb_path)
    assert photo.meta.bit_depth == 16
    np.testing.assert_array_equal(photo.rgb, rgb)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_16bit_rgb_tiff_orientation(tmp_path, orientation):
    tifffile = pytest.importorskip("tifffile")  # comes with scikit-image; Pillow cannot write 16-bit RGB
    stored = np.random.default_rng(orientation).integers(0, 65536, (70, 90, 3), dtype=np.uint16)
    path = tmp_path / f"c16o{orientation}.tif"
    tifffile.imwrite(path, stored, photometric="rgb", extratags=[(0x0112, "H", 1, orientation, True)])
    photo = _load_untouched(path)
    channel = Image.fromarray(stored[..., 0])
    channel.getexif()[0x0112] = orientation
    upright16 = np.asarray(ImageOps.exif_transpose(channel))  # Pillow's own turn, on one channel
    assert photo.meta.bit_depth == 16 and photo.meta.orientation == orientation
    np.testing.assert_array_equal(photo.rgb[..., 0], upright16)
    np.testing.assert_array_equal(photo.rgb, apply_orientation(stored, orientation))
    assert read_image_size(path) == upright16.shape[::-1]


def test_16bit_gray_tiff_orientation(tmp_path):
    stored = np.random.default_rng(3).integers(0, 65536, (70, 90), dtype=np.uint16)
    path = tmp_path / "g16o6.tif"
    Image.fromarray(stored).save(path, exif=_exif(6))
    photo = _load_untouched(path)
    assert photo.meta.bit_depth == 16 and photo.meta.orientation == 6 and photo.meta.source_size == (90, 70)
    np.testing.assert_array_equal(photo.rgb[..., 0], np.rot90(stored, -1))


def test_float_and_int32_tiff(tmp_path):
    values = np.linspace(-50, 400, 70 * 80, dtype=np.float32).reshape(70, 80)
    Image.fromarray(values, mode="F").save(tmp_path / "f.tif")
    photo = load_photo(tmp_path / "f.tif")
    assert photo.rgb.dtype == np.uint8 and photo.meta.mode == "F"
    np.testing.assert_array_equal(photo.rgb[..., 0], np.clip(np.rint(values), 0, 255).astype(np.uint8))
    ints = np.linspace(-10, 100_000, 70 * 80).astype(np.int32).reshape(70, 80)
    Image.fromarray(ints, mode="I").save(tmp_path / "i.tif")
    photo = load_photo(tmp_path / "i.tif")
    assert photo.rgb.dtype == np.uint16 and photo.meta.mode == "I"
    np.testing.assert_array_equal(photo.rgb[..., 2], np.clip(ints, 0, 65535))


def test_cmyk_jpeg_without_profile(tmp_path, upright):
    cmyk = Image.fromarray(upright).convert("CMYK")
    path = tmp_path / "cmyk.jpg"
    cmyk.save(path, quality=95)
    photo = _load_untouched(path)
    assert photo.meta.mode == "CMYK" and photo.meta.icc_profile is None and photo.rgb.dtype == np.uint8
    expected = _pillow_rgb(path)
    np.testing.assert_array_equal(photo.rgb, expected)


def test_cmyk_jpeg_with_profile_goes_through_it(tmp_path):
    icc = _cmyk_lut_profile((54.3, 80.8, 69.9))  # every ink mix -> a saturated red
    path = tmp_path / "cmyk_icc.jpg"
    Image.new("CMYK", (80, 70), (100, 50, 20, 10)).save(path, quality=95, icc_profile=icc)
    photo = _load_untouched(path)
    r, g, b = photo.rgb[35, 40].astype(int)
    naive = _pillow_rgb(path)[35, 40].astype(int)
    assert naive[2] > naive[0]  # Pillow's formula: a light blue
    assert r > g + 60 and r > b + 60  # the profile: red
    assert photo.meta.icc_profile is None  # the pixels are sRGB now


def test_cmyk_with_unusable_profile_falls_back(tmp_path, upright):
    path = tmp_path / "cmyk_bad_icc.jpg"
    Image.fromarray(upright).convert("CMYK").save(path, icc_profile=b"not an icc profile" * 10)
    photo = load_photo(path)
    np.testing.assert_array_equal(photo.rgb, _pillow_rgb(path))


def test_rgba_png_keeps_alpha(tmp_path, upright):
    alpha = np.tile(np.arange(128, dtype=np.uint8) * 2, (96, 1))
    path = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([upright, alpha])).save(path)
    photo = _load_untouched(path)
    np.testing.assert_array_equal(photo.rgb, upright)
    np.testing.assert_array_equal(photo.alpha, alpha)
    assert photo.meta.mode == "RGBA" and photo.alpha.dtype == np.uint8


def test_palette_png_with_and_without_transparency(tmp_path, upright):
    pal = Image.fromarray(upright).quantize(16)
    pal.save(tmp_path / "p.png")
    photo = load_photo(tmp_path / "p.png")
    assert photo.meta.mode == "P" and photo.alpha is None
    np.testing.assert_array_equal(photo.rgb, np.asarray(pal.convert("RGB")))
    idx = np.asarray(pal)[0, 0]
    pal.save(tmp_path / "pt.png", transparency=int(idx))
    photo = load_photo(tmp_path / "pt.png")
    assert photo.alpha is not None
    np.testing.assert_array_equal(photo.alpha == 0, np.asarray(pal) == idx)


@pytest.mark.parametrize("mode", ["L", "LA", "1"])
def test_gray_modes(tmp_path, upright, mode):
    im = Image.fromarray(upright).convert(mode)
    path = tmp_path / f"gray_{mode}.png"
    im.save(path)
    photo = _load_untouched(path)
    assert photo.meta.mode == mode and photo.rgb.dtype == np.uint8
    gray = np.asarray(im.convert("L"))
    for c in range(3):
        np.testing.assert_array_equal(photo.rgb[..., c], gray)
    assert (photo.alpha is not None) == (mode == "LA")


@pytest.mark.parametrize(
    ("suffix", "fmt", "options"),
    [(".webp", "WEBP", {"lossless": True}), (".bmp", "BMP", {}), (".tif", "TIFF", {"compression": "tiff_lzw"})],
)
def test_lossless_formats(tmp_path, upright, suffix, fmt, options):
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(upright).save(path, **options)
    photo = _load_untouched(path)
    assert photo.meta.format == fmt
    np.testing.assert_array_equal(photo.rgb, upright)


def test_tiff_exif_keeps_photo_tags_only(tmp_path, upright):
    path = tmp_path / "tagged.tif"
    _stored(upright, 8).save(path, exif=_exif(8, make="Acme", model="Scanner"))
    photo = _load_untouched(path)
    np.testing.assert_array_equal(photo.rgb, upright)
    assert (photo.meta.make, photo.meta.orientation) == ("Acme", 8)
    back = Image.Exif()
    back.load(photo.meta.exif)
    assert back[0x0112] == 1 and back[0x0110] == "Scanner"
    assert 273 not in back and 256 not in back  # strip offsets and width belong to the TIFF, not the photo


def _heif_can_encode() -> bool:
    try:
        import pillow_heif

        return bool(pillow_heif.libheif_info().get("HEIF"))
    except Exception:
        return False


@pytest.mark.skipif(not _heif_can_encode(), reason="pillow_heif has no HEVC encoder here")
def test_heic_with_orientation(tmp_path, upright):
    import pillow_heif

    pillow_heif.register_heif_opener()
    path = tmp_path / "phone.heic"
    ex = _exif(6, make="Apple", model="iPhone")
    ex.get_ifd(0x8769)[0xA405] = 26
    _stored(upright, 6).save(path, format="HEIF", quality=95, exif=ex.tobytes())
    photo = _load_untouched(path)
    assert photo.meta.format == "HEIF" and photo.meta.orientation == 6
    assert photo.rgb.shape == upright.shape  # upright once, not turned twice
    assert np.abs(photo.rgb.astype(int) - upright).mean() < 6
    assert (photo.meta.make, photo.meta.focal_length_35mm) == ("Apple", 26.0)
    assert photo.meta.source_size == (96, 128)
    assert read_image_size(path) == (128, 96)


def test_heic_without_pillow_heif_says_what_to_install(tmp_path, monkeypatch):
    path = tmp_path / "phone.heic"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(100))
    monkeypatch.setattr(image_io, "_heif_opener_available", lambda: False)
    with pytest.raises(ImageLoadError, match=r"phone\.heic .*install pillow-heif"):
        load_photo(path)


# --- 16-bit BigTIFF (issue 10, item 8) ----------------------------------------------------------------------


@pytest.mark.parametrize("orientation", [1, 6])
@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_bigtiff_stays_16bit(tmp_path, orientation, channels):
    tifffile = pytest.importorskip("tifffile")
    stored = np.random.default_rng(orientation + channels).integers(0, 65536, (70, 90, channels), dtype=np.uint16)
    path = tmp_path / "big.tif"
    extra = {"extrasamples": ["unassalpha"]} if channels == 4 else {}
    tifffile.imwrite(path, stored, bigtiff=True, photometric="rgb", extratags=[(0x0112, "H", 1, orientation, True)], **extra)
    assert path.read_bytes()[2:4] == b"+\x00"  # BigTIFF
    photo = _load_untouched(path)
    assert photo.meta.bit_depth == 16 and photo.rgb.dtype == np.uint16 and photo.meta.orientation == orientation
    np.testing.assert_array_equal(photo.rgb, apply_orientation(stored[..., :3], orientation))
    if channels == 4:
        np.testing.assert_array_equal(photo.alpha, apply_orientation(stored[..., 3], orientation))
    else:
        assert photo.alpha is None
