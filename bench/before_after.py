"""Render the before/after sheet in docs/: real photos that packages ship, each with its edits.

    .venv/bin/python -m bench.before_after [OUT.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EDITS = (("input", None), ("undistort (85 mm)", dict(focal_35mm=85.0)), ("yaw +15", dict(yaw_deg=15.0)),
         ("yaw -15", dict(yaw_deg=-15.0)), ("pitch +10", dict(pitch_deg=10.0)))


def text_band(text: str, width: int, height: int = 24, shade: int = 235, scale: float = 0.5) -> np.ndarray:
    """(height, width, 3) uint8: a flat band with one line of black text."""
    band = np.full((height, width, 3), shade, np.uint8)
    cv2.putText(band, text, (6, height - 7), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return band


def labelled_tile(img: np.ndarray, label: str, width: int = 300) -> np.ndarray:
    """``img`` scaled to ``width`` px wide under a white label band."""
    tile = cv2.resize(img, (width, round(width * img.shape[0] / img.shape[1])), interpolation=cv2.INTER_AREA)
    return np.vstack([text_band(label, width, 26, 255, 0.55), tile])


def tile_row(tiles: list[np.ndarray]) -> np.ndarray:
    """Tiles side by side, the shorter ones padded white at the bottom."""
    h = max(t.shape[0] for t in tiles)
    return np.hstack([np.vstack([t, np.full((h - t.shape[0], t.shape[1], 3), 255, np.uint8)]) for t in tiles])


def photos():
    import matplotlib.cbook as cbook
    from PIL import Image
    from skimage import data

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        yield "Grace Hopper (matplotlib sample, public domain)", np.asarray(Image.open(f).convert("RGB"))
    yield "Eileen Collins (scikit-image astronaut, NASA, public domain)", np.ascontiguousarray(data.astronaut())


def main(argv: list[str]) -> int:
    from PIL import Image

    from super_gui.core.camera import View
    from super_gui.core.native_log import silence_native_logging
    from super_gui.core.image_io import load_photo
    from super_gui.app.pipeline import PortraitRenderer, prepare

    silence_native_logging()
    out = Path(argv[0]) if argv else ROOT / "docs" / "before_after.png"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for caption, rgb in photos():
            path = Path(tmp) / "photo.png"
            Image.fromarray(rgb).save(path)
            photo = load_photo(path)
            renderer = PortraitRenderer(prepare(photo))
            tiles = []
            for label, kw in EDITS:
                img = photo.rgb8 if kw is None else renderer.render(View(**kw), full=True).image
                tiles.append(labelled_tile(img, label))
            renderer.release()
            row = tile_row(tiles)
            rows.append(np.vstack([text_band(caption, row.shape[1]), row]))
    sheet = np.vstack(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(out, optimize=True)
    print(f"wrote {out} ({sheet.shape[1]}x{sheet.shape[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
