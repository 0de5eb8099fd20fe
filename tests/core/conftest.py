"""Shared by the photo-loading tests (test_image_io*.py): the ``upright`` photo (a module-scoped fixture), the
stored pixels for each EXIF orientation (``STORE_OPS``, ``_stored``), EXIF and PNG-chunk builders, small file
writers (``_write``, ``_save``, ``_jpeg_bytes``) and ``_load_untouched``, load_photo asserting that the file and
its folder are left exactly as they were. Moved out of test_image_io.py unchanged; the test modules import the
helpers from here (``from tests.core.conftest import ...``).
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from super_gui.core import image_io
from super_gui.core.image_io import load_photo

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


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def _save(path: Path, size: tuple[int, int]) -> Path:
    Image.new("RGB", size, (200, 120, 90)).save(path)
    return path


def _jpeg_bytes(rgb: np.ndarray, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", **options)
    return buf.getvalue()
