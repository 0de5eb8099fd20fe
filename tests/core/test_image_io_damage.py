"""Loading photos whose data is corrupt but still decodes: a JPEG with damaged entropy-coded data, or a PNG whose
pixel data ends early, is a Photo with one warning (the decoder's own message kept off stderr, other stderr output
kept); clean photos and complete PNGs of every layout (Adam7 interlaced too) have none. Moved out of
test_image_io.py unchanged.
"""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from super_gui.core.decoder_checks import png_short_data
from super_gui.core.image_io import load_photo
from tests.core.conftest import _jpeg_bytes, _load_untouched, _png_chunk, _save, _write

# Whatever the decoders think of a file, the user gets a Photo or an ImageLoadError, never a stray warning.
pytestmark = pytest.mark.filterwarnings("error")


# --- decoder warnings: corrupt data that still decodes --------------------------------------------------


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
