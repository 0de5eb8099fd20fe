"""Whole-frame pixel work done a band of rows at a time, so that a 100 MP photo never needs a full-size
temporary (a 16-bit frame through uint32 arithmetic would take 1.2 GB more per step).

Every function here gives exactly the values of its whole-frame counterpart. No Qt.
"""

from __future__ import annotations

import weakref
from typing import Iterator

import cv2
import numpy as np

from super_gui.core.image_io import to_uint8

STRIP_PIXELS = 1 << 20  # pixels per band: ~12 MB of uint32 RGB temporaries


def strip_rows(width: int) -> int:
    """Rows per band for an image ``width`` pixels wide."""
    return max(1, STRIP_PIXELS // max(1, width))


def strips(height: int, width: int) -> Iterator[slice]:
    """Row slices covering ``height`` rows in bands of :func:`strip_rows`."""
    step = strip_rows(width)
    for y in range(0, height, step):
        yield slice(y, min(height, y + step))


def to_uint8_strips(a: np.ndarray) -> np.ndarray:
    """:func:`~super_gui.core.image_io.to_uint8` of ``a`` ((H, W[, C]) uint8 or uint16), converted a band
    at a time: ``a`` itself when uint8, else a new uint8 array and nothing else of full size."""
    if a.dtype == np.uint8:
        return a
    out = np.empty(a.shape, np.uint8)
    for rows in strips(a.shape[0], a.shape[1]):
        out[rows] = to_uint8(a[rows])
    return out


_previews: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # photo -> {(width, height): preview}


def preview_uint8(photo, size: tuple[int, int]) -> np.ndarray:
    """(height, width, 3) uint8: ``photo`` (core.image_io.Photo) resized to ``size`` (width, height) with
    cv2.INTER_AREA from :func:`to_uint8_strips` of its pixels; made once per photo and size (while the photo
    lives), so the editor's load job and its renderer share one (a 12 MP photo's takes ~0.1 s)."""
    known = _previews.get(photo)
    if known is None:
        known = _previews.setdefault(photo, {})
    if size not in known:
        known[size] = np.ascontiguousarray(cv2.resize(to_uint8_strips(photo.rgb), size, interpolation=cv2.INTER_AREA))
    return known[size]
