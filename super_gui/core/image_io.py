"""Reading photos from disk: the first step of the pipeline (``load`` in DESIGN.md).

:func:`load_photo` turns a JPEG, PNG, TIFF, WebP, BMP or HEIC/HEIF file into an upright (EXIF orientation
applied) RGB array plus optional alpha and the metadata that export needs (EXIF with Orientation reset to 1,
the ICC profile, focal lengths for the capture camera). Every refusal is an :class:`ImageLoadError` with one
sentence naming the file and what is wrong: missing, empty, not an image, truncated, over
:data:`MAX_PIXELS`, or smaller than :data:`MIN_SIDE`.

What this module must not do: import Qt; modify, lock or write anything next to the input file (the bytes are
read once and decoded from memory); colour-manage anything but CMYK (which has no RGB to show otherwise);
decode pixels before the size has been checked against :data:`MAX_PIXELS`.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from super_gui.errors import ImageLoadError

MAX_PIXELS = 100_000_000
MIN_SIDE = 64
SUPPORTED_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".heic", ".heif")

_SUPPORTED_TEXT = "JPEG, PNG, TIFF, WebP, BMP, HEIC/HEIF"
# The JPEG opener also returns the multi-picture JPEGs many phones write, as format "MPO".
_PIL_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "BMP")
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
_EXIF_IFD = 0x8769
_ORIENTATION = 0x0112
# A TIFF's "EXIF" as Pillow reads it is its whole first IFD (strip offsets, compression...); only these tags
# describe the photo and are worth carrying into an exported file.
_TIFF_TAGS_TO_KEEP = {0x010E, 0x010F, 0x0110, 0x0112, 0x0131, 0x0132, 0x013B, 0x8298, _EXIF_IFD, 0x8825}
_GRAY16_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
_OVER_LIMIT = f"super_gui refuses images over {MAX_PIXELS // 1_000_000} megapixels"


@dataclass(frozen=True)
class PhotoMetadata:
    """What the file said about itself, kept for the camera model and for export."""

    format: str  # Pillow format name ("JPEG", "PNG", "TIFF", "WEBP", "BMP", "HEIF"); MPO is reported as JPEG
    mode: str  # Pillow mode of the file as opened ("RGB", "I;16", "CMYK", "P", "LA", "RGBA", ...)
    orientation: int  # EXIF orientation found in the file, 1..8 (1 when absent or invalid)
    focal_length_35mm: float | None  # EXIF FocalLengthIn35mmFilm in mm; None when 0 or missing
    focal_length_mm: float | None  # EXIF FocalLength in mm; None when 0 or missing
    make: str | None
    model: str | None
    exif: bytes | None  # raw EXIF block ("Exif\0\0" + TIFF) with Orientation reset to 1; None if the file had none
    icc_profile: bytes | None  # the file's ICC profile; None if absent or if CMYK was converted to sRGB
    bit_depth: int  # 8 or 16 bits per channel of Photo.rgb
    source_size: tuple[int, int]  # (width, height) as stored in the file, before orientation


@dataclass(frozen=True, eq=False)
class Photo:
    """A decoded, upright photo. Arrays are read-only; copy before editing.

    ``rgb`` is (H, W, 3) C-contiguous uint8, or uint16 for 16-bit sources; sRGB-ish (the file's ICC profile
    is in ``meta.icc_profile`` but not applied). ``alpha`` is (H, W) of the same dtype, or None when the source
    has no transparency (a palette or colour key with transparency counts as alpha).
    """

    path: Path
    rgb: np.ndarray
    alpha: np.ndarray | None
    meta: PhotoMetadata

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6

    @property
    def rgb8(self) -> np.ndarray:
        """(H, W, 3) uint8: ``rgb`` itself when 8-bit, else round(v * 255 / 65535) (a new array)."""
        return to_uint8(self.rgb)


def to_uint8(a: np.ndarray) -> np.ndarray:
    """``a`` itself when uint8; a uint16 array as round(v * 255 / 65535) (a new array)."""
    if a.dtype == np.uint8:
        return a
    return ((a.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def load_photo(path: str | os.PathLike[str]) -> Photo:
    """Read and decode ``path`` into an upright :class:`Photo`; raise :class:`ImageLoadError` if refused."""
    path = Path(path)
    name = path.name or str(path)
    data = _read_file(path, name)
    with _pillow_quiet(), _open_image(name, io.BytesIO(data), data[:32]) as im:
        fmt = "JPEG" if im.format == "MPO" else str(im.format)
        orientation = _header_orientation(im)
        decoded16 = _decode_16bit_color(im, data)
        if decoded16 is not None:
            rgb, alpha = decoded16
            bit_depth, icc = 16, im.info.get("icc_profile")
        else:
            _decode(name, im)
            rgb, alpha, bit_depth, icc = _pixels(name, im)
        exif = _exif_of(im, decoded=decoded16 is None)
        if fmt == "PNG" and orientation == 1:  # an eXIf chunk after the pixels is only seen once decoded
            orientation = _orientation(exif.get(_ORIENTATION))
        if decoded16 is not None or not _decoder_turns_upright(im):
            rgb = _apply_orientation(rgb, orientation)
            alpha = None if alpha is None else _apply_orientation(alpha, orientation)
        exif_ifd = _get_ifd(exif, _EXIF_IFD)
        meta = PhotoMetadata(
            format=fmt,
            mode=im.mode,
            orientation=orientation,
            focal_length_35mm=_positive_float(exif_ifd.get(0xA405)),
            focal_length_mm=_positive_float(exif_ifd.get(0x920A, exif.get(0x920A))),
            make=_clean_text(exif.get(0x010F)),
            model=_clean_text(exif.get(0x0110)),
            exif=_exif_for_export(exif, fmt),
            icc_profile=icc or None,
            bit_depth=bit_depth,
            source_size=_stored_size(im),
        )
    rgb.setflags(write=False)
    if alpha is not None:
        alpha.setflags(write=False)
    return Photo(path=path, rgb=rgb, alpha=alpha, meta=meta)


def read_image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(width, height) of the upright picture, from the file header only (no pixels decoded).

    Refuses what :func:`load_photo` refuses before decoding (missing, empty, not an image, too many pixels, too
    small); a file that passes may still turn out truncated when loaded.
    """
    path = Path(path)
    name = path.name or str(path)
    _check_path(path, name)
    try:
        with open(path, "rb") as f:
            head = f.read(32)
            if not head:
                raise ImageLoadError(f"{name} is empty (0 bytes).")
            f.seek(0)
            with _pillow_quiet(), _open_image(name, f, head) as im:
                w, h = im.size
                turned = not _decoder_turns_upright(im) and _header_orientation(im) >= 5
                return (int(h), int(w)) if turned else (int(w), int(h))
    except OSError as e:
        raise _os_error(name, e) from None


# --- reading and opening ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _pillow_quiet() -> Iterator[None]:
    """Silence the decoders' warnings: they are about the file, and what matters is refused with a message.

    Pillow warns of decompression bombs from about 89 megapixels (the limit here is MAX_PIXELS), of corrupt
    EXIF blocks (ignored: the photo still loads), and of palette transparency (converted to alpha anyway).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"(PIL|pillow_heif)(\.|$)")
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield


def _check_path(path: Path, name: str) -> None:
    if path.is_dir():
        raise ImageLoadError(f"{name} is a folder, not an image file.")
    if not path.exists():
        raise ImageLoadError(f"{name} does not exist.")


def _os_error(name: str, e: OSError) -> ImageLoadError:
    if isinstance(e, FileNotFoundError):  # deleted since _check_path looked
        return ImageLoadError(f"{name} does not exist.")
    reason = "permission denied" if isinstance(e, PermissionError) else (e.strerror or "unknown error").lower()
    return ImageLoadError(f"{name} cannot be read: {reason.rstrip('.')}.")


def _read_file(path: Path, name: str) -> bytes:
    """All the bytes of ``path``, read once so the file is never held open while decoding."""
    _check_path(path, name)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise _os_error(name, e) from None
    if not data:
        raise ImageLoadError(f"{name} is empty (0 bytes).")
    return data


@functools.cache
def _heif_opener_available() -> bool:
    """Register pillow_heif's opener with Pillow on first use; False when pillow_heif is not installed."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.1f}".removesuffix(".0") + " megapixels"


def _open_image(name: str, fp: BinaryIO, head: bytes) -> Image.Image:
    """Open lazily (header only) and check the size; pixels are not decoded yet."""
    formats: tuple[str, ...] = _PIL_FORMATS
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        if not _heif_opener_available():
            raise ImageLoadError(
                f"{name} is a HEIC/HEIF image; install pillow-heif (pip install pillow-heif) to open it."
            )
        formats = ("HEIF",)
    try:
        im = Image.open(fp, formats=list(formats))
    except Image.DecompressionBombError as e:
        found = re.search(r"\((\d+) pixels\)", str(e))  # over Pillow's own limit, about 179 megapixels
        size = _megapixels(int(found[1])) if found else "too large"
        raise ImageLoadError(f"{name} is {size}; {_OVER_LIMIT}.") from None
    except UnidentifiedImageError:
        if _has_supported_signature(head):  # e.g. a TIFF cut off before its directory
            raise ImageLoadError(f"{name} is truncated or corrupt.") from None
        raise ImageLoadError(f"{name} is not an image super_gui can read (supported: {_SUPPORTED_TEXT}).") from None
    except (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError) as e:
        raise _corrupt(name, e) from None
    w, h = im.size
    if w * h > MAX_PIXELS:
        im.close()
        raise ImageLoadError(f"{name} is {w}x{h} pixels ({_megapixels(w * h)}); {_OVER_LIMIT}.")
    if min(w, h) < MIN_SIDE:
        im.close()
        raise ImageLoadError(f"{name} is {w}x{h} pixels; a photo must be at least {MIN_SIDE} pixels on each side.")
    return im


def _has_supported_signature(head: bytes) -> bool:
    """Whether the first bytes are those of a supported format (JPEG, PNG, TIFF, WebP, BMP, HEIF)."""
    signatures = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*", b"BM")
    return head.startswith(signatures) or (head[:4], head[8:12]) == (b"RIFF", b"WEBP") or head[8:12] in _HEIF_BRANDS


def _corrupt(name: str, e: BaseException) -> ImageLoadError:
    detail = str(e).strip().splitlines()[0].rstrip(".") if str(e).strip() else ""
    if not re.search(r"[A-Za-z]{3}", detail) or len(detail) > 120:
        detail = ""  # bare error codes ("-2") or long dumps tell the user nothing
    return ImageLoadError(f"{name} is truncated or corrupt" + (f": {detail}." if detail else "."))


def _decode(name: str, im: Image.Image) -> None:
    try:
        im.load()
    except MemoryError:
        raise ImageLoadError(f"{name} is too large to decode with the memory available.") from None
    except (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError, TypeError) as e:
        raise _corrupt(name, e) from None


# --- pixels -------------------------------------------------------------------------------------------------


def _decoder_turns_upright(im: Image.Image) -> bool:
    """True when ``im.size`` is already upright and decoding gives upright pixels.

    Pillow's TIFF loader applies the Orientation tag itself; libheif applies HEIF's irot/imir and pillow_heif
    resets the EXIF tag (keeping the original in ``info["original_orientation"]``).
    """
    return im.format in ("TIFF", "HEIF")


def _header_orientation(im: Image.Image) -> int:
    """The EXIF orientation of an opened, undecoded image (Pillow's TIFF loader consumes the tag)."""
    if im.format == "HEIF":
        return _orientation(im.info.get("original_orientation"))
    return _orientation(_exif_of(im, decoded=False).get(_ORIENTATION))


def _stored_size(im: Image.Image) -> tuple[int, int]:
    """(width, height) as stored in the file, before orientation."""
    if im.format == "TIFF":
        return int(im.tag_v2[256]), int(im.tag_v2[257])  # type: ignore[attr-defined]
    w, h = im.size
    return (int(h), int(w)) if im.format == "HEIF" and _header_orientation(im) >= 5 else (int(w), int(h))


def _decode_16bit_color(im: Image.Image, data: bytes) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Stored-orientation (rgb (H,W,3), alpha (H,W) | None) uint16 for 16-bit colour PNG/TIFF, else None.

    Pillow 13 opens 16-bit RGB(A) PNG and TIFF as 8-bit "RGB"/"RGBA", so OpenCV decodes those instead.
    IMREAD_UNCHANGED ignores a PNG's EXIF orientation, but OpenCV's TIFF reader still applies the TIFF tag, so
    it is given a copy that says 1; the caller applies the orientation, as for everything Pillow decodes.
    """
    if im.format == "PNG":
        # IHDR follows the 8-byte signature: length, "IHDR", width, height, bit depth, colour type.
        is16 = len(data) > 25 and data[12:16] == b"IHDR" and data[24] == 16 and data[25] in (2, 4, 6)
    elif im.format == "TIFF":
        bits = im.tag_v2.get(258, ())  # type: ignore[attr-defined]
        bits = bits if isinstance(bits, tuple) else (bits,)
        is16 = len(bits) >= 3 and all(b == 16 for b in bits) and im.tag_v2.get(262) == 2  # type: ignore[attr-defined]
        if is16 and im.tag_v2.get(_ORIENTATION, 1) != 1:  # type: ignore[attr-defined]
            data = _tiff_with_orientation_1(data)  # type: ignore[assignment]
            is16 = bool(data)
    else:
        is16 = False
    if not is16:
        return None
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    width, height = _stored_size(im)
    if arr is None or arr.dtype != np.uint16 or arr.shape[:2] != (height, width):
        return None  # let Pillow decode it (8-bit) or report it as corrupt
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2), None
    if arr.shape[2] == 3:
        return np.ascontiguousarray(arr[:, :, ::-1]), None
    if arr.shape[2] == 4:
        return np.ascontiguousarray(arr[:, :, 2::-1]), np.ascontiguousarray(arr[:, :, 3])
    return None


def _tiff_with_orientation_1(data: bytes) -> bytes | None:
    """A copy of classic-TIFF bytes whose first IFD says Orientation 1; None if it cannot be patched."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    try:
        if order is None or struct.unpack_from(order + "H", data, 2)[0] != 42:
            return None  # not a classic TIFF (BigTIFF): Pillow will decode it
        ifd = struct.unpack_from(order + "I", data, 4)[0]
        for i in range(struct.unpack_from(order + "H", data, ifd)[0]):
            entry = ifd + 2 + 12 * i
            if struct.unpack_from(order + "HH", data, entry) == (_ORIENTATION, 3):  # a SHORT, stored inline
                patched = bytearray(data)
                struct.pack_into(order + "H", patched, entry + 8, 1)
                return bytes(patched)
    except struct.error:
        pass
    return None


def _pixels(name: str, im: Image.Image) -> tuple[np.ndarray, np.ndarray | None, int, bytes | None]:
    """Stored-orientation (rgb (H,W,3), alpha (H,W) | None, bit depth, ICC profile to keep) of a loaded image."""
    icc: bytes | None = im.info.get("icc_profile")
    mode = im.mode
    if mode in _GRAY16_MODES:
        gray = np.asarray(im)
        gray = np.clip(gray, 0, 65535).astype(np.uint16) if mode == "I" else gray.astype(np.uint16)
        return np.repeat(gray[:, :, None], 3, axis=2), None, 16, icc
    if mode == "F":
        gray = np.nan_to_num(np.asarray(im, dtype=np.float32), nan=0.0)
        gray8 = np.clip(np.rint(gray), 0, 255).astype(np.uint8)
        return np.repeat(gray8[:, :, None], 3, axis=2), None, 8, icc
    if mode == "CMYK":
        return np.ascontiguousarray(np.asarray(_cmyk_to_srgb(im), dtype=np.uint8)), None, 8, None
    palette_alpha = mode == "P" and im.palette is not None and im.palette.mode == "RGBA"
    has_alpha = mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in im.info or palette_alpha
    try:
        rgba = im if mode == ("RGBA" if has_alpha else "RGB") else im.convert("RGBA" if has_alpha else "RGB")
    except ValueError:
        raise ImageLoadError(f"{name} uses the {mode} pixel format, which super_gui cannot read.") from None
    arr = np.asarray(rgba, dtype=np.uint8)
    if has_alpha:
        return np.ascontiguousarray(arr[:, :, :3]), np.ascontiguousarray(arr[:, :, 3]), 8, icc
    return np.ascontiguousarray(arr), None, 8, icc


def _cmyk_to_srgb(im: Image.Image) -> Image.Image:
    """RGB image through the file's CMYK ICC profile when it has a usable one, else Pillow's naive formula."""
    icc = im.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(im, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # an unusable profile is no reason to refuse the photo
    return im.convert("RGB")


# How to turn stored pixels upright for each EXIF orientation; the ops of ImageOps.exif_transpose, on arrays.
_UPRIGHT = {
    2: lambda a: a[:, ::-1],  # FLIP_LEFT_RIGHT
    3: lambda a: a[::-1, ::-1],  # ROTATE_180
    4: lambda a: a[::-1],  # FLIP_TOP_BOTTOM
    5: lambda a: a.swapaxes(0, 1),  # TRANSPOSE
    6: lambda a: np.rot90(a, -1),  # ROTATE_270: a quarter turn clockwise
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),  # TRANSVERSE
    8: lambda a: np.rot90(a, 1),  # ROTATE_90: a quarter turn counter-clockwise
}


def _apply_orientation(a: np.ndarray, orientation: int) -> np.ndarray:
    """The upright, C-contiguous version of a stored (H, W[, C]) array for EXIF ``orientation`` 1..8."""
    turn = _UPRIGHT.get(orientation)
    return np.ascontiguousarray(turn(a) if turn else a)


# --- metadata -----------------------------------------------------------------------------------------------


def _exif_of(im: Image.Image, *, decoded: bool) -> Image.Exif:
    """The image's EXIF; an empty one when unreadable. Undecoded PNGs only look before IDAT (no decode)."""
    try:
        if im.format == "PNG" and not decoded and "exif" not in im.info:
            return Image.Exif()
        return im.getexif()
    except Exception:  # malformed EXIF must not stop the photo from loading; it is just ignored
        return Image.Exif()


def _get_ifd(exif: Image.Exif, tag: int) -> dict[int, object]:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:  # a broken sub-IFD pointer: treat as absent
        return {}


def _orientation(value: object) -> int:
    """A valid EXIF orientation 1..8 from a tag value; 1 when absent or invalid."""
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _positive_float(value: object) -> float | None:
    """A positive finite float from an EXIF number (IFDRational 0/0 is NaN), else None."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _clean_text(value: object) -> str | None:
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return (text.replace("\x00", "").strip() or None) if isinstance(text, str) else None


def _exif_for_export(exif: Image.Exif, fmt: str) -> bytes | None:
    """The EXIF block to embed on export, Orientation reset to 1 (pixels are upright now); None when empty."""
    try:
        if fmt == "TIFF":
            for tag in list(exif):
                if tag not in _TIFF_TAGS_TO_KEEP:
                    del exif[tag]
        if len(exif) == 0:
            return None
        exif[_ORIENTATION] = 1
        return exif.tobytes()
    except Exception:  # an EXIF block Pillow cannot rewrite is dropped rather than refusing the photo
        return None
