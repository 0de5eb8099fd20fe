"""core.fill.push_pull_fill: known pixels kept, holes filled from the pyramid; the finest level's shortcut
gives exactly the full blend."""

import cv2
import numpy as np
import pytest

from super_gui.core.fill import push_pull_fill


def _full_blend(values, known, levels=8):
    """The push-pull blend at every level, the finest included (the reference)."""
    v = np.asarray(values, dtype=np.float32)
    k = known.astype(np.float32)
    kv = k[..., None] if v.ndim == 3 else k
    stack = [(v * kv, k)]
    while len(stack) < levels and min(stack[-1][1].shape) >= 4:
        pv, pk = stack[-1]
        stack.append((cv2.pyrDown(pv), cv2.pyrDown(pk)))
    pv, pk = stack[-1]
    est = pv / np.maximum(pk[..., None] if v.ndim == 3 else pk, 1e-6)
    for pv, pk in reversed(stack[:-1]):
        up = cv2.resize(est, (pk.shape[1], pk.shape[0]), interpolation=cv2.INTER_LINEAR)
        a = np.clip(pk * 4.0, 0.0, 1.0)
        own = pv / np.maximum(pk[..., None] if v.ndim == 3 else pk, 1e-6)
        a = a[..., None] if v.ndim == 3 else a
        est = a * own + (1 - a) * up
    kk = known[..., None] if v.ndim == 3 else known
    return np.where(kk, v, est).astype(np.float32)


@pytest.mark.parametrize("channels", [None, 2, 3])
def test_the_fill_is_the_full_push_pull_blend(channels):
    rng = np.random.default_rng(7)
    for t in range(40):
        h, w = (int(n) for n in rng.integers(1, 160, 2))
        v = rng.normal(size=(h, w) if channels is None else (h, w, channels)).astype(np.float64 if t % 2 else np.float32)
        if t % 4 == 0:  # blobs, as the backends' masks are
            known = cv2.GaussianBlur(rng.uniform(size=(h, w)).astype(np.float32), (0, 0), 3) > 0.5
        else:
            known = rng.uniform(size=(h, w)) < rng.uniform()
        out = push_pull_fill(v, known)
        assert out.dtype == np.float32 and out.shape == v.shape
        assert np.array_equal(out, _full_blend(v, known))


def test_known_pixels_are_kept_and_a_hole_is_filled_between_its_sides():
    v = np.zeros((64, 64), np.float32)
    v[:, :20], v[:, 44:] = 1.0, 3.0
    known = np.zeros((64, 64), bool)
    known[:, :20] = known[:, 44:] = True
    out = push_pull_fill(v, known)
    assert np.array_equal(out[known], v[known])
    assert np.all(np.diff(out[32, 18:46]) >= -1e-6) and 1.0 < out[32, 32] < 3.0
