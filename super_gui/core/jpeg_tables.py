"""What a JPEG's header says about how it was written: the quality its quantisation tables stand for
(against the IJG tables libjpeg scales by quality) and its chroma subsampling. Used when a photo is loaded
(``PhotoMetadata.jpeg_quality`` / ``jpeg_subsampling``) so that an export can match the original.

What it must not do: decode pixels or read files (it looks at an opened Pillow image's header only).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image

# The IJG example tables (JPEG standard, Annex K) in natural order, which libjpeg and Pillow scale by quality.
_IJG_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)
_IJG_CHROMA = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, *([99] * 32),
)


@functools.cache
def _ijg_tables() -> np.ndarray:
    """(100, 2, 64) float: log of the baseline luma and chroma tables for IJG qualities 1..100 (jcparam.c)."""
    quality = np.arange(1, 101)
    scale = np.where(quality < 50, 5000 // quality, 200 - 2 * quality)[:, None, None]
    base = np.array([_IJG_LUMA, _IJG_CHROMA])[None]
    return np.log(np.clip((base * scale + 50) // 100, 1, 255))


def estimate_jpeg_quality(quantization: Mapping[int, Sequence[int]]) -> int | None:
    """The IJG quality (1..100) whose scaled standard tables are closest (in log ratio) to ``quantization``
    (Pillow's ``Image.quantization``: table 0 luminance, 1 chrominance); None without usable tables. Exact
    for files written by libjpeg (Pillow, OpenCV, most software); the nearest for a phone's own tables."""
    try:
        tables = [np.asarray(quantization[i], dtype=np.float64) for i in sorted(quantization)[:2]]
    except (AttributeError, TypeError, ValueError, KeyError):
        return None
    if not tables or any(t.shape != (64,) or not (t >= 1).all() for t in tables):
        return None
    found = np.log(np.clip(np.stack(tables), 1, 255))
    error = np.abs(_ijg_tables()[:, : len(tables)] - found[None]).sum(axis=(1, 2))
    best = np.flatnonzero(error <= error.min() + 1e-9)  # several qualities can share one table set
    return int(round(best.mean())) + 1


def jpeg_subsampling(im: Image.Image) -> str | None:
    """"4:4:4", "4:2:2" or "4:2:0" by how many luma samples share a chroma sample; None unless YCbCr-like."""
    layers = getattr(im, "layer", None)
    if not layers or len(layers) != 3:
        return None
    try:
        (_, h0, v0, _), (_, h1, v1, _), (_, h2, v2, _) = layers
        shared = (h0 * v0) / max(h1 * v1, h2 * v2)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return "4:4:4" if shared <= 1 else "4:2:2" if shared < 4 else "4:2:0"
