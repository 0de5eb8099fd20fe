"""Loading photos: formats, modes, EXIF orientation and metadata, and the refusals of broken files."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps, TiffImagePlugin
from skimage import data as skdata

from super_gui.core import image_io
from super_gui.core.decoder_checks import png_short_data
from super_gui.core.exif import apply_orientation
from super_gui.core.image_io import MAX_PIXELS, MIN_SIDE, SUPPORTED_SUFFIXES, load_photo, read_image_size
from super_gui.errors import ImageLoadError, UserInputError

# Whatever the decoders think of a file, the user gets a Photo or an ImageLoadError, never a stray warning.
pytestmark = pytest.mark.filterwarnings("error")

T = Image.Transpose
# The stored pixels for each EXIF orientation: what a camera writes so that exif_transpose gives back upright.
STORE_OPS = {
    1: None,
    2: T.FLIP_LEFT_RIGHT,
    3: T.ROTATE_180,
    4: T.FLIP_TOP_BOTTOM,
    5: T.TRANSPOSE,
    6: T.ROTATE_90,  # displayed = stored rotated 90 deg clockwise (ROTATE_270)
    7: T.TRANSVERSE,
    8: T.ROTATE_270,
}


@pytest.fixture(scope="module")
def upright() -> np.ndarray:
    """A real photo, (96, 128, 3) uint8: not square, so a missed transpose changes the shape."""
    return np.asarray(Image.fromarray(skdata.astronaut()[:384]).resize((128, 96), Image.LANCZOS))


def _stored(upright: np.ndarray, orientation: int) -> Image.Image:
    im = Image.fromarray(upright)
    op = STORE_OPS[orientation]
    return im if op is None else im.transpose(op)


def _exif(orientation: int | None = None, **tags) -> Image.Exif:
    ex = Image.Exif()
    if orientation is not None:
        ex[0x0112] = orientation
    for tag, value in tags.items():
        ex[{"make": 0x010F, "model": 0x0110}[tag]] = value
    return ex


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose IHDR claims width x height but whose IDAT holds only a few rows (tiny file, instant to write)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (3 * width + 1) * 2)
    chunks = _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks)
    return path


def _with_exif_chunk(png: bytes, exif: Image.Exif) -> bytes:
    """Insert an eXIf chunk right after IHDR (signature 8 bytes + IHDR chunk 25 bytes)."""
    return png[:33] + _png_chunk(b"eXIf", exif.tobytes()[6:]) + png[33:]


def _pillow_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def _load_untouched(path: Path) -> image_io.Photo:
    """load_photo, asserting the file and its folder are exactly as before."""
    before, listing = _fingerprint(path), sorted(os.listdir(path.parent))
    try:
        return load_photo(path)
    finally:
        assert _fingerprint(path) == before
        assert sorted(os.listdir(path.parent)) == listing


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


# --- API basics ---------------------------------------------------------------------------------------------


def test_errors_are_user_input_errors_and_constants():
    assert issubclass(ImageLoadError, UserInputError)
    assert (MAX_PIXELS, MIN_SIDE) == (100_000_000, 64)
    assert set(SUPPORTED_SUFFIXES) == {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".heic", ".heif"}


def test_rgb_jpeg_basics(tmp_path, upright):
    path = tmp_path / "photo.jpg"
    Image.fromarray(upright).save(path, quality=95)
    photo = _load_untouched(path)
    assert photo.path == path
    assert photo.rgb.shape == (96, 128, 3) and photo.rgb.dtype == np.uint8 and photo.rgb.flags.c_contiguous
    assert not photo.rgb.flags.writeable
    assert (photo.width, photo.height, photo.megapixels) == (128, 96, pytest.approx(128 * 96 / 1e6))
    assert photo.alpha is None and photo.rgb8 is photo.rgb
    assert np.abs(photo.rgb.astype(int) - upright).mean() < 3
    m = photo.meta
    assert (m.format, m.mode, m.orientation, m.bit_depth, m.source_size) == ("JPEG", "RGB", 1, 8, (128, 96))
    assert m.exif is None and m.icc_profile is None and m.make is None and m.focal_length_mm is None
    assert read_image_size(path) == (128, 96)


# --- orientation --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_png_exact(tmp_path, upright, orientation):
    stored = _stored(upright, orientation)
    path = tmp_path / f"o{orientation}.png"
    stored.save(path, exif=_exif(orientation, make="Acme"))
    photo = _load_untouched(path)
    np.testing.assert_array_equal(photo.rgb, upright)
    # The same as Pillow's own reading of the tag.
    with Image.open(path) as im:
        np.testing.assert_array_equal(photo.rgb, np.asarray(ImageOps.exif_transpose(im)))
    assert photo.meta.orientation == orientation
    assert photo.meta.source_size == stored.size
    assert read_image_size(path) == (128, 96)
    exported = Image.Exif()
    exported.load(photo.meta.exif)
    assert exported[0x0112] == 1 and exported[0x010F] == "Acme"


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_jpeg(tmp_path, upright, orientation):
    path = tmp_path / f"o{orientation}.jpg"
    _stored(upright, orientation).save(path, quality=95, exif=_exif(orientation))
    photo = _load_untouched(path)
    assert photo.rgb.shape == upright.shape
    assert np.abs(photo.rgb.astype(int) - upright).mean() < 3  # JPEG loss only; a wrong turn is ~40
    assert photo.meta.orientation == orientation
    assert read_image_size(path) == (128, 96)


def test_invalid_orientation_is_ignored(tmp_path, upright):
    path = tmp_path / "odd.png"
    Image.fromarray(upright).save(path, exif=_exif(9))
    photo = load_photo(path)
    assert photo.meta.orientation == 1
    np.testing.assert_array_equal(photo.rgb, upright)


# --- metadata -----------------------------------------------------------------------------------------------


def test_exif_focal_lengths_make_model(tmp_path, upright):
    ex = _exif(6, make="Acme\x00", model=" Phone 12 ")
    sub = ex.get_ifd(0x8769)
    sub[0x920A] = TiffImagePlugin.IFDRational(425, 100)
    sub[0xA405] = 26
    path = tmp_path / "meta.jpg"
    _stored(upright, 6).save(path, quality=90, exif=ex)
    m = _load_untouched(path).meta
    assert m.focal_length_mm == pytest.approx(4.25)
    assert m.focal_length_35mm == pytest.approx(26.0)
    assert (m.make, m.model, m.orientation) == ("Acme", "Phone 12", 6)
    back = Image.Exif()
    back.load(m.exif)
    assert back[0x0112] == 1 and back.get_ifd(0x8769)[0xA405] == 26


def test_zero_focal_lengths_are_none(tmp_path, upright):
    ex = _exif()
    sub = ex.get_ifd(0x8769)
    sub[0x920A] = TiffImagePlugin.IFDRational(0, 1)
    sub[0xA405] = 0
    path = tmp_path / "zero.jpg"
    Image.fromarray(upright).save(path, exif=ex)
    m = load_photo(path).meta
    assert m.focal_length_mm is None and m.focal_length_35mm is None


def test_icc_profile_kept_not_applied(tmp_path, upright):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "icc.png"
    Image.fromarray(upright).save(path, icc_profile=icc)
    photo = load_photo(path)
    assert photo.meta.icc_profile == icc
    np.testing.assert_array_equal(photo.rgb, upright)


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


# --- refusals -----------------------------------------------------------------------------------------------


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def _save(path: Path, size: tuple[int, int]) -> Path:
    Image.new("RGB", size, (200, 120, 90)).save(path)
    return path


def _half_jpeg(path: Path) -> Path:
    buf = io.BytesIO()
    Image.fromarray(skdata.astronaut()).save(buf, format="JPEG", quality=90)
    return _write(path, buf.getvalue()[: len(buf.getvalue()) // 2])


# case: (make the file in a folder, the message it must get)
BROKEN = {
    "empty": (lambda d: _write(d / "photo.jpg", b""), r"^photo\.jpg is empty \(0 bytes\)\.$"),
    "truncated": (lambda d: _half_jpeg(d / "half.jpg"), r"^half\.jpg is truncated or corrupt"),
    "text": (
        lambda d: _write(d / "notes.jpg", b"shopping list\n"),
        r"^notes\.jpg is not an image super_gui can read \(supported: JPEG, PNG, TIFF, WebP, BMP, HEIC/HEIF\)\.$",
    ),
    "tiny": (
        lambda d: _save(d / "tiny.png", (1, 1)),
        r"^tiny\.png is 1x1 pixels; a photo must be at least 64 pixels on each side\.$",
    ),
    "thin": (lambda d: _save(d / "thin.png", (500, 63)), r"^thin\.png is 500x63 pixels; .* at least 64"),
    "bomb_400mp": (
        lambda d: _png_header_only(d / "big.png", 20000, 20000),
        r"^big\.png is 400 megapixels; super_gui refuses images over 100 megapixels\.$",
    ),
    "over_limit_120mp": (
        lambda d: _png_header_only(d / "wide.png", 12000, 10000),
        r"^wide\.png is 12000x10000 pixels \(120 megapixels\); super_gui refuses images over 100 megapixels\.$",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_files_are_refused_and_left_untouched(tmp_path, case):
    make, pattern = BROKEN[case]
    path = make(tmp_path)
    with pytest.raises(ImageLoadError, match=pattern) as info:
        _load_untouched(path)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message and message.endswith(".")
    assert info.value.__cause__ is None
    if case != "truncated":  # the header of a truncated file is fine: its size can still be read
        before = _fingerprint(path)
        with pytest.raises(ImageLoadError, match=pattern):
            read_image_size(path)
        assert _fingerprint(path) == before


def test_tiff_cut_before_its_directory_is_corrupt_not_foreign(tmp_path):
    ok, tiff = cv2.imencode(".tiff", np.zeros((70, 80, 3), np.uint16))  # OpenCV writes the IFD after the pixels
    assert ok
    path = _write(tmp_path / "cut.tif", tiff.tobytes()[: len(tiff) // 2])
    for fn in (load_photo, read_image_size):
        with pytest.raises(ImageLoadError, match=r"^cut\.tif is truncated or corrupt\.$"):
            fn(path)


def test_other_formats_are_refused(tmp_path, upright):
    Image.fromarray(upright).save(tmp_path / "clip.gif")
    with pytest.raises(ImageLoadError, match=r"^clip\.gif is not an image super_gui can read"):
        load_photo(tmp_path / "clip.gif")
    video = _write(tmp_path / "clip.heic", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(200))
    with pytest.raises(ImageLoadError, match=r"^clip\.heic is not an image super_gui can read"):
        load_photo(video)


def test_corrupt_exif_still_loads(tmp_path, upright):
    path = tmp_path / "bad_exif.jpg"
    Image.fromarray(upright).save(path, exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff\x00")
    photo = _load_untouched(path)  # Pillow warns about the EXIF; the module keeps that quiet
    assert photo.meta.orientation == 1 and photo.rgb.shape == (96, 128, 3)


def test_multi_picture_jpeg_is_reported_as_jpeg(tmp_path, upright):
    path = tmp_path / "phone.jpg"
    second = Image.fromarray(upright[::-1])
    Image.fromarray(upright).save(path, "MPO", quality=95, save_all=True, append_images=[second])
    with Image.open(path) as im:
        assert im.format == "MPO"
    photo = load_photo(path)
    assert photo.meta.format == "JPEG"
    assert np.abs(photo.rgb.astype(int) - upright).mean() < 4  # the first picture


def test_truncated_png_is_refused(tmp_path, upright):
    buf = io.BytesIO()
    Image.fromarray(upright).save(buf, format="PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) * 2 // 3])
    with pytest.raises(ImageLoadError, match=r"^cut\.png is truncated or corrupt"):
        _load_untouched(path)
    assert read_image_size(path) == (128, 96)


def test_missing_folder_and_unreadable(tmp_path, monkeypatch):
    for fn in (load_photo, read_image_size):
        with pytest.raises(ImageLoadError, match=r"^missing\.jpg does not exist\.$"):
            fn(tmp_path / "missing.jpg")
        (tmp_path / "album.jpg").mkdir(exist_ok=True)
        with pytest.raises(ImageLoadError, match=r"^album\.jpg is a folder, not an image file\.$"):
            fn(tmp_path / "album.jpg")
    locked = tmp_path / "locked.jpg"
    locked.write_bytes(b"\xff\xd8\xff")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(locked))

    # Tests may run as root, where chmod 000 does not stop reading: make open() refuse instead.
    monkeypatch.setattr(image_io, "open", refuse, raising=False)
    for fn in (load_photo, read_image_size):
        with pytest.raises(ImageLoadError, match=r"^locked\.jpg cannot be read: permission denied\.$"):
            fn(locked)


def test_bomb_header_is_refused_quickly(tmp_path):
    import time

    path = _png_header_only(tmp_path / "big.png", 20000, 20000)
    start = time.perf_counter()
    with pytest.raises(ImageLoadError, match="megapixels"):
        load_photo(path)
    assert time.perf_counter() - start < 0.5  # refused from the header, nothing decoded


# --- only regular files, bounded reads (issue 10, item 6) ---------------------------------------------------


def _finishes(fn, seconds: float = 5.0) -> tuple[bool, BaseException | None]:
    """Run ``fn`` in a daemon thread; (finished in time, what it raised)."""
    import threading

    outcome: list[BaseException | None] = []

    def run():
        try:
            fn()
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            outcome.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return (not thread.is_alive(), outcome[0] if outcome else None)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_named_pipe_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    try:
        for fn in (load_photo, read_image_size):
            done, error = _finishes(lambda: fn(fifo))
            assert done, f"{fn.__name__} hangs on a named pipe"
            assert isinstance(error, ImageLoadError)
            assert str(error) == "pipe.jpg is not a regular file (it is a named pipe); super_gui reads photo files only."
    finally:
        with contextlib.suppress(OSError):  # a hung reader would still wait: give it an end of file
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_device_behind_a_symlink_is_refused(tmp_path):
    link = tmp_path / "zero.jpg"
    link.symlink_to("/dev/zero")
    for fn in (load_photo, read_image_size):
        done, error = _finishes(lambda: fn(link), 2.0)
        assert done and isinstance(error, ImageLoadError)
        assert str(error) == "zero.jpg is not a regular file (it is a device); super_gui reads photo files only."


def test_symlink_loop_is_refused(tmp_path):
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)
    for fn in (load_photo, read_image_size):
        with pytest.raises(ImageLoadError, match=r"^loop\.jpg cannot be read: too many levels of symbolic links\.$"):
            fn(loop)


def test_file_over_the_size_cap_is_refused_before_reading(tmp_path):
    import time

    path = tmp_path / "huge.jpg"
    with open(path, "wb") as f:  # sparse: nothing is really written
        f.write(b"\xff\xd8\xff\xe0")
        f.truncate(1_000_000_000)
    assert image_io.MAX_FILE_BYTES >= MAX_PIXELS * 8  # room for 16-bit RGBA stored uncompressed
    start = time.perf_counter()
    for fn in (load_photo, read_image_size):
        with pytest.raises(ImageLoadError, match=r"^huge\.jpg is 1 GB; super_gui refuses files over 900 MB\.$"):
            fn(path)
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize("junk", [b"\x00", b"\xff", b"\x00\xff"])
def test_junk_after_the_jpeg_start_marker_is_refused_quickly(tmp_path, junk):
    import time

    path = _write(tmp_path / "junk.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
                  + junk * (24_000_000 // len(junk)))
    start = time.perf_counter()
    for fn in (load_photo, read_image_size):
        with pytest.raises(ImageLoadError, match=r"^junk\.jpg is truncated or corrupt"):
            fn(path)
    assert time.perf_counter() - start < 1.0  # Pillow alone scans such junk at ~80 ms per MB


def test_a_few_stray_bytes_between_jpeg_segments_still_load(tmp_path, upright):
    buf = io.BytesIO()
    Image.fromarray(upright).save(buf, format="JPEG", quality=90)
    data = buf.getvalue()
    after_app0 = 4 + struct.unpack(">H", data[4:6])[0]
    path = _write(tmp_path / "stray.jpg", data[:after_app0] + b"\x00" * 5 + data[after_app0:])  # so does libjpeg
    assert load_photo(path).rgb.shape == (96, 128, 3)


# --- decoder warnings: corrupt data that still decodes --------------------------------------------------


def _jpeg_bytes(rgb: np.ndarray, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", **options)
    return buf.getvalue()


def _corrupt_middle(data: bytes) -> bytes:
    """Random bytes over 200 bytes in the middle of the entropy-coded data (libjpeg decodes on, garbled)."""
    noise = np.random.default_rng(0).integers(0, 256, 200, dtype=np.uint8).tobytes()
    mid = len(data) // 2
    return data[:mid] + noise + data[mid + 200 :]


def test_clean_photo_has_no_warnings(tmp_path, upright, capfd):
    photo = load_photo(_write(tmp_path / "clean.jpg", _jpeg_bytes(upright, quality=90)))
    assert photo.warnings == ()
    assert load_photo(_save(tmp_path / "clean.png", (80, 80))).warnings == ()
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("damage", ["noise", "cut_with_end_marker"])
def test_corrupt_jpeg_data_is_a_warning(tmp_path, damage, capfd):
    data = _jpeg_bytes(skdata.astronaut(), quality=90)
    bad = _corrupt_middle(data) if damage == "noise" else data[: len(data) // 2] + b"\xff\xd9"
    path = _write(tmp_path / "damaged.jpg", bad)
    photo = _load_untouched(path)  # still a photo: the decoder got through, with garbage
    assert photo.rgb.shape == (512, 512, 3)
    assert len(photo.warnings) == 1
    (warning,) = photo.warnings
    assert warning.startswith("damaged.jpg has corrupt image data (the JPEG decoder says: ")
    assert warning.endswith("); parts of the picture may be garbled.") and "\n" not in warning
    assert capfd.readouterr().err == ""  # the decoder's own message does not leak to stderr


def test_warning_check_keeps_other_stderr_output(tmp_path, capfd):
    import sys

    print("before", file=sys.stderr)
    path = _write(tmp_path / "damaged.jpg", _corrupt_middle(_jpeg_bytes(skdata.astronaut(), quality=90)))
    assert load_photo(path).warnings
    print("after", file=sys.stderr)
    assert capfd.readouterr().err == "before\nafter\n"


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


# --- the original's JPEG encoding (issue 10, item 12) -------------------------------------------------------


@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:2", "4:2:0"])
def test_jpeg_subsampling_is_reported(tmp_path, upright, subsampling):
    path = _write(tmp_path / "s.jpg", _jpeg_bytes(upright, quality=90, subsampling=subsampling))
    assert load_photo(path).meta.jpeg_subsampling == subsampling


def test_jpeg_quality_is_estimated_from_the_tables(tmp_path, upright):
    misses = {}
    for quality in list(range(50, 99)) + [10, 25, 30, 99, 100]:
        path = _write(tmp_path / "q.jpg", _jpeg_bytes(upright, quality=quality))
        estimate = load_photo(path).meta.jpeg_quality
        if estimate is None or abs(estimate - quality) > (1 if quality >= 50 else 3):
            misses[quality] = estimate
    assert misses == {}


def test_jpeg_quality_of_grayscale_and_custom_tables(tmp_path, upright):
    gray = Image.fromarray(upright).convert("L")
    gray.save(tmp_path / "g.jpg", quality=80)
    meta = load_photo(tmp_path / "g.jpg").meta
    assert meta.jpeg_subsampling is None and abs(meta.jpeg_quality - 80) <= 1
    flat = [3] * 64  # not an IJG table: still a quality, the closest one
    Image.fromarray(upright).save(tmp_path / "flat.jpg", qtables=[flat, flat])
    assert 1 <= load_photo(tmp_path / "flat.jpg").meta.jpeg_quality <= 100


def test_non_jpeg_has_no_jpeg_encoding(tmp_path, upright):
    Image.fromarray(upright).save(tmp_path / "p.png")
    meta = load_photo(tmp_path / "p.png").meta
    assert meta.jpeg_subsampling is None and meta.jpeg_quality is None


def test_png_whose_pixel_data_ends_early_is_a_warning(tmp_path):
    """A complete PNG (IEND and all) whose compressed pixel data stops short: Pillow paints the rest black."""
    ihdr = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 128, 96, 8, 2, 0, 0, 0))
    one_row = zlib.compress(bytes(1 + 3 * 128))
    path = _write(tmp_path / "short.png", b"\x89PNG\r\n\x1a\n" + ihdr + _png_chunk(b"IDAT", one_row) + _png_chunk(b"IEND", b""))
    photo = _load_untouched(path)
    assert photo.rgb.shape == (96, 128, 3)
    assert photo.warnings == (
        "short.png has corrupt image data (its pixel data ends early); parts of the picture may be missing.",
    )


def test_complete_pngs_of_every_layout_have_no_warning(tmp_path, upright):
    adam7 = _encode_png(upright, interlace=1)
    photo = load_photo(_write(tmp_path / "adam7.png", adam7))
    assert photo.warnings == () and png_short_data("adam7.png", adam7) == ()  # counted, not skipped
    np.testing.assert_array_equal(photo.rgb, upright)
    image = Image.fromarray(upright)
    variants = {
        "bits1": image.convert("1"), "palette": image.convert("P", colors=16), "gray": image.convert("L"),
        "la": image.convert("LA"), "rgba": image.convert("RGBA"),
        "gray16": Image.fromarray(np.asarray(image.convert("L")).astype(np.uint16) * 257),
    }
    for name, im in variants.items():
        im.save(tmp_path / f"{name}.png")
        assert load_photo(tmp_path / f"{name}.png").warnings == (), name
        assert png_short_data(name, (tmp_path / f"{name}.png").read_bytes()) == (), name
    cv2.imwrite(str(tmp_path / "rgb16.png"), upright.astype(np.uint16) * 257)
    assert png_short_data("rgb16", (tmp_path / "rgb16.png").read_bytes()) == ()
    black = np.zeros((70, 80, 3), np.uint8)  # a black last row: the check runs and finds every row there
    assert load_photo(_write(tmp_path / "black.png", _encode_png(black, interlace=0))).warnings == ()


def _encode_png(rgb: np.ndarray, interlace: int) -> bytes:
    if not interlace:
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="PNG")
        return buf.getvalue()
    h, w = rgb.shape[:2]  # neither Pillow nor OpenCV writes Adam7: lay the passes out by hand
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = rgb[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\x00" + row.tobytes() for row in sub)
    ihdr = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1))
    return b"\x89PNG\r\n\x1a\n" + ihdr + _png_chunk(b"IDAT", zlib.compress(raw)) + _png_chunk(b"IEND", b"")
