"""What the decoders say about damaged files, checked without trusting the decoder's silence: junk before
a JPEG's frame header (refused quickly instead of decoded for a minute), libjpeg's own damage messages
(caught from its stderr while OpenCV decodes a small copy), and PNG pixel data that ends before the last row
(Pillow paints the rest black). :func:`~super_gui.core.image_io.load_photo` turns the findings into a
refusal or a ``Photo.warnings`` sentence.

What it must not do: import Qt, write files, or keep stderr redirected beyond one decode.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
import struct
import sys
import tempfile
import threading
import zlib
from typing import Iterator

import numpy as np

JPEG_SOI = b"\xff\xd8\xff"
JPEG_JUNK_LIMIT = 1 << 16  # bytes outside any segment tolerated before the frame header (libjpeg skips them too)
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # frame headers; C4/C8/CC are DHT, JPG, DAC
_JPEG_STANDALONE = frozenset(range(0xD0, 0xD9)) | {0x00, 0x01}  # RSTn, SOI, stuffing, TEM: no length field


def jpeg_junk_before_frame(buf: bytes | mmap.mmap) -> int:
    """How many bytes of a JPEG belong to no segment before its frame header (SOFn); a tidy file has none.

    Walks the segments by their lengths (a jump each, however big the EXIF or ICC blocks are) and stops
    counting a little past :data:`JPEG_JUNK_LIMIT`, so the walk is quick whatever follows the start marker.
    The end of the data or a scan before the frame header stop it too: the decoder then says what is wrong.
    """
    pos, junk, end = 2, 0, len(buf)
    while pos < end and junk <= JPEG_JUNK_LIMIT:
        if buf[pos] != 0xFF:
            found = buf.find(b"\xff", pos, pos + JPEG_JUNK_LIMIT + 1)
            stop = found if found >= 0 else min(end, pos + JPEG_JUNK_LIMIT + 1)
            junk, pos = junk + stop - pos, stop
            continue
        fill = pos
        while fill < end and buf[fill] == 0xFF and fill - pos <= JPEG_JUNK_LIMIT:
            fill += 1
        junk += fill - pos - 1  # a marker may follow any number of 0xFF fill bytes; a few are fine
        if fill >= end or buf[fill] == 0xFF:
            pos = fill
            continue
        marker, pos = buf[fill], fill + 1
        if marker in _JPEG_SOF or marker in (0xD9, 0xDA):  # the frame; or the end or a scan without one
            break
        if marker in _JPEG_STANDALONE:  # out of place before a frame: count it as junk
            junk += 2
            continue
        if pos + 2 > end:
            break
        pos += (buf[pos] << 8) | buf[pos + 1]
    return junk


# The first warning libjpeg prints about damaged data (it prints only the first); benign notes (an unknown JFIF
# revision, an Adobe transform code) are not about the picture and are not reported.
_LIBJPEG_DAMAGE = re.compile(
    r"^(Corrupt JPEG data|Premature end of JPEG file|Invalid SOS parameters|Inconsistent progression)[^\n]*", re.M
)
_STDERR_LOCK = threading.Lock()


def jpeg_decoder_warnings(name: str, data: bytes) -> tuple[str, ...]:
    """A sentence for the user when libjpeg reports damaged data that it decodes past (garbled, not refused).

    Pillow's decoder swallows libjpeg's warnings, so OpenCV decodes the file a second time at 1/8 scale (the
    entropy-coded data is still read in full; ~15-40 ms for 12 MP) with the process's stderr going to a
    temporary file, where libjpeg writes them. Anything else written to stderr meanwhile is passed on.
    """
    import cv2

    try:
        with _stderr_captured() as captured:
            cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8 | cv2.IMREAD_IGNORE_ORIENTATION)
    except OSError:  # no usable stderr to redirect: the check is skipped, the photo still loads
        return ()
    found = _LIBJPEG_DAMAGE.search(captured[0])
    if found is None:
        return ()
    said = found[0].strip().rstrip(".")
    said = said[0].lower() + said[1:] if said.startswith("Corrupt") or said.startswith("Premature") else said
    return (f"{name} has corrupt image data (the JPEG decoder says: {said}); parts of the picture may be garbled.",)


@contextlib.contextmanager
def _stderr_captured() -> Iterator[list[str]]:
    """File descriptor 2 goes to a temporary file inside; yields a list that then holds its text.

    What is not libjpeg's damage report is written back to the real stderr afterwards, so other threads'
    messages are delayed, never lost. One capture at a time (a lock), as fd 2 is the whole process's.
    """
    captured: list[str] = [""]
    with _STDERR_LOCK, tempfile.TemporaryFile() as sink:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(sink.fileno(), 2)
            try:
                yield captured
            finally:
                with contextlib.suppress(Exception):
                    sys.stderr.flush()
                os.dup2(saved, 2)
        finally:
            os.close(saved)
        sink.seek(0)
        captured[0] = sink.read().decode("utf-8", "replace")
        others = _LIBJPEG_DAMAGE.sub("", captured[0]).replace("\n\n", "\n").lstrip("\n")
        if others:
            os.write(2, others.encode("utf-8", "replace"))


_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def png_short_data(name: str, data: bytes) -> tuple[str, ...]:
    """A sentence for the user when a PNG's compressed pixel data ends before its last row.

    Pillow paints the missing rows black without a word, so the IDAT stream is inflated once more, counting
    bytes and keeping none (~12 ms a megapixel, so it is asked only when the last row came out black); it stops
    as soon as every row is there. An unreadable stream is the decoder's to refuse, not this check's.
    """
    try:
        width, height, depth, colour, _, _, interlace = struct.unpack_from(">IIBBBBB", data, 16)
        channels = _PNG_CHANNELS[colour]
        passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
        expected = 0
        for x0, y0, dx, dy in passes:
            w, h = -(-(width - x0) // dx), -(-(height - y0) // dy)
            if w > 0 and h > 0:
                expected += h * (1 + -(-w * channels * depth // 8))
        inflate, got, pos = zlib.decompressobj(), 0, 8
        while pos + 8 <= len(data) and got < expected:
            length, kind = struct.unpack_from(">I4s", data, pos)
            if kind == b"IDAT":
                pending = data[pos + 8 : pos + 8 + length]
                while pending and got < expected:
                    got += len(inflate.decompress(pending, 1 << 20))
                    pending = inflate.unconsumed_tail
            elif kind == b"IEND":
                break
            pos += 12 + length
        if got < expected:
            got += len(inflate.flush())
    except (KeyError, struct.error, zlib.error, ValueError):
        return ()
    if got >= expected:
        return ()
    return (f"{name} has corrupt image data (its pixel data ends early); parts of the picture may be missing.",)
