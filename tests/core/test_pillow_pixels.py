"""core.pillow_pixels: a photo decoded and packed in fewer calls gives exactly what Pillow's own loops give."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from super_gui.core import pillow_pixels


def _jpeg(size=(321, 207), progressive=False) -> bytes:
    rng = np.random.default_rng(3)
    im = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, progressive=progressive)
    return out.getvalue()


@pytest.mark.parametrize("progressive", [False, True])
def test_a_jpeg_decoded_in_big_blocks_is_the_same(monkeypatch, progressive):
    data = _jpeg(progressive=progressive)
    ours = Image.open(io.BytesIO(data))
    pillow_pixels.load(ours)
    assert ours.decodermaxblock == pillow_pixels.DECODE_BLOCK
    theirs = Image.open(io.BytesIO(data))
    theirs.load()
    assert ours.tobytes() == theirs.tobytes()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
def test_the_array_is_np_asarray(mode):
    rng = np.random.default_rng(4)
    im = Image.fromarray(rng.integers(0, 256, (37, 53, 4), dtype=np.uint8), "RGBA").convert(mode)
    ours, theirs = pillow_pixels.as_array(im), np.asarray(im, dtype=np.uint8)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert np.array_equal(ours, theirs)
    assert not ours.flags.writeable  # (as np.asarray's)
