"""A JPEG exports like the original (issue 10, item 12): its chroma subsampling by default, and on request
its quality, estimated from its quantisation tables, so a phone's 1 MB photo does not come back as 2.5 MB."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from super_gui.cli import build_parser
from super_gui.core.export import ORIGINAL_QUALITY, export_image
from super_gui.core.jpeg_tables import estimate_jpeg_quality
from super_gui.core.image_io import load_photo
from super_gui.errors import UserInputError


def _phone_jpeg(path, rgb, **kw):
    Image.fromarray(rgb).save(path, format="JPEG", **kw)
    return path


@pytest.fixture
def photo_rgb(astronaut_rgb):
    """(1200, 1600, 3): the astronaut enlarged to a 2 MP photo, with a little sensor noise."""
    big = cv2.resize(astronaut_rgb, (1600, 1200), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(0).integers(-3, 4, big.shape)
    return np.clip(big.astype(int) + noise, 0, 255).astype(np.uint8)


def _sampling(path):
    with Image.open(path) as im:
        return JpegImagePlugin.get_sampling(im)


def test_phone_jpeg_exports_like_the_original(tmp_path, photo_rgb):
    src = _phone_jpeg(tmp_path / "phone.jpg", photo_rgb, quality=85, subsampling="4:2:0")
    photo = load_photo(src)
    out = export_image(photo, photo.rgb, tmp_path / "out.jpg", jpeg_quality=ORIGINAL_QUALITY)
    assert _sampling(out) == 2  # 4:2:0, as the original
    assert out.stat().st_size <= 1.3 * src.stat().st_size
    # None means the same, and a given quality still keeps the original's subsampling
    again = export_image(photo, photo.rgb, tmp_path / "again.jpg", jpeg_quality=None)
    assert again.read_bytes() == out.read_bytes()
    q95 = export_image(photo, photo.rgb, tmp_path / "q95.jpg", jpeg_quality=95)
    assert _sampling(q95) == 2


def test_444_original_stays_444_even_at_low_quality(tmp_path, photo_rgb):
    photo = load_photo(_phone_jpeg(tmp_path / "in.jpg", photo_rgb, quality=95, subsampling="4:4:4"))
    out = export_image(photo, photo.rgb, tmp_path / "out.jpg", jpeg_quality=60)
    assert _sampling(out) == 0


def test_original_quality_of_a_png_is_95(tmp_path, photo_rgb):
    src = tmp_path / "in.png"
    Image.fromarray(photo_rgb).save(src)
    photo = load_photo(src)
    out = export_image(photo, photo.rgb, tmp_path / "out.jpg", jpeg_quality=ORIGINAL_QUALITY)
    ref = tmp_path / "ref.jpg"
    Image.fromarray(photo_rgb).save(ref, format="JPEG", quality=95, subsampling=0)
    with Image.open(out) as a, Image.open(ref) as b:
        assert a.quantization == b.quantization and JpegImagePlugin.get_sampling(a) == 0


@pytest.mark.parametrize("quality", [30, 50, 75, 85, 92, 100])
def test_quality_estimate_is_exact_for_libjpeg_files(tmp_path, photo_rgb, quality):
    path = _phone_jpeg(tmp_path / "q.jpg", photo_rgb[:256, :256], quality=quality)
    with Image.open(path) as im:
        assert estimate_jpeg_quality(im.quantization) == quality


def test_quality_estimate_of_custom_tables_is_the_nearest(tmp_path, photo_rgb):
    # a phone's own tables: libjpeg's quality-80 tables, each entry nudged
    with Image.open(_phone_jpeg(tmp_path / "q80.jpg", photo_rgb[:64, :64], quality=80)) as im:
        tables = {k: [max(1, v + (1 if i % 3 == 0 else 0)) for i, v in enumerate(t)] for k, t in im.quantization.items()}
    assert 75 <= estimate_jpeg_quality(tables) <= 80
    assert estimate_jpeg_quality({}) is None


def test_bad_quality_words_are_refused(tmp_path, photo_rgb):
    photo = load_photo(_phone_jpeg(tmp_path / "in.jpg", photo_rgb, quality=85))
    for bad in ("best", "95", 0, 101):
        with pytest.raises(UserInputError, match="quality"):
            export_image(photo, photo.rgb, tmp_path / "bad.jpg", jpeg_quality=bad)
    assert not (tmp_path / "bad.jpg").exists()


def test_cli_accepts_quality_original():
    parser = build_parser()
    args = parser.parse_args(["edit", "in.jpg", "-o", "out.jpg", "--quality", "original"])
    assert args.quality == ORIGINAL_QUALITY
    assert parser.parse_args(["undistort", "in.jpg", "-o", "out.jpg", "--quality", "80"]).quality == 80
    with pytest.raises(UserInputError, match="quality"):
        parser.parse_args(["edit", "in.jpg", "-o", "out.jpg", "--quality", "best"])


def test_the_sidecar_says_which_quality_and_subsampling_were_written(tmp_path, astronaut_rgb):
    """'--quality original' records the estimate it used, not just the word."""
    import json

    from super_gui.cli import main

    src = _phone_jpeg(tmp_path / "phone.jpg", astronaut_rgb, quality=85, subsampling="4:2:0")
    out = tmp_path / "out.jpg"
    assert main(["edit", str(src), "-o", str(out), "--yaw", "5", "--quality", "original"]) == 0
    settings = json.loads((tmp_path / "out.jpg.json").read_text())["settings"]
    assert settings["jpeg_quality"] == "original"
    assert settings["jpeg_quality_written"] == 85 and settings["jpeg_subsampling"] == "4:2:0"
