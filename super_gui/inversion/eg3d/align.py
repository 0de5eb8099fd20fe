"""The crop of a photo to EG3D's 512 px frame, and back (``../shared/eg3d/NOTES.md`` §4).

What it is: EG3D's in-the-wild crop recipe (``preprocess_in_the_wild.py``: five MTCNN points, Deep3DFaceRecon's
``align_img`` with ``target_size=1024, rescale_factor=300``, a centre crop of 700 and a resize to 512) computed
from our MediaPipe landmarks and composed into ONE similarity without rotation, full-resolution pixel -> crop
pixel. The recipe never rotates: a rolled head stays rolled in the crop and EG3D's camera label carries the
roll. :class:`EG3DCrop` applies it to points and images in both directions and gives the crop's camera
intrinsics in EG3D's normalised form.

Pixel convention (as :mod:`super_gui.core.camera` and the landmarks): pixel (0, 0)'s centre is at (0, 0),
so a W-pixel row spans [-0.5, W - 0.5]. The crop's pixels use the same convention; EG3D's normalised image
coordinates put crop pixel i's centre at (i + 0.5) / size (its ray sampler), hence the 0.5 in
:meth:`EG3DCrop.normalised_intrinsics`.

What it must not do: import torch, Qt, the renderer or the application layer; read files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from super_gui.core.camera import Intrinsics
from super_gui.core.image_io import to_uint8

# Deep3DFaceRecon's standard 5 points (BFM/similarity_Lm3D_all.mat via util/load_mats.py::load_lm3d; NOTES §4),
# in BFM units (decimetres), x toward the image's right for a frontal face, y up, z toward the camera. Order as
# MTCNN's keypoints: left_eye, right_eye, nose, mouth_left, mouth_right, where "left" is the IMAGE's left (the
# subject's right eye/mouth corner). The eyes are the means of the 68-point scheme's eye corners (37/40,
# 43/46), the nose its tip (31) and the mouth its outer corners (49, 55).
BFM_FIVE_POINTS = np.array(
    [
        [-0.31149, 0.29036, 0.13378],
        [0.30980, 0.28972, 0.13180],
        [0.00325, -0.04618, 0.55244],
        [-0.25217, -0.38134, 0.22406],
        [0.24847, -0.38128, 0.22236],
    ]
)
RESCALE_FACTOR = 300.0  # align_img(rescale_factor=300): crop pixels per BFM unit in the 1024 image
RECIPE_TARGET_SIZE = 1024  # align_img(target_size=1024)
RECIPE_CENTRE_CROP = 700  # then the centre 700 x 700 ...
EG3D_SIZE = 512  # ... resized to 512

# MediaPipe Face Mesh indices for the five points, in MTCNN's order and side convention (above). Landmarks 33
# and 133 are the image-left eye's corners (the subject's right eye), 263 and 362 the image-right eye's; 61
# and 291 are the outer mouth corners on the image's left and right; 1 is the nose tip (pronasale).
# Eye centres are the means of the 16-point eyelid contours, not the iris centres 468/473: a gaze turned
# away moves the iris, not the lids, and the recipe's standard eye is the mean of the two eye corners. On
# the face template the contour mean is within 1.5 mm of the iris centre for a straight gaze.
LEFT_EYE_CONTOUR = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
RIGHT_EYE_CONTOUR = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
NOSE_TIP = 1
MOUTH_LEFT, MOUTH_RIGHT = 61, 291


def five_points(landmarks_px: np.ndarray) -> np.ndarray:
    """(478, 2+) MediaPipe landmarks in pixels -> (5, 2) float64: left eye, right eye, nose tip, left and right
    mouth corners, in MTCNN's order with "left" meaning the image's left (see :data:`LEFT_EYE_CONTOUR`)."""
    lm = np.asarray(landmarks_px, dtype=np.float64)
    if lm.ndim != 2 or lm.shape[0] < 468 or lm.shape[1] < 2:
        raise ValueError(f"expected (468 or 478, 2+) Face Mesh landmarks, got {lm.shape}")
    xy = lm[:, :2]
    return np.stack(
        [
            xy[list(LEFT_EYE_CONTOUR)].mean(axis=0),
            xy[list(RIGHT_EYE_CONTOUR)].mean(axis=0),
            xy[NOSE_TIP],
            xy[MOUTH_LEFT],
            xy[MOUTH_RIGHT],
        ]
    )


def pos_fit(points_px: np.ndarray, points_3d: np.ndarray = BFM_FIVE_POINTS) -> tuple[np.ndarray, float]:
    """Deep3DFaceRecon's POS: least-squares affine camera x = [R1; R2] X + t from the 3D to the 2D points.

    Returns ``t`` (2,) (where the 3D origin lands, in the 2D points' coordinates) and the scale ``s``, the
    mean norm of R1 and R2 (pixels per 3D unit). Image y may point down or up: flipping it flips R2's sign
    and reflects t, so s and the pixel position of t are the same either way.
    """
    xp = np.asarray(points_px, dtype=np.float64)
    x3 = np.asarray(points_3d, dtype=np.float64)
    n = len(x3)
    a = np.zeros((2 * n, 8))
    a[0::2, 0:3], a[0::2, 3] = x3, 1.0
    a[1::2, 4:7], a[1::2, 7] = x3, 1.0
    k = np.linalg.lstsq(a, xp.reshape(-1), rcond=None)[0]
    s = (np.linalg.norm(k[0:3]) + np.linalg.norm(k[4:7])) / 2.0
    return np.array([k[3], k[7]]), float(s)


def recipe_matrix(t: np.ndarray, s_pos: float, out_size: int = EG3D_SIZE) -> np.ndarray:
    """The recipe's resize + 1024 crop + centre 700 crop + resize to ``out_size``, as a 2x3 pixel-centre map.

    Derivation (pixel centres at integers; a resize by r maps x to (x + 0.5) r - 0.5). ``align_img`` resizes
    by ``s = 300 / s_pos`` and crops 1024 x 1024 at left = t_x s - 512 and, its landmarks having been flipped
    to y-up as ``y_up = H - 1 - y``, at up = (t_y + 1) s - 512 in y-down pixels; the centre crop starts at
    162 and the resize is by k = out_size / 700. Composed: x' = k s (x - t_x + 0.5) + out_size / 2 - 0.5 and
    y' = k s (y - t_y - 0.5) + out_size / 2 - 0.5, so the fitted origin t lands at the crop's centre (within
    half an input pixel). The recipe's integer truncations (PIL sizes int(w0 s), crop corners int(...), at
    most one 1024-frame pixel) are left out so that the map is continuous in the landmarks.
    """
    s = RESCALE_FACTOR / s_pos
    a = (out_size / RECIPE_CENTRE_CROP) * s
    c = out_size / 2.0 - 0.5
    return np.array([[a, 0.0, a * (0.5 - t[0]) + c], [0.0, a, a * (-0.5 - t[1]) + c]])


def align_crop(landmarks_px: np.ndarray, image_size: tuple[int, int], out_size: int = EG3D_SIZE) -> "EG3DCrop":
    """EG3D's crop of a face: ``landmarks_px`` (478, 2+) Face Mesh landmarks (or (5, 2) points already in
    MTCNN's order) in the full-resolution pixels of an image of ``image_size`` = (width, height)."""
    lm = np.asarray(landmarks_px, dtype=np.float64)
    pts = lm[:, :2] if lm.shape[0] == 5 else five_points(lm)
    if not np.all(np.isfinite(pts)):
        raise ValueError("landmarks must be finite")
    t, s_pos = pos_fit(pts)
    if not s_pos > 0:
        raise ValueError("degenerate landmarks: the face has no size")
    w, h = int(image_size[0]), int(image_size[1])
    return EG3DCrop(recipe_matrix(t, s_pos, out_size), int(out_size), (w, h))


def _as_points(pts: np.ndarray) -> np.ndarray:
    p = np.asarray(pts, dtype=np.float64)
    if p.shape[-1] != 2:
        raise ValueError(f"points must be (..., 2), got {p.shape}")
    return p


def _shrink_area(src: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pre-shrink ``src`` with cv2.INTER_AREA (box filtering, no aliasing) to about the output scale of the
    axis-aligned map ``m`` (src pixel -> dst pixel); returns the shrunk image and the map from it."""
    h, w = src.shape[:2]
    nw, nh = max(1, round(w * m[0, 0])), max(1, round(h * m[1, 1]))
    small = cv2.resize(src, (nw, nh), interpolation=cv2.INTER_AREA)
    rx, ry = nw / w, nh / h  # small pixel x' = (x + 0.5) rx - 0.5, so x = (x' + 0.5) / rx - 0.5
    back = np.array([[1.0 / rx, 0.0, 0.5 / rx - 0.5], [0.0, 1.0 / ry, 0.5 / ry - 0.5], [0.0, 0.0, 1.0]])
    return small, m @ back


def _warp(src: np.ndarray, m: np.ndarray, dst_wh: tuple[int, int], border: int, value: float = 0.0) -> np.ndarray:
    """Resample ``src`` through the axis-aligned 2x3 map ``m`` (src pixel centre -> dst pixel centre) into a
    ``dst_wh`` image: INTER_AREA first where the map shrinks, then one bicubic warp at a scale near 1.
    Any number of channels (OpenCV takes at most 4 at a time)."""
    if src.ndim == 3 and src.shape[2] > 4:
        parts = [_warp(src[..., i : i + 4], m, dst_wh, border, value) for i in range(0, src.shape[2], 4)]
        return np.concatenate(parts, axis=2)
    if m[0, 0] < 1.0 or m[1, 1] < 1.0:
        src, m = _shrink_area(src, m)
    m = np.ascontiguousarray(m[:2], dtype=np.float64)
    out = cv2.warpAffine(np.ascontiguousarray(src), m, dst_wh, flags=cv2.INTER_CUBIC, borderMode=border, borderValue=value)
    if src.ndim == 3 and out.ndim == 2:  # OpenCV drops a single channel axis
        out = out[..., None]
    return out


_BORDERS = {"reflect": cv2.BORDER_REFLECT_101, "replicate": cv2.BORDER_REPLICATE, "constant": cv2.BORDER_CONSTANT}


@dataclass(frozen=True, eq=False)
class EG3DCrop:
    """A similarity without rotation from full-resolution pixels to the crop's pixels (pixel centres)."""

    matrix: np.ndarray  # (2, 3) float64: [[a, 0, bx], [0, a, by]]
    size: int  # the crop is size x size
    image_size: tuple[int, int] = field(default=(0, 0))  # (width, height) of the full-resolution image

    def __post_init__(self) -> None:
        m = np.array(self.matrix, dtype=np.float64)
        if m.shape != (2, 3) or m[0, 1] != 0 or m[1, 0] != 0 or not m[0, 0] > 0 or m[0, 0] != m[1, 1]:
            raise ValueError(f"expected an axis-aligned similarity [[a, 0, bx], [0, a, by]], got {m.tolist()}")
        m.setflags(write=False)
        object.__setattr__(self, "matrix", m)

    @property
    def scale(self) -> float:
        """Crop pixels per full-resolution pixel."""
        return float(self.matrix[0, 0])

    def _m3(self) -> np.ndarray:
        return np.vstack([self.matrix, [0.0, 0.0, 1.0]])

    def to_crop(self, pts: np.ndarray) -> np.ndarray:
        """(..., 2) full-resolution pixel coordinates -> crop pixel coordinates."""
        p = _as_points(pts)
        return p * self.scale + self.matrix[:, 2]

    def to_full(self, pts: np.ndarray) -> np.ndarray:
        """(..., 2) crop pixel coordinates -> full-resolution pixel coordinates."""
        p = _as_points(pts)
        return (p - self.matrix[:, 2]) / self.scale

    def footprint(self) -> tuple[float, float, float, float]:
        """The crop's exact outline in the full-resolution image, in pixel-edge units (pixel i spans
        [i, i + 1)): (x0, y0, w, h) floats."""
        x0, y0 = self.to_full(np.array([-0.5, -0.5])) + 0.5
        side = self.size / self.scale
        return float(x0), float(y0), float(side), float(side)

    def full_rect(self, clip: bool = False) -> tuple[int, int, int, int]:
        """The whole-pixel full-resolution rectangle (x0, y0, w, h) that covers the crop (pixel columns x0 ..
        x0 + w - 1); with ``clip``, intersected with the image (w or h may then be 0)."""
        fx, fy, fw, fh = self.footprint()
        x0, y0 = int(np.floor(fx + 1e-9)), int(np.floor(fy + 1e-9))
        x1, y1 = int(np.ceil(fx + fw - 1e-9)), int(np.ceil(fy + fh - 1e-9))
        if clip:
            w, h = self.image_size
            x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
            x1, y1 = max(x1, x0), max(y1, y0)
        return x0, y0, x1 - x0, y1 - y0

    def crop(self, image: np.ndarray, border: str = "reflect") -> np.ndarray:
        """The (size, size, 3) uint8 crop of the full-resolution ``image`` ((H, W[, C]) uint8 or uint16;
        grey is repeated, a 4th channel dropped). Only the crop's neighbourhood is read, shrunk with
        INTER_AREA when the crop is smaller than the face in the photo (a 100 MP photo does not alias), then
        resampled bicubically. Outside the photo: ``border`` "reflect" (default), "replicate" or "constant"
        (black, as PIL's crop in the recipe)."""
        img = np.asarray(image)
        if img.dtype not in (np.uint8, np.uint16):
            raise TypeError(f"crop takes uint8 or uint16 images, got {img.dtype}")
        h, w = img.shape[:2]
        if self.image_size != (0, 0) and (w, h) != tuple(self.image_size):
            raise ValueError(f"image is {w}x{h} but the crop was computed for {self.image_size[0]}x{self.image_size[1]}")
        if img.ndim == 2:
            img = img[..., None]
        img = img[..., :3]
        # The neighbourhood read: the footprint plus the filters' reach (area box + cubic taps), in the image.
        fx, fy, fw, fh = self.footprint()
        reach = 3.0 + 3.0 / self.scale
        x0, y0 = int(np.clip(np.floor(fx - reach), 0, w - 1)), int(np.clip(np.floor(fy - reach), 0, h - 1))
        x1, y1 = int(np.clip(np.ceil(fx + fw + reach), x0 + 1, w)), int(np.clip(np.ceil(fy + fh + reach), y0 + 1, h))
        roi = img[y0:y1, x0:x1]
        m = self._m3()
        m[:2, 2] += self.scale * np.array([x0, y0])
        out = _warp(roi, m, (self.size, self.size), _BORDERS[border])
        if out.shape[2] == 1:
            out = np.repeat(out, 3, axis=2)
        return np.ascontiguousarray(to_uint8(out))

    def _out_map(self, rect: tuple[float, float, float, float], scale: float) -> tuple[np.ndarray, tuple[int, int]]:
        """Crop pixel -> output pixel map for ``rect`` (x0, y0, w, h) in full-resolution pixel-edge units
        drawn at ``scale`` output pixels per full-resolution pixel, and the output (width, height)."""
        x0, y0, w, h = (float(v) for v in rect)
        ow, oh = max(1, round(w * scale)), max(1, round(h * scale))
        sx, sy = ow / w, oh / h
        # output x_o (centre) <- full-res edge x0 + (x_o + 0.5) / sx <- full-res centre (that - 0.5)
        full_to_out = np.array([[sx, 0.0, sx * (0.5 - x0) - 0.5], [0.0, sy, sy * (0.5 - y0) - 0.5], [0.0, 0.0, 1.0]])
        return full_to_out @ np.linalg.inv(self._m3()), (ow, oh)

    def uncrop(self, crop_image: np.ndarray, rect: tuple[float, float, float, float], scale: float = 1.0) -> np.ndarray:
        """Resample a crop-space image ((size, size[, C]) any channels, uint8 or float32) onto the full-resolution
        rectangle ``rect`` = (x0, y0, w, h) (pixel-edge units, e.g. :meth:`full_rect`) at ``scale`` output
        pixels per full-resolution pixel: (round(h scale), round(w scale)[, C]), same dtype. Pixels outside
        the crop are 0; :meth:`coverage` gives the matching alpha."""
        src = np.asarray(crop_image)
        if src.shape[:2] != (self.size, self.size):
            raise ValueError(f"expected a {self.size}x{self.size} crop-space image, got {src.shape}")
        if src.dtype not in (np.uint8, np.float32):
            raise TypeError(f"uncrop takes uint8 or float32 images, got {src.dtype}")
        m, wh = self._out_map(rect, scale)
        return _warp(src, m, wh, cv2.BORDER_CONSTANT, 0.0)

    def coverage(self, rect: tuple[float, float, float, float], scale: float = 1.0) -> np.ndarray:
        """(round(h scale), round(w scale)) float32 in [0, 1]: the fraction of each output pixel of
        :meth:`uncrop` that lies inside the crop (1 inside, 0 outside, partial on its edge)."""
        m, (ow, oh) = self._out_map(rect, scale)
        lo = m[:2, :2] @ np.array([-0.5, -0.5]) + m[:2, 2]  # the crop's outline in output pixel-centre units
        hi = m[:2, :2] @ np.array([self.size - 0.5, self.size - 0.5]) + m[:2, 2]

        def axis(n: int, a: float, b: float) -> np.ndarray:
            c = np.arange(n, dtype=np.float64)
            return np.clip(np.minimum(c + 0.5, b) - np.maximum(c - 0.5, a), 0.0, 1.0)

        return np.outer(axis(oh, lo[1], hi[1]), axis(ow, lo[0], hi[0])).astype(np.float32)

    def normalised_intrinsics(self, intr: Intrinsics) -> np.ndarray:
        """(3, 3) float64: the crop seen as a camera, in EG3D's normalised form (NOTES §2): focal
        f_px a / size and principal point ((a cx + bx) + 0.5) / size, where the 0.5 is EG3D's pixel-centre
        convention (crop pixel i at (i + 0.5) / size). Projecting a camera-space point with ``intr`` and then
        :meth:`to_crop` gives the same crop pixel as projecting with these intrinsics, times size, minus 0.5."""
        a = self.scale
        cx, cy = self.to_crop(np.array([intr.cx, intr.cy]))
        n = float(self.size)
        return np.array([[intr.focal_px * a / n, 0.0, (cx + 0.5) / n], [0.0, intr.focal_px * a / n, (cy + 0.5) / n], [0.0, 0.0, 1.0]])
