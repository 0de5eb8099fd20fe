"""A hostile corpus, generated: broken, crafted and odd files, and the command lines that feed them to main.py.

:func:`make_corpus` writes every file into a folder (nothing binary is committed) and returns them with the
command lines to run. Files that are refused while loading go to ``undistort`` in one batch (a refusal costs
milliseconds); files that reach the face analysis are batched by theme; the options and outputs are tried one
command line each on a good photo. Deterministic: fixed seeds, no clock, no network.

Expectations are the least every run must meet (exit 0 or 2, never 1; no traceback; no hang; inputs byte for
byte as they were; no temporary file left; nothing written by a failed run). Where the right answer is known,
a command line also says which exit status it must end with.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

# Exit statuses a command line may end with: ok or refused; a bug (1) never.
ANY = frozenset({0, 2})
OK = frozenset({0})
REFUSED = frozenset({2})


@dataclass
class Command:
    """One command line: ``argv`` after ``main.py``, run in the corpus folder."""

    id: str
    argv: list[str]
    expect: frozenset[int] = ANY
    timeout: float = 60.0
    batch: bool = False  # several photos: outputs named in stdout ("IN -> OUT") may be written even on exit 2
    may_change: tuple[Path, ...] = ()  # paths the command may legitimately replace (an --overwrite target)
    must_exist: tuple[Path, ...] = ()  # files that must be there afterwards on exit 0
    stderr_has: tuple[str, ...] = ()  # text that must appear on stderr


@dataclass
class Corpus:
    root: Path
    files: dict[str, Path] = field(default_factory=dict)  # every hostile file (or special entry) by case name
    commands: list[Command] = field(default_factory=list)


# --- small builders -----------------------------------------------------------------------------------------


def _jpeg(rgb: np.ndarray, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", **{"quality": 90, **options})
    return buf.getvalue()


def _encode(im: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **options)
    return buf.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png(width: int, height: int, idat: bytes, bits: int = 8, colour: int = 2) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bits, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _png_zeros(width: int, height: int) -> bytes:
    """A complete, valid grayscale PNG of width x height black pixels (a few hundred KB: a decompression bomb)."""
    z = zlib.compressobj(9)
    rows = bytes(width + 1) * min(height, 1000)  # filter byte 0 and the row's pixels
    idat = b"".join(z.compress(rows[: (width + 1) * min(1000, height - y)]) for y in range(0, height, 1000)) + z.flush()
    return _png(width, height, idat, bits=8, colour=0)


def _jpeg_with_size(good: bytes, width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF0) is rewritten to claim width x height."""
    at = good.index(b"\xff\xc0")
    return good[: at + 5] + struct.pack(">HH", height, width) + good[at + 9 :]


def _tiff_header_only(width: int, height: int, bits: int = 8, samples: int = 3) -> bytes:
    """A little-endian TIFF directory that claims width x height with one tiny strip."""
    entries = [
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, bits), (259, 3, 1, 1), (262, 3, 1, 2),
        (273, 4, 1, 8 + 2 + 12 * 9 + 4), (277, 3, 1, samples), (278, 4, 1, height), (279, 4, 1, 16),
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\0\0\0\0"
    return b"II*\x00" + struct.pack("<I", 8) + ifd + bytes(16)


def _bmp_header(width: int, height: int, bits: int = 24) -> bytes:
    """A BMP (BITMAPINFOHEADER) that claims width x height (height < 0: top-down) with 64 bytes of pixels."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bits, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + 64, 0, 0, 14 + 40) + info + bytes(64)


def _webp_vp8x(width: int, height: int) -> bytes:
    """A WebP extended header (VP8X) that claims a width x height canvas and has no image data."""
    chunk = b"VP8X" + struct.pack("<I", 10) + bytes(4) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def _webp_vp8l_header(width: int, height: int) -> bytes:
    """A lossless WebP bitstream header claiming width x height (14 bits each), then garbage."""
    bits = (width - 1) | ((height - 1) << 14)
    payload = b"\x2f" + struct.pack("<I", bits) + bytes(32)
    chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


_TYPES = {"ASCII": 2, "SHORT": 3, "LONG": 4, "RATIONAL": 5, "SRATIONAL": 10, "DOUBLE": 12}


def _entry(tag: int, kind: str, values, count: int | None = None, offset: int | None = None):
    """One IFD entry: (tag, type, count, payload bytes, forced offset or None)."""
    t = _TYPES[kind]
    if kind == "ASCII":
        payload = values.encode("latin-1") + b"\0"
    elif kind in ("RATIONAL", "SRATIONAL"):
        fmt = "<II" if kind == "RATIONAL" else "<ii"
        payload = b"".join(struct.pack(fmt, n, d) for n, d in values)
    elif kind == "DOUBLE":
        payload = b"".join(struct.pack("<d", v) for v in values)
    else:
        payload = b"".join(struct.pack("<H" if kind == "SHORT" else "<I", v) for v in values)
    size = {2: 1, 3: 2, 4: 4, 5: 8, 10: 8, 12: 8}[t]
    return (tag, t, len(payload) // size if count is None else count, payload, offset)


def exif_block(ifd0: list, exif_ifd: list) -> bytes:
    """A little-endian EXIF block ("Exif\\0\\0" + TIFF) with IFD0 and an Exif sub-IFD, laid out by hand so
    that types, counts and offsets can lie."""
    def layout(entries, start):
        table_end = start + 2 + 12 * len(entries) + 4
        table, data = struct.pack("<H", len(entries)), b""
        for tag, t, count, payload, forced in entries:
            if forced is not None:
                table += struct.pack("<HHII", tag, t, count, forced)
            elif len(payload) <= 4:
                table += struct.pack("<HHI", tag, t, count) + payload.ljust(4, b"\0")
            else:
                table += struct.pack("<HHII", tag, t, count, table_end + len(data))
                data += payload + b"\0" * (len(payload) % 2)
        return table + b"\0\0\0\0" + data

    with_pointer = ifd0 + [(0x8769, 4, 1, b"", 0)]  # placeholder: the size of IFD0 does not depend on it
    first = layout(with_pointer, 8)
    with_pointer[-1] = (0x8769, 4, 1, b"", 8 + len(first))
    first = layout(with_pointer, 8)
    return b"Exif\0\0" + b"II*\x00" + struct.pack("<I", 8) + first + layout(exif_ifd, 8 + len(first))


_STORE = {  # the stored pixels for each EXIF orientation, so that the upright picture is the original
    1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270,
}


def _fingerprint_safe_symlink(link: Path, target: str) -> Path:
    link.symlink_to(target)
    return link


# --- the corpus ---------------------------------------------------------------------------------------------


def make_corpus(root: Path, face: np.ndarray, other_face: np.ndarray) -> Corpus:
    """Write the corpus into ``root`` (an empty folder). ``face`` and ``other_face`` are RGB portraits with one
    usable face each (the test suite's astronaut and Grace Hopper)."""
    from skimage import data as skdata

    from tests.conftest import three_faces

    c = Corpus(root=root)
    d = root / "in"
    d.mkdir()
    rng = np.random.default_rng(10)
    good_jpeg = _jpeg(face)
    noise_rgb = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    no_face = np.ascontiguousarray(skdata.coffee())  # a real photo without a face
    h, w = face.shape[:2]

    def put(case: str, name: str, content: bytes) -> Path:
        path = d / name
        path.write_bytes(content)
        c.files[case] = path
        return path

    refused: list[str] = []  # broken files, nearly all refused while loading: one batch

    def bad(case: str, name: str, content: bytes) -> Path:
        refused.append(case)
        return put(case, name, content)

    # Not images at all.
    bad("empty", "empty.jpg", b"")
    bad("text", "notes.jpg", b"shopping list: milk, eggs\n")
    bad("zeros", "zeros.png", bytes(4096))
    bad("random", "random.jpg", rng.integers(0, 256, 10_000, dtype=np.uint8).tobytes())
    bad("html_as_png", "page.png", b"<!doctype html><html><body>hi</body></html>\n")
    bad("pdf", "scan.jpg", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    bad("svg_as_png", "vector.png", b'<svg xmlns="http://www.w3.org/2000/svg" width="4000" height="4000"/>')
    bad("gif", "anim.gif", _encode(Image.fromarray(noise_rgb), "GIF"))
    bad("ico", "icon.jpg", _encode(Image.fromarray(noise_rgb[:64, :64]), "ICO"))
    bad("ppm", "frame.ppm", _encode(Image.fromarray(noise_rgb), "PPM"))
    bad("heic_junk", "phone.heic", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + rng.integers(0, 256, 2000, dtype=np.uint8).tobytes())
    bad("mp4_as_heic", "clip.heic", b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2" + bytes(500))
    # Truncated at many points.
    for cut in (2, 3, 4, 20, 100, 400, len(good_jpeg) // 4, len(good_jpeg) // 2, len(good_jpeg) * 3 // 4, len(good_jpeg) - 2):
        bad(f"jpeg_cut_{cut}", f"cut_{cut}.jpg", good_jpeg[:cut])
    good_png = _encode(Image.fromarray(face), "PNG")
    for cut in (8, 16, 33, len(good_png) // 2):
        bad(f"png_cut_{cut}", f"cut_{cut}.png", good_png[:cut])
    for fmt, suffix in (("TIFF", "tif"), ("WEBP", "webp"), ("BMP", "bmp")):
        whole = _encode(Image.fromarray(face), fmt)
        bad(f"{suffix}_cut", f"cut.{suffix}", whole[: len(whole) // 2])
    # Huge sizes in headers (none of them carries the pixels).
    bad("png_65535", "bomb_65535.png", _png(65535, 65535, zlib.compress(bytes(64))))
    bad("png_2g", "bomb_2g.png", _png(2**31 - 1, 2**31 - 1, zlib.compress(bytes(64))))
    bad("png_zero", "zero_size.png", _png(0, 0, zlib.compress(bytes(64))))
    bad("jpeg_65535", "sof_65535.jpg", _jpeg_with_size(good_jpeg, 65535, 65535))
    bad("jpeg_zero_width", "sof_zero.jpg", _jpeg_with_size(good_jpeg, 0, 512))
    bad("tiff_huge", "huge.tif", _tiff_header_only(100_000, 100_000))
    bad("tiff_4g", "huge4g.tif", _tiff_header_only(2**32 - 1, 2**32 - 1, bits=16))
    bad("bmp_huge", "huge.bmp", _bmp_header(2**31 - 1, 2**31 - 1))
    bad("bmp_negative", "negative.bmp", _bmp_header(20000, -20000))
    bad("webp_canvas", "canvas.webp", _webp_vp8x(16384, 16384))
    bad("webp_lossless_header", "lossless.webp", _webp_vp8l_header(16384, 16384))
    # Valid headers over the pixel limit, with real (compressed) pixels: decompression bombs.
    bad("bomb_real_png", "bomb_real.png", _png_zeros(12000, 9000))
    # 9999 x 9999 (just under the limit) with one row of pixels: loads black, with a warning, and has no face.
    bad("giant_valid_header_png", "giant.png", _png(9999, 9999, zlib.compress(b"\0" + bytes(3 * 9999))))
    # Too small.
    bad("tiny", "tiny.png", _encode(Image.new("RGB", (1, 1)), "PNG"))
    bad("thin", "thin.jpg", _jpeg(np.zeros((63, 500, 3), np.uint8)))
    # A JPEG start marker and then junk: refused quickly, not after a minute of scanning.
    bad("jpeg_soi_junk", "junk_after_soi.jpg", b"\xff\xd8\xff\xe0\0\x10JFIF\0\1\1\0\0\1\0\1\0\0" + bytes(3_000_000))
    sparse = d / "sparse_1g.jpg"  # 1 GB, but no disk: a hole after the JPEG start marker
    with open(sparse, "wb") as f:
        f.write(b"\xff\xd8\xff\xe0")
        f.truncate(1_000_000_000)
    c.files["sparse_1g"] = sparse
    refused.append("sparse_1g")
    # Special entries: refused without blocking or reading forever.
    if hasattr(os, "mkfifo"):
        os.mkfifo(d / "pipe.jpg")
        c.files["fifo"] = d / "pipe.jpg"
        refused.append("fifo")
    if os.path.exists("/dev/zero"):
        c.files["dev_zero_link"] = _fingerprint_safe_symlink(d / "zero.jpg", "/dev/zero")
        refused.append("dev_zero_link")
    (d / "album.jpg").mkdir()
    c.files["folder_named_jpg"] = d / "album.jpg"
    refused.append("folder_named_jpg")
    c.files["symlink_loop"] = _fingerprint_safe_symlink(d / "loop.jpg", "loop.jpg")
    refused.append("symlink_loop")
    c.files["dangling_link"] = _fingerprint_safe_symlink(d / "gone.jpg", "nowhere/gone.jpg")
    refused.append("dangling_link")
    if hasattr(os, "geteuid") and os.geteuid() != 0:  # root reads anything: no such case there
        locked = put("unreadable", "locked.jpg", good_jpeg)
        locked.chmod(0)
        refused.append("unreadable")
    # Polyglots.
    bad("pdf_with_jpeg", "doc.jpg", b"%PDF-1.4\n" + good_jpeg + b"\n%%EOF\n")
    bad("gif_js", "gifjs.png", b"GIF89a/*" + bytes(20) + b"*/=1;alert(1)//")

    # --- files that reach the face analysis ----------------------------------------------------------
    faces: list[str] = []

    def photo(case: str, name: str, content: bytes) -> Path:
        faces.append(case)
        return put(case, name, content)

    for orientation, op in _STORE.items():
        stored = Image.fromarray(face) if op is None else Image.fromarray(face).transpose(op)
        exif = Image.Exif()
        exif[0x0112] = orientation
        photo(f"exif_orientation_{orientation}", f"rot{orientation}.jpg", _encode(stored, "JPEG", quality=90, exif=exif.tobytes()))
    photo("png_as_jpg", "really_png.jpg", good_png)
    photo("png_without_iend", "no_iend.png", good_png[:-12])  # every pixel there: loads
    photo("jpeg_as_tif", "really_jpeg.tif", good_jpeg)
    photo("junk_after_jpeg", "junk_after_end.jpg", good_jpeg + rng.integers(0, 256, 300_000, dtype=np.uint8).tobytes())
    photo("jpeg_with_zip", "polyglot_zip.jpg", good_jpeg + b"PK\x03\x04" + bytes(26) + b"PK\x05\x06" + bytes(18))
    photo("png_with_html", "polyglot_html.png", good_png + b"<html><script>alert(1)</script></html>")
    noise = rng.integers(0, 256, 200, dtype=np.uint8).tobytes()
    mid = len(good_jpeg) * 9 // 10
    photo("corrupt_entropy", "corrupt_entropy.jpg", good_jpeg[:mid] + noise + good_jpeg[mid + 200 :])
    photo("cut_with_eoi", "cut_with_eoi.jpg", good_jpeg[: len(good_jpeg) * 3 // 4] + b"\xff\xd9")
    zeroed = bytearray(good_jpeg)
    zeroed[len(zeroed) // 2 : len(zeroed) // 2 + 2000] = bytes(2000)
    photo("zeroed_entropy", "zeroed_entropy.jpg", bytes(zeroed))
    photo("no_face", "coffee.jpg", _jpeg(no_face))
    photo("several_faces", "group.png", _encode(Image.fromarray(three_faces(other_face)), "PNG"))
    photo("face_cut_by_border", "cut_face.jpg", _jpeg(np.ascontiguousarray(face[:, w * 2 // 5 :])))
    photo("blank_64", "blank.png", _encode(Image.new("RGB", (64, 64), (128, 128, 128)), "PNG"))
    # Pixel formats.
    gray = Image.fromarray(face).convert("L")
    photo("mode_1bit_tiff", "bilevel.tif", _encode(gray.convert("1"), "TIFF"))
    photo("mode_palette_tiff", "palette.tif", _encode(Image.fromarray(face).convert("P"), "TIFF"))
    photo("mode_la_png", "gray_alpha.png", _encode(gray.convert("LA"), "PNG"))
    photo("mode_cmyk_tiff", "cmyk.tif", _encode(Image.fromarray(face).convert("CMYK"), "TIFF"))
    photo("mode_cmyk_jpeg", "cmyk.jpg", _encode(Image.fromarray(face).convert("CMYK"), "JPEG", quality=90))
    photo("mode_gray16_png", "gray16.png", _encode(Image.fromarray((np.asarray(gray).astype(np.uint16) * 257)), "PNG"))
    photo("mode_float_tiff", "float.tif", _encode(Image.fromarray(np.asarray(gray, np.float32), mode="F"), "TIFF"))
    photo("mode_float_nan_tiff", "float_nan.tif", _encode(Image.fromarray(np.full((96, 128), np.nan, np.float32), mode="F"), "TIFF"))
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, face.astype(np.uint16) * 257, bigtiff=True, photometric="rgb", extratags=[(0x0112, "H", 1, 1, True)])
    photo("mode_rgb16_bigtiff", "rgb16_big.tif", buf.getvalue())
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.dstack([face, np.full((h, w, 1), 200, np.uint8)]).astype(np.uint16) * 257,
                     photometric="rgb", extrasamples=["unassalpha"])
    photo("mode_rgba16_tiff", "rgba16.tif", buf.getvalue())
    # Names: spaces, unicode, a newline, a leading dash (given to the batch as absolute paths).
    photo("name_spaces", "my photo  (1).jpg", good_jpeg)
    photo("name_unicode", "фото_自拍_é.jpg", good_jpeg)
    photo("name_newline", "two\nlines.jpg", good_jpeg)
    photo("name_dash", "-o.jpg", good_jpeg)
    # Crafted EXIF: implausible focal lengths, broken rationals, lying counts and offsets.
    maker = [_entry(0x010F, "ASCII", "Apple"), _entry(0x0110, "ASCII", "iPhone 12")]
    crafted = {
        "focal_1e6": [_entry(0x920A, "RATIONAL", [(1_000_000, 1)])],
        "focal_1e300_double": [_entry(0x920A, "DOUBLE", [1e300])],
        "focal_nan_double": [_entry(0x920A, "DOUBLE", [float("nan")])],
        "focal_negative": [_entry(0x920A, "SRATIONAL", [(-26, 1)])],
        "focal_zero_over_zero": [_entry(0x920A, "RATIONAL", [(0, 0)])],
        "focal_over_zero": [_entry(0x920A, "RATIONAL", [(26, 0)])],
        "focal35_65535": [_entry(0xA405, "SHORT", [65535])],
        "focal_tiny": [_entry(0x920A, "RATIONAL", [(1, 4_000_000_000)])],
        "huge_count": [_entry(0x920A, "RATIONAL", [(26, 1)], count=0x3FFFFFFF)],
        "huge_offset": [_entry(0x920A, "RATIONAL", [(26, 1)], offset=0xFFFFFF00)],
    }
    for case, exif_entries in crafted.items():
        photo(f"exif_{case}", f"exif_{case}.jpg", _encode(Image.fromarray(face), "JPEG", quality=90,
                                                        exif=exif_block(maker, exif_entries)))
    photo("exif_ifd_pointer_loop", "exif_loop.jpg", _encode(Image.fromarray(face), "JPEG", quality=90,
                                                           exif=b"Exif\0\0II*\x00\x08\0\0\0\x01\0\x69\x87\x04\0\x01\0\0\0\x08\0\0\0\0\0\0\0"))
    photo("exif_orientation_99", "rot99.jpg", _encode(Image.fromarray(face), "JPEG", quality=90,
                                                     exif=exif_block([_entry(0x0112, "SHORT", [99])], [])))

    _commands(c, d, refused, faces, good_jpeg)
    return c


def _commands(c: Corpus, d: Path, refused: list[str], faces: list[str], good_jpeg: bytes) -> None:
    root = c.root
    f = c.files
    add = c.commands.append

    def s(p: Path) -> str:
        return str(p)

    def copy(name: str) -> Path:
        """A fresh copy of the good photo, for a command that plays with its name or its outputs."""
        folder = root / "cmd"
        folder.mkdir(exist_ok=True)
        path = folder / name
        path.write_bytes(good_jpeg)
        return path

    # Batches of files.
    add(Command("batch_broken_files", ["undistort", *[s(f[k]) for k in refused], "-o", s(root / "out_refused/")],
                expect=REFUSED, timeout=120, batch=True))
    groups = {
        "exif_orientations": [k for k in faces if k.startswith("exif_orientation_")],
        "crafted_exif": [k for k in faces if k.startswith("exif_") and not k.startswith("exif_orientation_")],
        "pixel_formats": [k for k in faces if k.startswith("mode_")],
        "odd_content_and_names": [k for k in faces if not k.startswith(("exif_", "mode_"))],
    }
    for group, keys in groups.items():
        add(Command(f"batch_{group}", ["undistort", *[s(f[k]) for k in keys], "-o", s(root / f"out_{group}/")],
                    timeout=240, batch=True))
    # One photo through analyze, for each way a single file can be refused.
    for k in ("fifo", "dev_zero_link", "folder_named_jpg", "symlink_loop", "sparse_1g", "jpeg_soi_junk", "empty",
              "bomb_real_png", "unreadable", "heic_junk"):
        if k in f:
            add(Command(f"analyze_{k}", ["analyze", s(f[k])], expect=REFUSED, timeout=30))
    add(Command("analyze_corrupt_data_warns", ["analyze", s(f["cut_with_eoi"])], expect=OK,
                stderr_has=("warning: cut_with_eoi.jpg has corrupt image data",)))
    dash = copy("-dash.jpg")
    add(Command("analyze_leading_dash_after_double_dash", ["analyze", "--", s(dash.relative_to(root))], expect=OK))
    # The editor, asked for something that is not a photo file (no display in the test: refused either way).
    add(Command("editor_on_a_pipe", [s(f["fifo"])] if "fifo" in f else [s(f["folder_named_jpg"])], expect=REFUSED))
    add(Command("editor_on_a_folder", [s(f["folder_named_jpg"])], expect=REFUSED))
    # Outputs that would destroy an input, or each other.
    p = copy("json_is_input.jpg")
    add(Command("analyze_json_is_the_input", ["analyze", s(p), "--json", s(p)], expect=REFUSED))
    p = copy("edit_json_is_input.jpg")
    add(Command("edit_json_is_the_input", ["edit", s(p), "-o", s(root / "edit_json_is_input_out.jpg"), "--json", s(p)], expect=REFUSED))
    p = copy("json_is_output.jpg")
    add(Command("edit_json_is_the_output", ["edit", s(p), "-o", s(root / "json_is_output_out.jpg"),
                                            "--json", s(root / "json_is_output_out.jpg")], expect=REFUSED))
    p = copy("out_is_input.jpg")
    add(Command("undistort_output_is_the_input", ["undistort", s(p), "-o", s(p)], expect=REFUSED))
    p = copy("sidecar_victim.jpg.json")  # a photo whose name is the sidecar name of the output below
    add(Command("undistort_input_named_like_the_sidecar", ["undistort", s(p), "-o", s(root / "cmd" / "sidecar_victim.jpg")],
                expect=REFUSED))
    p = copy("same_via_dots.jpg")
    add(Command("undistort_output_is_the_input_spelled_differently",
                ["undistort", s(p), "-o", s(root / "cmd" / ".." / "cmd" / "." / "same_via_dots.jpg")], expect=REFUSED))
    p = copy("hardlinked.jpg")
    os.link(p, root / "cmd" / "hardlink_of_input.jpg")
    add(Command("undistort_output_is_a_hard_link_to_the_input",
                ["undistort", s(p), "-o", s(root / "cmd" / "hardlink_of_input.jpg")], expect=REFUSED))
    # Symbolic links at output paths: never written through.
    p = copy("link_src.jpg")
    victim = copy("victim.jpg")
    (root / "cmd" / "planted.jpg").symlink_to(victim)
    add(Command("undistort_to_a_planted_symlink", ["undistort", s(p), "-o", s(root / "cmd" / "planted.jpg")], expect=REFUSED))
    p2 = copy("link_src2.jpg")
    victim2 = copy("victim2.jpg")
    (root / "cmd" / "planted2.jpg").symlink_to(victim2)
    add(Command("undistort_overwrite_a_planted_symlink", ["undistort", s(p2), "-o", s(root / "cmd" / "planted2.jpg"), "--overwrite"],
                may_change=(root / "cmd" / "planted2.jpg", root / "cmd" / "planted2.jpg.json")))
    p = copy("link_to_input_src.jpg")
    (root / "cmd" / "link_to_input.jpg").symlink_to(p)
    add(Command("undistort_overwrite_a_symlink_to_the_input",
                ["undistort", s(p), "-o", s(root / "cmd" / "link_to_input.jpg"), "--overwrite"],
                may_change=(root / "cmd" / "link_to_input.jpg", root / "cmd" / "link_to_input.jpg.json")))
    # Output names and folders.
    p = copy("outputs.jpg")
    for case, out in (
        ("gif", root / "o.gif"), ("no_suffix", root / "o_no_suffix"), ("webp", root / "o.webp"),
        ("missing_folder", root / "missing" / "deeper" / "o.jpg"), ("empty_name", Path("")),
        ("sidecar_suffix", root / "o.jpg.json"), ("heic", root / "o.heic"),
    ):
        add(Command(f"undistort_output_{case}", ["undistort", s(p), "-o", s(out) if str(out) != "." else ""], expect=REFUSED))
    (root / "existing_folder").mkdir()
    add(Command("undistort_output_is_an_existing_folder", ["undistort", s(p), "-o", s(root / "existing_folder")],
                must_exist=(root / "existing_folder" / "outputs.jpg",)))
    (root / "one.jpg").write_bytes(good_jpeg)
    add(Command("undistort_several_photos_output_is_a_file", ["undistort", s(p), s(f["exif_orientation_1"]), "-o", s(root / "one.jpg")],
                expect=REFUSED, batch=True))
    (root / "sidecar_is_folder.jpg.json").mkdir()
    add(Command("undistort_sidecar_path_is_a_folder", ["undistort", s(p), "-o", s(root / "sidecar_is_folder.jpg")], expect=REFUSED))
    add(Command("edit_report_is_a_folder", ["edit", s(p), "-o", s(root / "report_folder.jpg"), "--json", s(root / "existing_folder")],
                expect=REFUSED))
    add(Command("edit_mesh_missing_folder", ["edit", s(p), "-o", s(root / "mesh_missing.jpg"), "--mesh", s(root / "nope" / "head.glb")],
                expect=REFUSED))
    add(Command("edit_mesh_bad_suffix", ["edit", s(p), "-o", s(root / "mesh_bad.jpg"), "--mesh", s(root / "head.stl")], expect=REFUSED))
    mesh_dir = root / "mesh_here"
    mesh_dir.mkdir()
    (mesh_dir / "material_0.png").write_bytes(good_jpeg)  # someone's file that an OBJ export must not replace
    add(Command("edit_obj_mesh_beside_other_files", ["edit", s(p), "-o", s(mesh_dir / "edited.jpg"), "--yaw", "10",
                                                     "--mesh", s(mesh_dir / "head.obj")], expect=OK,
                must_exist=(mesh_dir / "edited.jpg", mesh_dir / "head.obj")))
    add(Command("undistort_mesh_with_several_photos", ["undistort", s(p), s(f["exif_orientation_1"]), "-o", s(root / "mesh_batch/"),
                                                       "--mesh", s(root / "head.glb")], expect=REFUSED, batch=True))
    # A batch whose photos share a name: every result kept.
    for sub in ("a", "b"):
        (root / "clash" / sub).mkdir(parents=True)
        (root / "clash" / sub / "IMG_1.jpg").write_bytes(good_jpeg)
    (root / "clash" / "IMG_1.png").write_bytes(_encode(Image.open(io.BytesIO(good_jpeg)), "PNG"))
    add(Command("undistort_batch_colliding_names",
                ["undistort", s(root / "clash" / "a" / "IMG_1.jpg"), s(root / "clash" / "b" / "IMG_1.jpg"),
                 s(root / "clash" / "IMG_1.png"), s(root / "clash" / "a" / "IMG_1.jpg"), "-o", s(root / "out_clash/")],
                expect=OK, timeout=240, batch=True))
    # Numbers: NaN, infinities, negative, zero, huge, for every numeric option.
    numeric = {
        "yaw": ["nan", "inf", "-inf", "1e308", "-1e308", "360", "1e-320"],
        "pitch": ["nan", "-inf", "90", "1e300"],
        "focal": ["0", "-85", "nan", "inf", "1e300", "1e-300", "0.5"],
        "capture-focal": ["0", "-26", "nan", "inf", "1e300", "1199", "1e-300"],
        "distance-cm": ["0", "-30", "nan", "inf", "1e300", "1e-300"],
        "quality": ["0", "101", "-1", "nan", "95.5", "1e9"],
        "face": ["-1", "99", "1e3", "nan", "0x1"],
    }
    for option, values in numeric.items():
        for value in values:
            tag = value.replace(".", "_").replace("-", "neg")
            add(Command(f"edit_{option}_{tag}", ["edit", s(p), "-o", s(root / f"num_{option}_{tag}.jpg"), f"--{option}={value}"]))
    add(Command("analyze_capture_focal_nan", ["analyze", s(p), "--capture-focal", "nan"], expect=REFUSED))
    add(Command("analyze_face_99", ["analyze", s(p), "--face", "99"], expect=REFUSED))
    # Usage.
    add(Command("unknown_command", ["frobnicate", s(p)], expect=REFUSED))
    add(Command("edit_without_output", ["edit", s(p)], expect=REFUSED))
    add(Command("undistort_without_photos", ["undistort", "-o", s(root / "nothing.jpg")], expect=REFUSED))
    add(Command("unknown_option", ["undistort", s(p), "-o", s(root / "unknown_option.jpg"), "--fast"], expect=REFUSED))
