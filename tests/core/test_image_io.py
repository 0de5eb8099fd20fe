"""Loading photos: the API's basics, EXIF orientation and metadata, and the original's JPEG encoding.

Modes and formats are in test_image_io_formats.py, refusals of broken and special files in
test_image_io_refusals.py, corrupt data that still decodes in test_image_io_damage.py; the shared helpers in
conftest.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps, TiffImagePlugin

from super_gui.core.image_io import MAX_PIXELS, MIN_SIDE, SUPPORTED_SUFFIXES, load_photo, read_image_size
from super_gui.errors import ImageLoadError, UserInputError
from tests.core.conftest import _exif, _jpeg_bytes, _load_untouched, _stored, _write

# Whatever the decoders think of a file, the user gets a Photo or an ImageLoadError, never a stray warning.
pytestmark = pytest.mark.filterwarnings("error")


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
