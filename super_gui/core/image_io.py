"""Reading photos from disk: the first step of the pipeline (``load`` in DESIGN.md).

:func:`load_photo` turns a JPEG, PNG, TIFF, WebP, BMP or HEIC/HEIF file into an upright (EXIF orientation
applied) RGB array plus optional alpha and the metadata that export needs (EXIF with Orientation reset to 1,
the ICC profile, focal lengths for the capture camera). Every refusal is an :class:`ImageLoadError` with one
sentence naming the file and what is wrong: missing, not a regular file (a named pipe, a device), empty, over
:data:`MAX_FILE_BYTES`, not an image, truncated, over :data:`MAX_PIXELS`, or smaller than :data:`MIN_SIDE`.
Damage the decoder gets past (corrupt JPEG entropy-coded data) is not refused: the photo loads and says so in
:attr:`Photo.warnings`.

What this module must not do: import Qt; modify, lock or write anything next to the input file (the bytes are
read once and decoded from memory); colour-manage anything but CMYK (which has no RGB to show otherwise);
decode pixels before the size has been checked against :data:`MAX_PIXELS`; open anything but a regular file
(a named pipe would block forever, a device never ends); read more than :data:`MAX_FILE_BYTES`.
"""

from __future__ import annotations

import contextlib
import functools
import io
import mmap
import os
import re
import stat
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from super_gui.core.decoder_checks import (
    JPEG_JUNK_LIMIT,
    JPEG_SOI,
    jpeg_decoder_warnings,
    jpeg_junk_before_frame,
    png_short_data,
)
from super_gui.core.exif import (
    EXIF_IFD,
    ORIENTATION,
    apply_orientation,
    clean_text,
    exif_for_export,
    exif_of,
    get_ifd,
    orientation_of,
    positive_float,
)
from super_gui.core.jpeg_tables import estimate_jpeg_quality, jpeg_subsampling
from super_gui.core.pillow_pixels import as_array, load
from super_gui.errors import ImageLoadError

MAX_PIXELS = 100_000_000
MIN_SIDE = 64
# No photo under MAX_PIXELS needs more: 16-bit RGBA stored uncompressed is 8 bytes a pixel, plus 100 MB for
# metadata and container. The file's size is checked before a byte is read.
MAX_FILE_BYTES = MAX_PIXELS * 8 + 100_000_000
SUPPORTED_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".heic", ".heif")

_SUPPORTED_TEXT = "JPEG, PNG, TIFF, WebP, BMP, HEIC/HEIF"
# The JPEG opener also returns the multi-picture JPEGs many phones write, as format "MPO".
_PIL_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "BMP")
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
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
    # How the original JPEG was encoded, for an export "like the original". Subsampling is "4:4:4", "4:2:2" or
    # "4:2:0" (the one of those with the same chroma resolution); None for grayscale, CMYK and non-JPEG files.
    jpeg_subsampling: str | None = None
    # The IJG quality (1-100) whose standard tables are closest to the file's quantisation tables (exact for
    # files written by libjpeg and Pillow, the nearest equivalent for a camera's own tables); None if no JPEG.
    jpeg_quality: int | None = None


@dataclass(frozen=True, eq=False)
class Photo:
    """A decoded, upright photo. Arrays are read-only; copy before editing.

    ``rgb`` is (H, W, 3) C-contiguous uint8, or uint16 for 16-bit sources; sRGB-ish (the file's ICC profile
    is in ``meta.icc_profile`` but not applied). ``alpha`` is (H, W) of the same dtype, or None when the source
    has no transparency (a palette or colour key with transparency counts as alpha). ``warnings`` are sentences
    for the user about damage the decoder got past (each names the file; show them, the photo still loads).
    """

    path: Path
    rgb: np.ndarray
    alpha: np.ndarray | None
    meta: PhotoMetadata
    warnings: tuple[str, ...] = ()
    in_memory: bool = False  # no file: ``path`` only names it (a camera capture, saved only on export)

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


def load_photo(path: str | os.PathLike[str], data: bytes | None = None) -> Photo:
    """Read and decode ``path`` into an upright :class:`Photo`; raise :class:`ImageLoadError` if refused.
    ``data``: the bytes of an image that has no file (a camera capture), which ``path`` only names."""
    path = Path(path)
    name = path.name or str(path)
    in_memory, data = data is not None, _read_file(path, name) if data is None else data
    with _pillow_quiet(), _open_image(name, io.BytesIO(data), data[:32], data) as im:
        fmt = "JPEG" if im.format == "MPO" else str(im.format)
        orientation = _header_orientation(im)
        # Before Pillow decodes: the check's own decode then never adds to the memory the pixels take.
        found = jpeg_decoder_warnings(name, data) if fmt == "JPEG" else ()
        decoded16 = _decode_16bit_color(im, data)
        if decoded16 is not None:
            rgb, alpha = decoded16
            bit_depth, icc = 16, im.info.get("icc_profile")
        else:
            _decode(name, im)
            rgb, alpha, bit_depth, icc = _pixels(name, im)
        if fmt == "PNG" and not rgb[-1].any():  # a black last row: is it the rows Pillow never got?
            found += png_short_data(name, data)
        exif = exif_of(im, decoded=decoded16 is None)
        if fmt == "PNG" and orientation == 1:  # an eXIf chunk after the pixels is only seen once decoded
            orientation = orientation_of(exif.get(ORIENTATION))
        if decoded16 is not None or not _decoder_turns_upright(im):
            rgb = apply_orientation(rgb, orientation)
            alpha = None if alpha is None else apply_orientation(alpha, orientation)
        exif_ifd = get_ifd(exif, EXIF_IFD)
        meta = PhotoMetadata(
            format=fmt,
            mode=im.mode,
            orientation=orientation,
            focal_length_35mm=positive_float(exif_ifd.get(0xA405)),
            focal_length_mm=positive_float(exif_ifd.get(0x920A, exif.get(0x920A))),
            make=clean_text(exif.get(0x010F)),
            model=clean_text(exif.get(0x0110)),
            exif=exif_for_export(exif, fmt),
            icc_profile=icc or None,
            bit_depth=bit_depth,
            source_size=_stored_size(im),
            jpeg_subsampling=jpeg_subsampling(im) if fmt == "JPEG" else None,
            jpeg_quality=estimate_jpeg_quality(getattr(im, "quantization", None) or {}) if fmt == "JPEG" else None,
        )
    rgb.setflags(write=False)
    if alpha is not None:
        alpha.setflags(write=False)
    return Photo(path=path, rgb=rgb, alpha=alpha, meta=meta, warnings=found, in_memory=in_memory)


def read_image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(width, height) of the upright picture, from the file header only (no pixels decoded).

    Refuses what :func:`load_photo` refuses before decoding (missing, empty, not an image, too many pixels, too
    small); a file that passes may still turn out truncated when loaded.
    """
    path = Path(path)
    name = path.name or str(path)
    try:
        with _open_regular_file(path, name) as f:
            head = f.read(32)
            if not head:
                raise ImageLoadError(f"{name} is empty (0 bytes).")
            f.seek(0)
            # The JPEG marker check looks through the file without reading it all.
            whole = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if head.startswith(JPEG_SOI) else None
            try:
                with _pillow_quiet(), _open_image(name, f, head, whole) as im:
                    w, h = im.size
                    turned = not _decoder_turns_upright(im) and _header_orientation(im) >= 5
                    return (int(h), int(w)) if turned else (int(w), int(h))
            finally:
                if whole is not None:
                    whole.close()
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


def _check_kind(name: str, st: os.stat_result) -> None:
    """Refuse anything but a regular file of at most MAX_FILE_BYTES (a folder, a named pipe, a device...)."""
    if stat.S_ISDIR(st.st_mode):
        raise ImageLoadError(f"{name} is a folder, not an image file.")
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a named pipe" if stat.S_ISFIFO(st.st_mode)
            else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "a socket" if stat.S_ISSOCK(st.st_mode)
            else "not a file"
        )
        raise ImageLoadError(f"{name} is not a regular file (it is {kind}); super_gui reads photo files only.")
    if st.st_size > MAX_FILE_BYTES:
        raise ImageLoadError(f"{name} is {_file_size(st.st_size)}; super_gui refuses files over {_file_size(MAX_FILE_BYTES)}.")


def _file_size(size: int) -> str:
    return f"{size / 1e6:.0f} MB" if size < 1e9 else f"{size / 1e9:.1f}".removesuffix(".0") + " GB"


def _os_error(name: str, e: OSError) -> ImageLoadError:
    if isinstance(e, FileNotFoundError):  # a dangling link, or deleted since it was looked at
        return ImageLoadError(f"{name} does not exist.")
    reason = "permission denied" if isinstance(e, PermissionError) else (e.strerror or "unknown error").lower()
    return ImageLoadError(f"{name} cannot be read: {reason.rstrip('.')}.")


def _open_regular_file(path: Path, name: str) -> BinaryIO:
    """``path`` opened for reading once it is known to be a regular file of an acceptable size.

    The kind is checked before opening (opening a named pipe blocks until someone writes to it) and again on
    the open file, without blocking, in case the path was swapped in between. OSError is the caller's to turn
    into a sentence (see :func:`_os_error`).
    """
    try:
        _check_kind(name, os.stat(path))
    except FileNotFoundError:
        raise ImageLoadError(f"{name} does not exist.") from None
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        _check_kind(name, os.fstat(fd))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return open(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _read_file(path: Path, name: str) -> bytes:
    """All the bytes of ``path``, read once so the file is never held open while decoding."""
    try:
        with _open_regular_file(path, name) as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise _os_error(name, e) from None
    if not data:
        raise ImageLoadError(f"{name} is empty (0 bytes).")
    if len(data) > MAX_FILE_BYTES:  # it grew while being read
        raise ImageLoadError(f"{name} is over {_file_size(MAX_FILE_BYTES)}; super_gui refuses files over {_file_size(MAX_FILE_BYTES)}.")
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
    if pixels >= 1e12:  # a header's absurd numbers are not worth spelling out
        return "over a million megapixels"
    return f"{pixels / 1e6:.1f}".removesuffix(".0") + " megapixels"


def _open_image(name: str, fp: BinaryIO, head: bytes, whole: bytes | mmap.mmap | None) -> Image.Image:
    """Open lazily (header only) and check the size; pixels are not decoded yet.

    ``whole`` is the file's content (bytes or a read-only map) for the JPEG marker check; None skips it.
    """
    formats: tuple[str, ...] = _PIL_FORMATS
    if whole is not None and head.startswith(JPEG_SOI) and jpeg_junk_before_frame(whole) > JPEG_JUNK_LIMIT:
        # Pillow would step through such junk a byte at a time (~80 ms a megabyte) before refusing it.
        raise ImageLoadError(f"{name} is truncated or corrupt: no JPEG picture header after its start marker.")
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
        load(im)  # (im.load(), in fewer calls)
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
        return orientation_of(im.info.get("original_orientation"))
    return orientation_of(exif_of(im, decoded=False).get(ORIENTATION))


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
        if is16 and im.tag_v2.get(ORIENTATION, 1) != 1:  # type: ignore[attr-defined]
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
    """A copy of TIFF or BigTIFF bytes whose first IFD says Orientation 1; None if it cannot be patched."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    try:
        version = struct.unpack_from(order + "H", data, 2)[0] if order else 0
        if version == 42:  # classic: 4-byte offsets and counts, 12-byte entries
            ifd = struct.unpack_from(order + "I", data, 4)[0]
            count, first, size, value = struct.unpack_from(order + "H", data, ifd)[0], ifd + 2, 12, 8
        elif version == 43:  # BigTIFF: 8-byte offsets and counts, 20-byte entries
            ifd = struct.unpack_from(order + "Q", data, 8)[0]
            count, first, size, value = struct.unpack_from(order + "Q", data, ifd)[0], ifd + 8, 20, 12
        else:
            return None
        for i in range(min(count, 4096)):
            entry = first + size * i
            if struct.unpack_from(order + "HH", data, entry) == (ORIENTATION, 3):  # a SHORT, stored inline
                patched = bytearray(data)
                struct.pack_into(order + "H", patched, entry + value, 1)
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
    arr = as_array(rgba)  # (np.asarray(rgba, dtype=np.uint8), in one call)
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
