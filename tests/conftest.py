"""Shared fixtures: real photos that packages ship, and photos made from them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def _grace_hopper() -> np.ndarray:
    import matplotlib.cbook as cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(Image.open(f).convert("RGB"))


@pytest.fixture(scope="session")
def astronaut_rgb() -> np.ndarray:
    """(512, 512, 3) uint8: Eileen Collins, scikit-image's sample photo (public domain, NASA)."""
    return _astronaut()


@pytest.fixture(scope="session")
def grace_rgb() -> np.ndarray:
    """(600, 512, 3) uint8: Grace Hopper, matplotlib's sample photo (public domain)."""
    return _grace_hopper()


def save(rgb: np.ndarray, path: Path, **kw) -> Path:
    from PIL import Image

    Image.fromarray(rgb).save(path, **kw)
    return path


@pytest.fixture
def astronaut_jpg(tmp_path, astronaut_rgb) -> Path:
    return save(astronaut_rgb, tmp_path / "astronaut.jpg", quality=95)


@pytest.fixture
def grace_jpg(tmp_path, grace_rgb) -> Path:
    return save(grace_rgb, tmp_path / "grace_hopper.jpg", quality=95)


def three_faces(rgb: np.ndarray) -> np.ndarray:
    """Three copies of a portrait side by side, the middle one largest."""
    import cv2

    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (int(w * 0.8), int(h * 0.8)), interpolation=cv2.INTER_AREA)
    canvas = np.full((h, w * 3, 3), 200, np.uint8)
    y = (h - small.shape[0]) // 2
    canvas[y : y + small.shape[0], 0 : small.shape[1]] = small
    canvas[:, w : 2 * w] = rgb
    canvas[y : y + small.shape[0], 2 * w : 2 * w + small.shape[1]] = small
    return canvas


def four_faces(rgb: np.ndarray, scales: tuple[float, ...] = (0.8, 1.0, 0.9, 0.85)) -> np.ndarray:
    """A group of four: copies of a portrait side by side at ``scales`` (the second largest), each trimmed to the
    middle three quarters of its width and standing on the bottom edge (as wide a picture as ``three_faces``')."""
    import cv2

    h, w = rgb.shape[:2]
    cell = w * 3 // 4
    canvas = np.full((h, cell * len(scales), 3), 200, np.uint8)
    for k, s in enumerate(scales):
        copy = cv2.resize(rgb, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
        x0 = max(0, (copy.shape[1] - cell) // 2)
        part = copy[:, x0 : x0 + cell]
        x = k * cell + (cell - part.shape[1]) // 2
        canvas[h - part.shape[0] :, x : x + part.shape[1]] = part
    return canvas


def overlapping_faces(rgb: np.ndarray, gap: int = 200, far_scale: float = 0.75) -> np.ndarray:
    """Two people, the nearer overlapping the farther: a smaller copy of the portrait on the left, and the
    full-size person (cut out by MediaPipe's person mask) in front of it, ``gap`` px to the right."""
    import cv2

    from super_gui.core.face import detect_faces

    h, w = rgb.shape[:2]
    mask = cv2.resize(detect_faces(rgb)[1], (w, h))[..., None]
    far = cv2.resize(rgb, (int(w * far_scale), int(h * far_scale)), interpolation=cv2.INTER_AREA)
    canvas = np.empty((h, gap + w, 3), np.float32)
    canvas[:] = rgb[:, :1].mean(axis=(0, 1))
    canvas[h - far.shape[0] :, : far.shape[1]] = far
    canvas[:, gap:] = canvas[:, gap:] * (1.0 - mask) + rgb * mask
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def tiny_eg3d_checkpoint(tmp_path_factory) -> Path:
    """A tiny EG3D generator pickled as NVIDIA's checkpoints are (tests/inversion/eg3d/nvidia_format.py)."""
    from tests.inversion.eg3d import nvidia_format

    return nvidia_format.write_tiny_checkpoint(tmp_path_factory.mktemp("tiny_eg3d"), seed=3)
