"""Loading photos: the refusals. Broken files (empty, truncated, not an image, too small, over the pixel limit)
get one plain sentence and are left untouched; other formats, missing or unreadable paths, decompression bombs,
named pipes, devices, symlink loops, files over the size cap and junk after the JPEG start marker are refused,
quickly; corrupt EXIF, multi-picture JPEGs and a few stray bytes between JPEG segments still load. Moved out of
test_image_io.py unchanged.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from super_gui.core import image_io
from super_gui.core.image_io import MAX_PIXELS, load_photo, read_image_size
from super_gui.errors import ImageLoadError
from tests.core.conftest import _fingerprint, _load_untouched, _png_chunk, _save, _write

# Whatever the decoders think of a file, the user gets a Photo or an ImageLoadError, never a stray warning.
pytestmark = pytest.mark.filterwarnings("error")


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose IHDR claims width x height but whose IDAT holds only a few rows (tiny file, instant to write)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (3 * width + 1) * 2)
    chunks = _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks)
    return path


# --- refusals -----------------------------------------------------------------------------------------------


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
