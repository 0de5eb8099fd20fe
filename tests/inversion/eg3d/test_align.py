"""EG3D's crop to 512 px (super_gui.inversion.eg3d.align): the recipe's geometry, the maps, the resampling.

Where the eyes land, and why: the recipe fits an affine camera to Deep3DFaceRecon's 5 standard BFM points and
puts the image of the BFM origin at the crop's centre with 300 px per BFM unit in the 1024 frame, i.e.
300 * 512 / 700 = 219.4 px per unit at 512. The standard eyes sit 0.29 units above that origin and +-0.31
to the sides, so a frontal face with exactly BFM proportions, seen orthographically, has its eyes
256 - 0.29 * 219.4 = 192.4 px below the top edge (0.376 of the height) and at 0.367 and 0.633 of the width.
Measured on our face template (not BFM-shaped: eyes 63 mm apart, its own nose and mouth), frontal and centred
at EG3D's FFHQ focal (4.2647 of the image width): eyes at 0.382 (30 cm) and 0.378 (1 m) of the height,
x = 0.359/0.634 and 0.357/0.637, eye distance 0.275 and 0.280 of the width, chin at 0.89/0.88. The tests
allow 0.365-0.395 for the eye height. Fractions count from the crop's edges: (pixel centre + 0.5) / 512.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from super_gui.core.camera import Intrinsics, rotation_roll
from super_gui.core.headpose import face_template
from super_gui.inversion.eg3d.align import (
    BFM_FIVE_POINTS,
    EG3DCrop,
    align_crop,
    five_points,
    pos_fit,
)
from super_gui.inversion.eg3d.camera import FFHQ_FOCAL

W, H = 1200, 1000
EYE_Y_BAND = (0.365, 0.395)  # fraction of the crop height; see the module docstring
UNIT_PX = 300 * 512 / 700  # crop pixels per BFM unit


def _camera(focal_norm: float = FFHQ_FOCAL) -> Intrinsics:
    return Intrinsics(focal_norm * W, (W - 1) / 2, (H - 1) / 2, W, H)


def _landmarks(distance_m: float, roll_deg: float = 0.0, offset_m=(0.0, 0.0), focal_norm: float = FFHQ_FOCAL):
    """The face template, frontal, rolled about the line of sight through E, at ``distance_m`` (depth of E),
    moved by ``offset_m`` (x, y) in the camera frame; projected to (478, 2) pixels."""
    p = face_template().points_m @ rotation_roll(roll_deg).T
    p = p + [offset_m[0], offset_m[1], distance_m]
    return _camera(focal_norm).project(p)


def _frac(px: np.ndarray | float) -> np.ndarray | float:
    """Crop pixel-centre coordinates -> fractions of the crop's side (0 and 1 are its edges)."""
    return (px + 0.5) / 512


def _eyes(crop: EG3DCrop, lm: np.ndarray) -> np.ndarray:
    return crop.to_crop(five_points(lm))[:2]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * math.log10(255.0**2 / max(mse, 1e-12))


def test_five_points_order_and_sides():
    lm = _landmarks(0.5)
    pts = five_points(lm)
    le, re, nose, ml, mr = pts
    assert le[0] < nose[0] < re[0] and ml[0] < mr[0]  # MTCNN: "left" = the image's left
    assert max(le[1], re[1]) < nose[1] < min(ml[1], mr[1])
    # The eyelid-contour centres sit on the iris centres for a straight gaze (within 1.5 mm at 50 cm).
    mm_px = _camera().focal_px * 0.001 / 0.5
    assert np.abs(pts[:2] - lm[[468, 473]]).max() < 1.5 * mm_px


def test_pos_fit_recovers_an_affine_camera():
    rng = np.random.default_rng(0)
    r = cv2.Rodrigues(np.array([0.1, -0.3, 0.2]))[0][:2] * 850.0
    t = np.array([613.0, 402.0])
    pts = BFM_FIVE_POINTS @ r.T + t + rng.normal(0, 1e-9, (5, 2))
    t_fit, s = pos_fit(pts)
    np.testing.assert_allclose(t_fit, t, atol=1e-6)
    assert s == pytest.approx(850.0, rel=1e-9)


def test_bfm_points_land_where_the_recipe_puts_them():
    """BFM's own points seen orthographically: each lands at centre + 219.4 px per unit (x right, y up), to
    within the recipe's half-pixel offsets."""
    s_pos = 1000.0
    t = np.array([700.0, 480.0])
    pts = BFM_FIVE_POINTS[:, :2] * [s_pos, -s_pos] + t
    crop = align_crop(pts, (W, H))
    got = crop.to_crop(pts)
    want = 255.5 + BFM_FIVE_POINTS[:, :2] * [UNIT_PX, -UNIT_PX]
    np.testing.assert_allclose(got, want, atol=0.5 * crop.scale + 1e-9)
    assert _frac(got[:2, 1].mean()) == pytest.approx(0.3756, abs=0.001)


@pytest.mark.parametrize("distance_m", [0.3, 1.0])
def test_frontal_eyes_where_eg3d_crops_have_them(distance_m):
    lm = _landmarks(distance_m)
    crop = align_crop(lm, (W, H))
    eyes = _eyes(crop, lm)
    y = _frac(eyes[:, 1].mean())
    assert EYE_Y_BAND[0] < y < EYE_Y_BAND[1], y
    assert abs(eyes[0, 1] - eyes[1, 1]) < 0.5  # level: the template is symmetric
    assert _frac(eyes[:, 0].mean()) == pytest.approx(0.5, abs=0.01)  # centred
    assert 0.26 < (eyes[1, 0] - eyes[0, 0]) / 512 < 0.29
    chin = crop.to_crop(lm[152, :2])
    assert 0.84 < _frac(chin[1]) < 0.93  # the whole face, chin inside


@pytest.mark.parametrize("distance_m", [0.3, 1.0])
@pytest.mark.parametrize("roll_deg, offset", [(20.0, (0.0, 0.0)), (-15.0, (0.06, -0.04)), (0.0, (-0.1, 0.08))])
def test_roll_and_position_in_frame(distance_m, roll_deg, offset):
    """No rotation in the crop: a rolled head stays rolled by the same angle, about the crop's centre; the
    eyes keep their distance from the centre and from each other. A head off the optical axis is seen a
    little from the side (perspective), so a few pixels of slack."""
    ref_lm = _landmarks(distance_m)
    ref = _eyes(align_crop(ref_lm, (W, H)), ref_lm)
    off = np.array(offset) * distance_m
    lm = _landmarks(distance_m, roll_deg, off)
    crop = align_crop(lm, (W, H))
    eyes = _eyes(crop, lm)
    d = eyes[1] - eyes[0]
    assert math.degrees(math.atan2(d[1], d[0])) == pytest.approx(roll_deg, abs=1.0)
    assert np.linalg.norm(d) == pytest.approx(np.linalg.norm(ref[1] - ref[0]), rel=0.02)
    centre = np.array([255.5, 255.5])
    assert np.linalg.norm(eyes.mean(0) - centre) == pytest.approx(np.linalg.norm(ref.mean(0) - centre), abs=3.0)
    if roll_deg == 0.0:
        assert EYE_Y_BAND[0] < _frac(eyes[:, 1].mean()) < EYE_Y_BAND[1]


def test_pixel_shift_moves_the_crop_with_the_face():
    lm = _landmarks(0.5)
    a = align_crop(lm, (W, H))
    b = align_crop(lm + [137.25, -61.5], (W, H))
    np.testing.assert_allclose(b.to_crop(lm + [137.25, -61.5]), a.to_crop(lm), atol=1e-8)
    assert b.scale == pytest.approx(a.scale, rel=1e-12)


def test_to_crop_to_full_round_trip():
    crop = align_crop(_landmarks(0.4, 10.0, (0.02, 0.01)), (W, H))
    pts = np.random.default_rng(1).uniform(-500, 2000, (7, 3, 2))
    np.testing.assert_allclose(crop.to_full(crop.to_crop(pts)), pts, atol=1e-9)
    np.testing.assert_allclose(crop.to_crop(crop.to_full(pts)), pts, atol=1e-9)
    assert crop.to_crop(pts).shape == pts.shape


@pytest.mark.parametrize("principal", [None, (512.3, 610.7)])
def test_normalised_intrinsics_project_like_photo_then_crop(principal):
    intr = _camera(0.9)
    if principal is not None:
        intr = Intrinsics(intr.focal_px, principal[0], principal[1], W, H)
    crop = align_crop(_landmarks(0.35, -8.0, (0.03, 0.02), focal_norm=0.9), (W, H))
    k = crop.normalised_intrinsics(intr)
    assert k.shape == (3, 3) and k[0, 1] == 0 and k[2, 2] == 1 and k[0, 0] == k[1, 1]
    pts = np.random.default_rng(2).uniform([-0.2, -0.2, 0.2], [0.2, 0.2, 1.5], (50, 3))
    uv = pts @ k.T
    via_crop_camera = uv[:, :2] / uv[:, 2:] * crop.size - 0.5  # EG3D: pixel i's centre at (i + 0.5) / size
    np.testing.assert_allclose(crop.to_crop(intr.project(pts)), via_crop_camera, atol=1e-7)


def test_crop_shape_dtype_and_channels(grace_rgb):
    h, w = grace_rgb.shape[:2]
    crop = align_crop(np.array([[200.0, 250], [310, 248], [255, 310], [215, 360], [300, 358]]), (w, h))
    out8 = crop.crop(grace_rgb)
    assert out8.shape == (512, 512, 3) and out8.dtype == np.uint8
    out16 = crop.crop(grace_rgb.astype(np.uint16) * 257)
    assert out16.dtype == np.uint8 and np.abs(out16.astype(int) - out8.astype(int)).max() <= 1
    grey = crop.crop(grace_rgb[..., 1])
    assert grey.shape == (512, 512, 3) and np.array_equal(grey[..., 0], grey[..., 2])
    rgba = crop.crop(np.dstack([grace_rgb, np.full((h, w), 7, np.uint8)]))
    assert np.array_equal(rgba, out8)
    with pytest.raises(ValueError, match="computed for"):
        crop.crop(grace_rgb[:-1])


def test_crop_outside_the_photo_borders():
    img = np.full((400, 300, 3), 200, np.uint8)
    # A face near the top-left corner: the crop reaches well outside the photo.
    pts = BFM_FIVE_POINTS[:, :2] * [100.0, -100.0] + [40.0, 50.0]
    crop = align_crop(pts, (300, 400))
    x0, y0, cw, ch = crop.full_rect()
    assert x0 < 0 and y0 < 0
    assert crop.full_rect(clip=True)[:2] == (0, 0)
    black = crop.crop(img, border="constant")
    assert black[0, 0].max() == 0 and black[-1, -1].min() == 200
    assert crop.crop(img, border="reflect").min() == 200
    assert crop.crop(img, border="replicate").min() == 200


def test_big_photo_downscale_does_not_alias():
    """A 1-pixel grating seen at ~1/10 scale must come out flat grey (a plain bicubic warp gives moire)."""
    n = 4000
    grating = np.zeros((n, n, 3), np.uint8)
    grating[:, ::2] = 255
    pts = BFM_FIVE_POINTS[:, :2] * [8000.0, -8000.0] + [n / 2, n / 2]
    crop = align_crop(pts, (n, n))
    assert crop.scale < 0.15
    out = crop.crop(grating).astype(np.float64)
    assert abs(out.mean() - 127.5) < 2 and out.std() < 2.0


def _round_trip(img: np.ndarray, crop: EG3DCrop, margin: int) -> float:
    rect = crop.full_rect(clip=True)
    back = crop.uncrop(crop.crop(img), rect)
    x0, y0, w, h = rect
    assert back.shape == (h, w, 3) and back.dtype == np.uint8
    inside = crop.coverage(rect) >= 1.0
    inside[:margin], inside[-margin:], inside[:, :margin], inside[:, -margin:] = False, False, False, False
    return _psnr(back[inside], img[y0 : y0 + h, x0 : x0 + w][inside])


def test_uncrop_of_crop_reproduces_the_photo_upsampled(grace_rgb):
    """Crop larger than the face in the photo (scale > 1): two bicubic resamplings, nearly lossless."""
    h, w = grace_rgb.shape[:2]
    crop = align_crop(np.array([[200.0, 250], [310, 248], [255, 310], [215, 360], [300, 358]]), (w, h))
    assert crop.scale > 1
    assert _round_trip(grace_rgb, crop, margin=3) > 38


def test_uncrop_of_crop_reproduces_the_photo_downsampled(grace_rgb):
    """Crop smaller than the face (scale ~0.3): detail above the crop's Nyquist limit is lost, so the photo is
    blurred first to what the crop can hold."""
    big = cv2.resize(grace_rgb, None, fx=5, fy=5, interpolation=cv2.INTER_CUBIC)
    big = cv2.GaussianBlur(big, (0, 0), 6)
    h, w = big.shape[:2]
    pts = np.array([[200.0, 250], [310, 248], [255, 310], [215, 360], [300, 358]]) * 5
    crop = align_crop(pts, (w, h))
    assert 0.2 < crop.scale < 0.5
    assert _round_trip(big, crop, margin=12) > 38


def test_uncrop_any_channels_scale_and_zero_outside():
    pts = BFM_FIVE_POINTS[:, :2] * [300.0, -300.0] + [150.0, 150.0]
    crop = align_crop(pts, (800, 600))
    src = np.ones((512, 512, 6), np.float32) * np.arange(1, 7, dtype=np.float32)
    fx, fy, fw, fh = crop.footprint()
    rect = (fx - 20, fy - 10, fw + 40, fh + 20)  # wider than the crop
    out = crop.uncrop(src, rect, scale=0.5)
    assert out.shape == (round((fh + 20) * 0.5), round((fw + 40) * 0.5), 6) and out.dtype == np.float32
    alpha = crop.coverage(rect, scale=0.5)
    assert alpha.shape == out.shape[:2]
    assert np.all(out[alpha == 0] == 0)
    full = alpha == 1
    np.testing.assert_allclose(out[full][2:-2], np.broadcast_to(np.arange(1, 7), out[full][2:-2].shape), atol=1e-4)
    assert alpha.sum() == pytest.approx((fw * 0.5) * (fh * 0.5), rel=1e-3)  # the crop's area, exactly
    grey = crop.uncrop(np.full((512, 512), 9, np.uint8), crop.full_rect())
    assert grey.ndim == 2 and grey.dtype == np.uint8


def test_grace_hopper_real_photo(grace_jpg, tmp_path):
    """A real photo through the analysis: a 512 crop with the eyes in the EG3D band (real faces vary:
    wider), the whole face inside, saved for a look."""
    from super_gui.core.analysis import analyze_photo
    from super_gui.core.image_io import load_photo

    photo = load_photo(grace_jpg)
    try:
        analysis = analyze_photo(photo)
    except (ImportError, OSError, RuntimeError) as exc:  # no MediaPipe wheel / model on this machine
        pytest.skip(f"MediaPipe could not run here: {exc}")
    lm = analysis.faces.face.landmarks
    crop = align_crop(lm, (photo.width, photo.height))
    out = crop.crop(photo.rgb)
    assert out.shape == (512, 512, 3) and out.dtype == np.uint8
    eyes = _eyes(crop, lm)
    assert 0.34 < _frac(eyes[:, 1].mean()) < 0.43
    assert 0.45 < _frac(eyes[:, 0].mean()) < 0.55
    face = crop.to_crop(lm[:, :2])
    assert face.min() > 0 and face.max() < 511  # the whole face mesh is inside the crop
    cv2.imwrite(str(tmp_path / "grace_hopper_eg3d.png"), cv2.cvtColor(out, cv2.COLOR_RGB2BGR))
