"""core.strips.preview_uint8: the photo at preview size, made once and shared by the editor's load job and
its renderer (app.pipeline.PortraitRenderer.base_image)."""

import cv2
import numpy as np
import pytest

from super_gui.core.image_io import Photo, PhotoMetadata, to_uint8
from super_gui.core.strips import preview_uint8


def _meta() -> PhotoMetadata:
    return PhotoMetadata("PNG", "RGB", 1, None, None, None, None, None, None, 8, (200, 300))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_preview_is_made_once_per_photo_and_size(dtype):
    rgb = (np.random.default_rng(0).random((300, 200, 3)) * np.iinfo(dtype).max).astype(dtype)
    photo = Photo(None, rgb, None, _meta())
    a = preview_uint8(photo, (100, 150))
    assert preview_uint8(photo, (100, 150)) is a
    assert np.array_equal(a, cv2.resize(to_uint8(rgb), (100, 150), interpolation=cv2.INTER_AREA))
    assert preview_uint8(photo, (50, 75)).shape == (75, 50, 3)
    other = Photo(None, rgb.copy(), None, _meta())
    assert preview_uint8(other, (100, 150)) is not a
