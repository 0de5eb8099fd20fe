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
    kv = k[..., None] if v.ndim == 3 else k
    stack = [(v * kv, k)]
    while len(stack) < levels and min(stack[-1][1].shape) >= 4:
        pv, pk = stack[-1]
        stack.append((cv2.pyrDown(pv), cv2.pyrDown(pk)))
    pv, pk = stack[-1]
    est = pv / np.maximum(pk[..., None] if v.ndim == 3 else pk, 1e-6)
    for pv, pk in reversed(stack[:-1]):
        up = cv2.resize(est, (pk.shape[1], pk.shape[0]), interpolation=cv2.INTER_LINEAR)
        a = np.clip(pk * 4.0, 0.0, 1.0)  # a level with some weight trusts itself
        own = pv / np.maximum(pk[..., None] if v.ndim == 3 else pk, 1e-6)
        a = a[..., None] if v.ndim == 3 else a
        est = a * own + (1 - a) * up
    kk = known[..., None] if v.ndim == 3 else known
    return np.where(kk, v, est).astype(np.float32)
