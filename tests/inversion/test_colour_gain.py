"""The mirror's colour gain: its wide blurs made on a coarser grid give the full-resolution blurs' gain."""

from __future__ import annotations

import cv2
import numpy as np

from super_gui.core.fill import push_pull_fill
from super_gui.inversion.landmark import colour_gain


def _full_resolution_gain(small, mirrored, good):
    """The gain with every blur at the working grid's own resolution (what colour_gain approximates)."""
    sigma = max(2.0, good.shape[1] / 25.0)
    num = cv2.GaussianBlur(small.astype(np.float32) * good[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(mirrored * good[..., None], (0, 0), sigma)
    cover = cv2.GaussianBlur(good, (0, 0), sigma)
    return push_pull_fill((num + 1.0) / (den + 1.0), cover > 0.05), cover


def _scene(h, w, seed):
    """A textured photo, its mirror twin lit differently (a smooth gain of 0.7-1.4), and a face-like blob."""
    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.uniform(40, 220, (h, w, 3)).astype(np.float32), (0, 0), 2)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    light = 1.05 + 0.35 * np.sin(3 * xx + 1)[..., None] * np.cos(2 * yy)[..., None] * np.array([1.0, 0.8, 0.6])
    small = np.clip(texture, 0, 255).astype(np.uint8)
    mirrored = (texture / light).astype(np.float32)
    good = (((xx - 0.5) / 0.3) ** 2 + ((yy - 0.5) / 0.4) ** 2 < 1).astype(np.float32)
    good *= rng.uniform(size=(h, w)) > 0.1  # (holes: glasses, hair)
    return small, mirrored, good


def test_the_coarse_blurs_give_the_full_resolution_gain():
    for seed, (h, w) in enumerate([(640, 574), (480, 640), (333, 250)]):
        small, mirrored, good = _scene(h, w, seed)
        ours = colour_gain(small, mirrored, good)
        ref, cover = _full_resolution_gain(small, mirrored, good)
        assert ours.shape == (h, w, 3) and ours.dtype == np.float32
        well = cover > 0.2  # (where the mirror is used, the gain is measured, not filled)
        # (in levels of the 8-bit gain the renderer reads: here ~0.3 at most, ~0.005 on average; a sigma 3 %
        # off reads ~0.04 on average)
        assert np.abs(ours - ref)[well].max() < 0.5 / 127.5
        assert np.abs(ours - ref).mean() < 0.02 / 127.5


def test_a_grid_too_small_for_a_coarser_one_blurs_at_its_own_resolution():
    small, mirrored, good = _scene(120, 90, 5)  # sigma 3.6 px: no coarser grid
    ref, _ = _full_resolution_gain(small, mirrored, good)
    assert np.array_equal(colour_gain(small, mirrored, good), ref)


def test_nothing_seen_well_on_both_sides_is_no_gain():
    small, mirrored, good = _scene(200, 160, 6)
    assert np.array_equal(colour_gain(small, mirrored, np.zeros_like(good)), np.ones((200, 160, 3), np.float32))
