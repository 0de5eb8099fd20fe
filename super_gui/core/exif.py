"""Reading a photo's EXIF for super_gui: the orientation, the focal lengths and maker that model the capture
camera, and the block an export carries over (orientation reset to 1; a TIFF's own layout tags dropped).
Unreadable or implausible values read as absent, never as an error.

What it must not do: import Qt, decode pixels (an undecoded PNG is only read up to its pixel data) or write
files. :func:`apply_orientation` turns an already decoded array upright.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

EXIF_IFD = 0x8769
ORIENTATION = 0x0112
# A TIFF's "EXIF" as Pillow reads it is its whole first IFD (strip offsets, compression...); only these tags
# describe the photo and are worth carrying into an exported file.
_TIFF_TAGS_TO_KEEP = {0x010E, 0x010F, 0x0110, 0x0112, 0x0131, 0x0132, 0x013B, 0x8298, EXIF_IFD, 0x8825}


def exif_of(im: Image.Image, *, decoded: bool) -> Image.Exif:
    """The image's EXIF; an empty one when unreadable. Undecoded PNGs only look before IDAT (no decode)."""
    try:
        if im.format == "PNG" and not decoded and "exif" not in im.info:
            return Image.Exif()
        return im.getexif()
    except Exception:  # malformed EXIF must not stop the photo from loading; it is just ignored
        return Image.Exif()


def get_ifd(exif: Image.Exif, tag: int) -> dict[int, object]:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:  # a broken sub-IFD pointer: treat as absent
        return {}


def orientation_of(value: object) -> int:
    """A valid EXIF orientation 1..8 from a tag value; 1 when absent or invalid."""
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def positive_float(value: object) -> float | None:
    """A positive finite float from an EXIF number (IFDRational 0/0 is NaN), else None."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def clean_text(value: object) -> str | None:
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return (text.replace("\x00", "").strip() or None) if isinstance(text, str) else None


def exif_for_export(exif: Image.Exif, fmt: str) -> bytes | None:
    """The EXIF block to embed on export, Orientation reset to 1 (pixels are upright now); None when empty."""
    try:
        if fmt == "TIFF":
            for tag in list(exif):
                if tag not in _TIFF_TAGS_TO_KEEP:
                    del exif[tag]
        if len(exif) == 0:
            return None
        exif[ORIENTATION] = 1
        return exif.tobytes()
    except Exception:  # an EXIF block Pillow cannot rewrite is dropped rather than refusing the photo
        return None


_UPRIGHT = {
    2: lambda a: a[:, ::-1],  # FLIP_LEFT_RIGHT
    3: lambda a: a[::-1, ::-1],  # ROTATE_180
    4: lambda a: a[::-1],  # FLIP_TOP_BOTTOM
    5: lambda a: a.swapaxes(0, 1),  # TRANSPOSE
    6: lambda a: np.rot90(a, -1),  # ROTATE_270: a quarter turn clockwise
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),  # TRANSVERSE
    8: lambda a: np.rot90(a, 1),  # ROTATE_90: a quarter turn counter-clockwise
}


def apply_orientation(a: np.ndarray, orientation: int) -> np.ndarray:
    """The upright, C-contiguous version of a stored (H, W[, C]) array for EXIF ``orientation`` 1..8."""
    turn = _UPRIGHT.get(orientation)
    return np.ascontiguousarray(turn(a) if turn else a)
