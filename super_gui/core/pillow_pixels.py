"""A photo's pixels out of Pillow in few calls: what ``Image.load()`` and ``np.asarray(image)`` give, with each
done in one or a few calls into Pillow's C code rather than one per 64 KB.

Both of Pillow's loops let Python's lock go around every call: the JPEG decoder is fed the file 64 KB at a
time (~80 calls for a 5 MB photo) and ``np.asarray`` packs the pixels 64 KB at a time (~550 calls for 12 MP
RGB, then joins the pieces: one more copy). Beside a thread that holds the lock (the editor's start-up
imports Qt and builds its window while its head start decodes the photo), each call waits for the lock
again: a 12 MP load took 0.35 s instead of 0.2 s beside one such thread. The values are the same: the decoder
is the same stream of bytes in bigger pieces, and the packing the same raw encoder writing all rows at once.
No Qt.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

DECODE_BLOCK = 1 << 24  # bytes of the file given to the decoder per call (Pillow's own: 64 KB)
_PACKED = ("RGB", "RGBA")  # 8 bits a channel: (h, w, 3) / (h, w, 4) uint8 arrays


def load(im: Image.Image) -> None:
    """``im.load()``, a JPEG's decoder given the file DECODE_BLOCK bytes at a time."""
    if im.format in ("JPEG", "MPO"):
        im.decodermaxblock = max(getattr(im, "decodermaxblock", 0), DECODE_BLOCK)
    im.load()


def as_array(im: Image.Image) -> np.ndarray:
    """``np.asarray(im, dtype=np.uint8)`` (read-only, as that is), an RGB or RGBA image's rows packed in one
    call; other modes (and a Pillow without its raw encoder where it is looked for) go through np.asarray."""
    im.load()
    encoder = getattr(Image, "_getencoder", None)
    if im.mode not in _PACKED or encoder is None or im.width == 0 or im.height == 0:
        return np.asarray(im, dtype=np.uint8)
    channels = len(im.mode)
    e = encoder(im.mode, "raw", im.mode)
    try:
        e.setimage(im.im, (0, 0, *im.size))
        parts = []
        while True:
            _, errcode, data = e.encode(im.width * im.height * channels + 1)
            parts.append(data)
            if errcode:
                break
        if errcode < 0:
            raise RuntimeError(f"encoder error {errcode} in tobytes")
    finally:
        e.cleanup()
    data = parts[0] if len(parts) == 1 else b"".join(parts)
    return np.frombuffer(data, np.uint8).reshape(im.height, im.width, channels)
