"""Laying one face's rendered window over an image in which other faces may already be edited (a group photo
with several faces edited: the windows are laid from the farthest face to the nearest, so nearer faces
cover farther ones where they overlap).

A window is (h, w, 4) uint8 as the renderer gives it: rgb = mix(original, edited, a), a = the paste weight.
Where a is 0 the image keeps what it has (the input's own pixels, or a farther face's edit); where it is
not, the window's edit goes over the image with weight a: ``rgb + (image - original) * (1 - a)``, which is
the window's rgb exactly wherever no other face changed the image (a 16-bit image gets rgb * 257 there, as
a single face's paste does). Works a band of rows at a time. No Qt.
"""

from __future__ import annotations

import numpy as np

from super_gui.core.strips import strips


def paste_over(image: np.ndarray, original: np.ndarray, crop: np.ndarray, ox: int, oy: int) -> None:
    """Lay ``crop`` ((h, w, 4) uint8) over ``image`` ((H, W, 3) uint8 or uint16, in place) at (``ox``,
    ``oy``); ``original`` is the image as it was before any face was laid (same shape and dtype)."""
    h, w = crop.shape[:2]
    region = image[oy : oy + h, ox : ox + w]
    before = original[oy : oy + h, ox : ox + w]
    h, w = region.shape[:2]  # (a window never leaves the image; clipped all the same)
    wide = image.dtype == np.uint16
    top = 65535.0 if wide else 255.0
    for rows in strips(h, w):
        c = crop[rows][:, :w]
        r, b = region[rows], before[rows]
        touched = c[..., 3:4] > 0
        if np.array_equal(r, b):  # no other face laid here yet: the window's own pixels (a single face's paste)
            np.copyto(r, c[..., :3].astype(np.uint16) * 257 if wide else c[..., :3], where=touched)
            continue
        keep = 1.0 - c[..., 3:4].astype(np.float32) / 255.0
        rgb = c[..., :3].astype(np.float32)
        if wide:
            rgb *= 257.0
        laid = rgb + (r.astype(np.float32) - b.astype(np.float32)) * keep  # over what farther faces changed
        np.copyto(r, np.clip(np.rint(laid), 0.0, top).astype(image.dtype), where=touched)
