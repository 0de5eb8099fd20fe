"""Smooth hole filling (push-pull over an image pyramid): fast, seamless, for low-frequency content
such as a background plate behind the person or an offset field. No Qt."""

from __future__ import annotations

import cv2
import numpy as np


def push_pull_fill(values: np.ndarray, known: np.ndarray, levels: int = 8) -> np.ndarray:
    """Fill the pixels where ``known`` is False from the known ones.

    values: (h, w) or (h, w, c) float32; known: (h, w) bool. Known pixels are returned unchanged; holes get
    a smooth interpolation that meets them without a step.
    """
    v = np.asarray(values, dtype=np.float32)
    k = known.astype(np.float32)
    chan = (lambda a: a[..., None]) if v.ndim == 3 else (lambda a: a)  # noqa: E731
    stack = [(v * chan(k), k)]
    while len(stack) < levels and min(stack[-1][1].shape) >= 4:
        pv, pk = stack[-1]
        stack.append((cv2.pyrDown(pv), cv2.pyrDown(pk)))
    pv, pk = stack[-1]
    est = pv / np.maximum(chan(pk), 1e-6)
    if len(stack) == 1:
        return np.where(chan(known), v, est).astype(np.float32)
    for pv, pk in reversed(stack[1:-1]):
        up = cv2.resize(est, (pk.shape[1], pk.shape[0]), interpolation=cv2.INTER_LINEAR)
        a = chan(np.clip(pk * 4.0, 0.0, 1.0))  # a level with some weight trusts itself
        own = pv / np.maximum(chan(pk), 1e-6)
        est = a * own + (1 - a) * up
    # The finest level's weights are 0 or 1: each pixel is its known value or the estimate from below (what
    # the blend above would give there, without its five full-size passes).
    out = cv2.resize(est, (v.shape[1], v.shape[0]), interpolation=cv2.INTER_LINEAR)
    np.copyto(out, v, where=chan(known))
    return out
