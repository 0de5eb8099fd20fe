"""The landmark backend's background plate: what a turned or dollied head uncovers (DESIGN.md §9, item 3).

The photo never saw the background behind the head. The plate is that background on the working grid,
made once per photo, and where it may be used:

- *where* (alpha): only the region the edited head can vacate: the edited person's part of the person
  matte (the matte is split between people by which face each pixel is nearest to), grown a little and
  limited to where the edit reaches the head. Every other person, hair included, gets alpha 0.
- *what* (rgb): an exemplar fill. A nearest-neighbour field (PatchMatch, Barnes et al. 2009) with patch
  voting (Wexler et al. 2007) completes the hole at a coarse scale; the working-grid pixels are then copied
  through that field, so walls, windows and foliage carry on as texture rather than as a blur. The texture
  comes only from background pixels clear of every person, never from hair or skin.

numpy/OpenCV only, no Qt; pure functions (the randomness of the search is seeded).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from super_gui.core.depth import WorkGrid, smoothstep
from super_gui.core.face import FaceAnalysis
from super_gui.core.fill import push_pull_fill

PERSON = 0.15  # matte value above which a pixel is a person's (not background)
HAIR_REACH = 1.6  # another face's protected zone, in radii of its face oval (covers hair the matte misses)
SPECK = 0.0005  # another person's matte in pieces smaller than this share of the grid, off their face's zone, is noise
PAD = 0.5  # the crop around the hole (where texture is taken from), in hole sizes
COARSE_SIDE = 128  # the pyramid's top scale: the crop's long side, pixels
MIN_SIDE = 40  # the pyramid's coarsest scale has a long side of at least this, pixels
PATCH = 5  # patch side in the pyramid, pixels (about 20 working pixels at the top scale)
PCA_DIMS = 12  # patch descriptor size for the nearest-neighbour search
ROUNDS = (3, 1)  # PatchMatch-and-vote rounds at the coarsest scale and at each finer one
VOTE_STEP = 2  # a vote reads every VOTE_STEP-th patch offset in each direction
RING_STEP = 32.0  # the largest photo-minus-copy difference (8-bit levels) the seam correction trusts


def face_ovals(faces: FaceAnalysis, grid: WorkGrid) -> tuple[np.ndarray, list[np.ndarray]]:
    """The chosen face's oval and every other face's oval, each (36, 2) float64 in working-grid pixels
    (x, y); ovals off the grid are kept (their people may reach into it)."""

    def on_grid(oval: np.ndarray) -> np.ndarray:
        return np.stack(grid.from_full_res(oval[:, 0], oval[:, 1]), axis=1)

    others = [on_grid(f.oval_px) for i, f in enumerate(faces.faces) if i != faces.chosen]
    return on_grid(faces.face.oval_px), others


def oval_radius(oval: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(h, w) float32: each pixel's distance from the centre of the ellipse fitted to ``oval`` ((K, 2)
    pixels x, y), in units of that ellipse's radii (1 on its outline, < 1 inside)."""
    h, w = shape
    (cx, cy), (d1, d2), angle = cv2.fitEllipse(oval.astype(np.float32))
    t = np.deg2rad(angle)
    xs = np.arange(w, dtype=np.float32) - cx
    ys = np.arange(h, dtype=np.float32)[:, None] - cy
    u = (xs * np.cos(t) + ys * np.sin(t)) / max(d1 / 2.0, 1e-3)
    v = (-xs * np.sin(t) + ys * np.cos(t)) / max(d2 / 2.0, 1e-3)
    return np.sqrt(u * u + v * v).astype(np.float32)


def split_people(person: np.ndarray, chosen_oval: np.ndarray, other_ovals: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Split the person matte between the detected faces.

    person: (h, w) float32 matte in [0, 1]; ovals: (K, 2) face outlines in the same pixels (x, y). Each
    pixel belongs to the face nearest to it in units of that face's size (a Voronoi split by oval radius:
    it works for faces off the grid too, whose people may still reach into it). Returns
    (mine, others), (h, w) bool: the chosen person's matte (> PERSON), and the region to protect: every
    other person's matte (any value above 0.05, grown 2 px) and the zone around each other face out to
    ``HAIR_REACH`` oval radii (hair the matte missed), where that zone is nearer to that face.
    """
    h, w = person.shape
    ovals = [chosen_oval, *other_ovals]
    radii = np.stack([oval_radius(o, (h, w)) for o in ovals])
    owner = np.argmin(radii, axis=0)
    body = person > PERSON
    mine = body & (owner == 0)
    if not other_ovals:
        return mine, np.zeros((h, w), bool)
    zone = (radii[1:].min(axis=0) <= HAIR_REACH) & (owner != 0)
    theirs = ((person > 0.05) & (owner != 0)) | zone
    others = cv2.dilate(theirs.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    # A speck of the matte on another face's side, off every face's zone (segmentation noise: a wisp of
    # dark background), is no one to protect: held still inside the edited head's plate it showed as a hole.
    n, labels, stats, _ = cv2.connectedComponentsWithStats(others.astype(np.uint8), connectivity=8)
    if n > 2:
        touching = np.zeros(n, bool)
        touching[np.unique(labels[zone])] = True
        speck = ~touching & (stats[:, cv2.CC_STAT_AREA] < SPECK * h * w)
        speck[0] = False
        if speck.any():
            others &= ~speck[labels]
    return mine & ~others, others


def plate_alpha(person: np.ndarray, edit_weight: np.ndarray, mine: np.ndarray, others: np.ndarray) -> np.ndarray:
    """(h, w) float32 in [0, 1]: where the plate replaces the photo. The edited person's matte grown a
    little (with a soft outer edge), only around the head (lower down, where the edit fades out over the
    neck and shoulders, whatever the moved person uncovers is their own torso in the photo, not
    background), and exactly 0 on ``others``."""
    h, w = person.shape
    grown = cv2.dilate(mine.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=max(2, w // 80)) > 0
    head = smoothstep(0.3, 0.8, cv2.dilate(edit_weight.astype(np.float32), np.ones((3, 3), np.uint8), iterations=max(2, w // 60)))
    soft = cv2.GaussianBlur(grown.astype(np.float32), (0, 0), max(1.0, w / 300.0))
    return (np.maximum(soft, grown) * head * ~others).astype(np.float32)


def background_source(person: np.ndarray, others: np.ndarray) -> np.ndarray:
    """(h, w) bool: pixels the fill may copy texture from: background (matte < PERSON) at least a margin
    (w / 80 pixels) away from every person, and never in another person's protected zone."""
    h, w = person.shape
    near = cv2.dilate((person >= PERSON).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=max(2, w // 80)) > 0
    return ~near & ~others


def _nearest_valid(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every pixel, the (row, column) of the nearest True pixel of ``valid`` ((h, w) bool): exactly
    ``scipy.ndimage.distance_transform_edt(~valid, return_indices=True)``'s, ties included (the upper pixel
    of a column, then the leftmost column), without SciPy's import (~0.2 s of Python's lock). Separable:
    the nearest True pixel of each column, then for each pixel the best column of its row."""
    h, w = valid.shape
    if not valid.any():  # (SciPy's answer when there is none)
        return np.full((h, w), -1, np.int32), np.zeros((h, w), np.int32)
    rows = np.arange(h, dtype=np.int64)[:, None]
    far = np.int64(1 << 40)
    above = np.maximum.accumulate(np.where(valid, rows, -far), axis=0)
    below = np.minimum.accumulate(np.where(valid, rows, far)[::-1], axis=0)[::-1]
    ny = np.where(rows - above <= below - rows, above, below)  # (h, w): the column's nearest row (a tie: above)
    g2 = np.where(np.abs(ny) < far, (ny - rows) ** 2, far)  # its squared distance (no True in the column: far)
    cols = np.arange(w, dtype=np.int64)
    gap2 = (cols[:, None] - cols[None, :]) ** 2  # (x, x'): squared column distances
    ix = np.empty((h, w), np.int64)
    step = max(1, (1 << 22) // max(1, w * w))  # rows at a time: (rows, w, w) int64 stays ~32 MB
    for y in range(0, h, step):
        ix[y:y + step] = np.argmin(gap2[None] + g2[y:y + step, None, :], axis=2)  # (argmin: the leftmost)
    iy = np.take_along_axis(ny, ix, axis=1)
    return iy.astype(np.int32), ix.astype(np.int32)


class _Level:
    """One scale of the crop being filled: colours, which pixels are sources, which patches may be
    copied, and the targets (the pixels to synthesise: not sources, and within a patch of the hole)."""

    def __init__(self, crop: np.ndarray, src: np.ndarray, hole: np.ndarray, size: tuple[int, int]):
        """crop: (h, w, 3) uint8; src, hole: (h, w) uint8, 255 = yes; size: (width, height) of this scale."""
        sw, sh = size
        self.shape = (sh, sw)
        self.image = cv2.resize(crop, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
        # A coarse pixel is a source only when every pixel under it is, part of the hole when any is.
        self.src = cv2.resize(src, (sw, sh), interpolation=cv2.INTER_AREA) == 255
        near = cv2.resize(hole, (sw, sh), interpolation=cv2.INTER_AREA) > 0
        near = cv2.dilate(near.astype(np.uint8), np.ones((PATCH, PATCH), np.uint8)) > 0
        self.target = ~self.src & near
        kernel = np.ones((PATCH, PATCH), np.uint8)
        self.valid = cv2.erode(self.src.astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
        self.ty, self.tx = np.nonzero(self.target)
        self.vy, self.vx = np.nonzero(self.valid)
        # The rest (people away from the hole) is only context for the targets' patches: a smooth guess of
        # the background there, never the people's colours.
        rest = ~self.src
        self.image[rest] = push_pull_fill(self.image, self.src)[rest]


def _descriptors(img: np.ndarray, kernels: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(h, w, k) float32: every pixel's patch of ``img`` ((h, w, 3) float32) projected on the PCA basis,
    one correlation per channel and component (``kernels``: (k, 3, PATCH, PATCH); ``bias``: (k,))."""
    out = np.empty(img.shape[:2] + (len(kernels),), np.float32)
    chans = [np.ascontiguousarray(img[..., c]) for c in range(3)]
    for k, kk in enumerate(kernels):
        acc = cv2.filter2D(chans[0], cv2.CV_32F, kk[0], borderType=cv2.BORDER_REFLECT)
        acc += cv2.filter2D(chans[1], cv2.CV_32F, kk[1], borderType=cv2.BORDER_REFLECT)
        acc += cv2.filter2D(chans[2], cv2.CV_32F, kk[2], borderType=cv2.BORDER_REFLECT)
        out[..., k] = acc - bias[k]
    return out


def _pca_basis(level: _Level, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """PCA of the source patches of ``level``: (kernels (k, 3, PATCH, PATCH), bias (k,)) for
    :func:`_descriptors`."""
    r = PATCH // 2
    pick = rng.choice(len(level.vy), size=min(len(level.vy), 1024), replace=False)
    offs = np.arange(-r, r + 1)
    yy = level.vy[pick, None, None] + offs[None, :, None]
    xx = level.vx[pick, None, None] + offs[None, None, :]
    patches = level.image[yy, xx].reshape(len(pick), -1)  # valid centres: the whole patch is inside
    mean = patches.mean(axis=0)
    centred = patches - mean
    _, vecs = np.linalg.eigh(centred.T @ centred)
    basis = vecs[:, ::-1][:, :PCA_DIMS].T  # (k, PATCH * PATCH * 3), rows in (dy, dx, c) order
    kernels = np.ascontiguousarray(basis.reshape(len(basis), PATCH, PATCH, 3).transpose(0, 3, 1, 2)).astype(np.float32)
    return kernels, (basis @ mean).astype(np.float32)


def _field_maps(level: _Level, fy: np.ndarray, fx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(h, w) float32 maps: each target pixel's source patch centre (fy, fx); other pixels map to themselves."""
    sh, sw = level.shape
    map_y = np.repeat(np.arange(sh, dtype=np.float32)[:, None], sw, axis=1)
    map_x = np.repeat(np.arange(sw, dtype=np.float32)[None, :], sh, axis=0)
    map_y[level.ty, level.tx], map_x[level.ty, level.tx] = fy, fx
    return map_y, map_x


def _vote(level: _Level, fy: np.ndarray, fx: np.ndarray, weight: np.ndarray) -> None:
    """Set every target pixel of ``level`` to the weighted mean of what the patches over it copy: target
    pixel q's patch is copied from the source patch centred at (fy, fx) (per target, (N,) int32), with
    weight ``weight`` ((N,) float32). One nearest-neighbour remap per patch offset."""
    r = PATCH // 2
    sh, sw = level.shape
    map_y, map_x = _field_maps(level, fy, fx)
    wmap = np.zeros((sh, sw), np.float32)
    wmap[level.ty, level.tx] = weight
    # Padded so that "the pixel o before p" is a slice; the padding has weight 0.
    pad = dict(top=r, bottom=r, left=r, right=r, borderType=cv2.BORDER_CONSTANT, value=0)
    map_y, map_x, wmap = (cv2.copyMakeBorder(m, **pad) for m in (map_y, map_x, wmap))
    acc = np.zeros((sh, sw, 3), np.float32)
    cnt = np.zeros((sh, sw), np.float32)
    img = level.image
    for dy in range(-r, r + 1, VOTE_STEP):
        for dx in range(-r, r + 1, VOTE_STEP):
            ys, xs = slice(r - dy, r - dy + sh), slice(r - dx, r - dx + sw)
            wq = wmap[ys, xs]
            got = cv2.remap(img, map_x[ys, xs] + dx, map_y[ys, xs] + dy, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
            cv2.accumulateProduct(got, cv2.merge([np.ascontiguousarray(wq)] * 3), acc)
            cnt += wq
    ty, tx = level.ty, level.tx
    img[ty, tx] = acc[ty, tx] / np.maximum(cnt[ty, tx], 1e-6)[:, None]


def _search(level: _Level, desc: np.ndarray, fy: np.ndarray, fx: np.ndarray, lam: float, rng: np.random.Generator, jumps: Sequence[int]) -> np.ndarray:
    """One PatchMatch pass over the targets of ``level``, improving the field (fy, fx) in place:
    jump-flood propagation from the neighbours ``jumps`` pixels away, then random search in shrinking
    windows and one random source (each batch of candidates weighed at once). Cost: squared descriptor
    distance plus ``lam`` times the squared pixel distance (a preference for nearby sources). Returns
    the cost of each target's match (N,)."""
    sh, sw = level.shape
    ty, tx, valid = level.ty, level.tx, level.valid
    n = len(ty)
    flat = desc.reshape(sh * sw, -1)
    tdesc = flat[ty * sw + tx]
    cols = np.arange(n)

    def cost(sy: np.ndarray, sx: np.ndarray) -> np.ndarray:
        d = flat[sy * sw + sx] - tdesc
        return np.einsum("...j,...j->...", d, d) + lam * ((sy - ty) ** 2 + (sx - tx) ** 2).astype(np.float32)

    best = cost(fy, fx)

    def consider(sy: np.ndarray, sx: np.ndarray) -> None:  # (K, N) candidates
        ok = (sy >= 0) & (sy < sh) & (sx >= 0) & (sx < sw)
        sy, sx = np.clip(sy, 0, sh - 1), np.clip(sx, 0, sw - 1)
        ok &= valid[sy, sx]
        c = np.where(ok, cost(sy, sx), np.inf)
        k = np.argmin(c, axis=0)
        c = c[k, cols]
        better = c < best
        fy[better], fx[better], best[better] = sy[k, cols][better], sx[k, cols][better], c[better]

    map_y = np.repeat(np.arange(sh, dtype=np.int32)[:, None], sw, axis=1)
    map_x = np.repeat(np.arange(sw, dtype=np.int32)[None, :], sh, axis=0)
    for step in jumps:
        map_y[ty, tx], map_x[ty, tx] = fy, fx
        d = np.array([(0, step), (0, -step), (step, 0), (-step, 0)], np.int32)
        qy = np.clip(ty[None] + d[:, :1], 0, sh - 1)
        qx = np.clip(tx[None] + d[:, 1:], 0, sw - 1)
        consider(map_y[qy, qx] - (qy - ty), map_x[qy, qx] - (qx - tx))
    radii = []
    radius = max(sh, sw) // 2
    while radius >= 1:
        radii.append(radius)
        radius //= 2
    r = np.array(radii, np.int32)[:, None]
    pick = rng.integers(0, len(level.vy), n)
    consider(
        np.vstack([fy + np.rint(rng.uniform(-1, 1, (len(radii), n)) * r).astype(np.int32), level.vy[pick][None]]),
        np.vstack([fx + np.rint(rng.uniform(-1, 1, (len(radii), n)) * r).astype(np.int32), level.vx[pick][None]]),
    )
    return best


def _smooth_fallback(rgb: np.ndarray, hole: np.ndarray, source: np.ndarray) -> np.ndarray:
    out = rgb.copy()
    smooth = push_pull_fill(rgb.astype(np.float32), source if source.any() else ~hole)
    out[hole] = np.clip(np.rint(smooth[hole]), 0, 255).astype(np.uint8)
    return out


def exemplar_fill(rgb: np.ndarray, hole: np.ndarray, source: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Fill ``hole`` of ``rgb`` with texture copied from ``source``.

    rgb: (h, w, 3) uint8; hole, source: (h, w) bool (disjoint; ``source`` pixels are the only ones whose
    colours may be copied). Returns (h, w, 3) uint8, equal to ``rgb`` outside ``hole``.

    A crop around the hole (``PAD`` hole sizes around it) is completed coarse to fine over a small pyramid
    (long side ``COARSE_SIDE`` at the top, halved down to about ``MIN_SIDE``): at each scale every pixel
    that is not a source is filled by rounds of PatchMatch ((``PATCH`` px)^2 patches, PCA descriptors,
    jump-flood propagation, random search, a mild preference for nearby sources) and weighted patch
    voting (Wexler et al.); the field is carried up a scale and voted there with that scale's own pixels.
    The working-grid pixels are then copied through the top field (a bilinear cross-fade between the
    copies of neighbouring offsets, so coherent regions are exact copies of real background), and the
    difference between copy and photo where the copy overlaps real background around the hole, when it
    is a tone rather than another structure, is spread smoothly over the fill so that it meets its
    surroundings without a seam. Deterministic for a given ``seed``. Without enough source pixels it
    falls back to a smooth push-pull fill.
    """
    if not hole.any():
        return rgb.copy()
    h, w = hole.shape
    ys, xs = np.nonzero(hole)
    span = max(ys.max() - ys.min(), xs.max() - xs.min()) + 1
    pad = max(16, int(span * PAD))
    y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + 1 + pad)
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    src = source[y0:y1, x0:x1]
    ch, cw = src.shape
    scale = min(1.0, COARSE_SIDE / max(ch, cw))
    src8, hole8 = src.astype(np.uint8) * 255, hole[y0:y1, x0:x1].astype(np.uint8) * 255
    levels = [_Level(crop, src8, hole8, (max(PATCH + 2, round(cw * scale)), max(PATCH + 2, round(ch * scale))))]
    if len(levels[0].vy) < 8:
        return _smooth_fallback(rgb, hole, source)
    while max(levels[0].shape) >= 2 * MIN_SIDE:
        scale *= 0.5
        lower = _Level(crop, src8, hole8, (round(cw * scale), round(ch * scale)))
        if len(lower.vy) < 64:
            break
        levels.insert(0, lower)
    rng = np.random.default_rng(seed)

    fy = fx = None
    for li, lv in enumerate(levels):
        sh, sw = lv.shape
        if fy is None:
            ny, nx = _nearest_valid(lv.valid)
            fy, fx = ny[lv.ty, lv.tx], nx[lv.ty, lv.tx]
            rounds, jumps = ROUNDS[0], [8, 4, 2, 1]
        else:
            # Carry the field up: the offset of the parent pixel, doubled; unusable sources fall back to the
            # nearest usable one. The first vote fills this scale with its own pixels.
            prev, pfy, pfx = levels[li - 1], fy, fx
            py, px = prev.shape
            off_y = np.zeros(prev.shape, np.int32)
            off_x = np.zeros(prev.shape, np.int32)
            off_y[prev.ty, prev.tx] = pfy - prev.ty
            off_x[prev.ty, prev.tx] = pfx - prev.tx
            qy = np.minimum((lv.ty * py) // sh, py - 1)
            qx = np.minimum((lv.tx * px) // sw, px - 1)
            fy = np.clip(lv.ty + np.rint(off_y[qy, qx] * (sh / py)).astype(np.int32), 0, sh - 1)
            fx = np.clip(lv.tx + np.rint(off_x[qy, qx] * (sw / px)).astype(np.int32), 0, sw - 1)
            bad = ~lv.valid[fy, fx]
            if bad.any():
                ny, nx = _nearest_valid(lv.valid)
                fy[bad], fx[bad] = ny[fy[bad], fx[bad]], nx[fy[bad], fx[bad]]
            _vote(lv, fy, fx, np.ones(len(fy), np.float32))
            rounds, jumps = ROUNDS[1], [4, 2, 1]
        kernels, bias = _pca_basis(lv, rng)
        desc = _descriptors(lv.image, kernels, bias)
        spread = float(np.var(desc[lv.vy, lv.vx], axis=0).sum())
        lam = 0.5 * spread / float(max(sh, sw)) ** 2  # a source the crop's width away costs half a typical patch difference
        for it in range(rounds):
            if it:
                desc = _descriptors(lv.image, kernels, bias)
            best = _search(lv, desc, fy, fx, lam, rng, jumps if it == 0 else [2, 1])
            weight = np.exp(-best / max(float(np.median(best)), 1e-6)).astype(np.float32)
            _vote(lv, fy, fx, weight)

    # Working grid, over the hole's box: copy the pixels through the field, blending bilinearly between the
    # copies that the four nearest top-scale targets' offsets give (a cross-fade where the offsets differ).
    lv = levels[-1]
    sh, sw = lv.shape
    fh, fw = ch / sh, cw / sw  # working pixels per top-scale pixel
    field = np.full((sh + 1, sw + 1, 2), -1e5, np.float32)  # x, y offsets in working pixels; far off: not a target
    field[lv.ty, lv.tx] = np.stack([(fx - lv.tx) * fw, (fy - lv.ty) * fh], axis=1)
    m = int(np.ceil(2 * max(fh, fw))) + 1
    wy0, wy1 = max(0, ys.min() - y0 - m), min(ch, ys.max() - y0 + 1 + m)
    wx0, wx1 = max(0, xs.min() - x0 - m), min(cw, xs.max() - x0 + 1 + m)
    size = (wx1 - wx0, wy1 - wy0)
    gx = (np.arange(wx0, wx1, dtype=np.float32) + 0.5) / fw - 0.5  # top-scale coordinates of the window
    gy = (np.arange(wy0, wy1, dtype=np.float32) + 0.5) / fh - 0.5
    rgba = cv2.cvtColor(crop, cv2.COLOR_RGB2RGBA)
    premul = cv2.bitwise_and(rgba, rgba, mask=src.view(np.uint8))  # only sources count (a = 255)
    base = np.dstack(np.meshgrid(np.arange(wx0, wx1, dtype=np.float32), np.arange(wy0, wy1, dtype=np.float32)))
    # Buffers reused by the four taps.
    acc = np.zeros((size[1], size[0], 4), np.float32)
    off = np.empty((size[1], size[0], 2), np.float32)
    tap = np.empty((size[1], size[0], 4), np.uint8)
    w4 = np.empty((size[1], size[0], 4), np.uint8)
    wyx = np.empty((size[1], size[0]), np.uint8)  # bilinear weight x 255
    for ddy in (0, 1):
        wy = np.clip(1 - np.abs(gy - (np.floor(gy) + ddy)), 0, 1)[:, None]
        for ddx in (0, 1):
            np.rint(wy * np.clip(1 - np.abs(gx - (np.floor(gx) + ddx)), 0, 1)[None, :] * 255, out=wyx, casting="unsafe")
            # nearest lookup at floor(g) + d: rounding g - 0.5 + d
            to_top = np.float32([[1 / fw, 0, (wx0 + 0.5) / fw - 1.0 + ddx], [0, 1 / fh, (wy0 + 0.5) / fh - 1.0 + ddy]])
            flags = cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
            cv2.warpAffine(field, to_top, size, dst=off, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=(-1e5, -1e5))
            off += base
            cv2.remap(premul, off, None, cv2.INTER_NEAREST, dst=tap, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            cv2.merge([wyx] * 4, dst=w4)
            cv2.accumulateProduct(tap, w4, acc)
    wsum = acc[..., 3] * (1.0 / 255.0)  # the weight of the taps that found a source, x 255
    copied = cv2.multiply(np.ascontiguousarray(acc[..., :3]), cv2.merge([1.0 / np.maximum(wsum, 0.25)] * 3))
    got = wsum > 0.25
    if not got.all():
        to_top = np.float32([[1 / fw, 0, (wx0 + 0.5) / fw - 0.5], [0, 1 / fh, (wy0 + 0.5) / fh - 0.5]])
        up = cv2.warpAffine(lv.image, to_top, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
        copied[~got] = up[~got]
    # Seamless: where the copy overlaps real background (the ring of source pixels under the top-scale
    # targets) its difference from the photo, where small (a tone, not another structure), is spread
    # smoothly over the fill (averaged per top-scale pixel, push-pull filled there, brought back up).
    ry, rx = np.nonzero(src[wy0:wy1, wx0:wx1] & got)
    diff = crop[ry + wy0, rx + wx0].astype(np.float32) - copied[ry, rx]
    keep = np.abs(diff).max(axis=1) < RING_STEP  # a different structure there, not a tone to match
    if keep.any():
        ry, rx, diff = ry[keep], rx[keep], diff[keep]
        hh, ww = (wy1 - wy0 + int(fh)) // max(1, int(fh)) + 1, (wx1 - wx0 + int(fw)) // max(1, int(fw)) + 1
        cell = (ry // max(1, int(fh))) * ww + rx // max(1, int(fw))
        den = np.bincount(cell, minlength=hh * ww).astype(np.float32).reshape(hh, ww)
        num = np.stack([np.bincount(cell, diff[:, c], minlength=hh * ww) for c in range(3)], axis=-1).astype(np.float32).reshape(hh, ww, 3)
        smooth = push_pull_fill(num / np.maximum(den, 1.0)[..., None], den > 0)
        # cell (i, j) covers pixels [i * fh, (i + 1) * fh): its centre sits at (i + 0.5) * fh - 0.5
        k = np.float32([[max(1, int(fw)), 0, 0], [0, max(1, int(fh)), 0]])
        k[:, 2] = 0.5 * k[:, :2].sum(axis=1) - 0.5
        copied += cv2.warpAffine(smooth, k, (wx1 - wx0, wy1 - wy0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    np.maximum(copied, 0, out=copied)
    filled = cv2.convertScaleAbs(copied)  # rounds and saturates at 255
    out = rgb.copy()
    win = out[y0 + wy0 : y0 + wy1, x0 + wx0 : x0 + wx1]
    np.copyto(win, filled, where=hole[y0 + wy0 : y0 + wy1, x0 + wx0 : x0 + wx1, None])
    return out


def background_plate(
    small: np.ndarray, person: np.ndarray, edit_weight: np.ndarray, chosen_oval: np.ndarray, other_ovals: Sequence[np.ndarray],
    people: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """The background plate on the working grid.

    small: (h, w, 3) uint8, the photo on the working grid; person: (h, w) float32 matte in [0, 1];
    edit_weight: (h, w) float32 in [0, 1] (1 on the head); ovals: (K, 2) float face outlines in working-grid
    pixels (x, y), the edited face's and every other face's. Returns (h, w, 4) uint8: rgb = the background
    with the edited head filled in from the background around it (the photo itself where a = 0), a = where
    the renderer uses it (``mix(photo, plate.rgb, plate.a)``): 0 on every other person. ``people``: the
    split of :func:`split_people` where the caller has it already.
    """
    mine, others = people if people is not None else split_people(person, chosen_oval, other_ovals)
    alpha = np.rint(np.clip(plate_alpha(person, edit_weight, mine, others), 0, 1) * 255.0).astype(np.uint8)
    hole = alpha > 0
    source = background_source(person, others) & ~hole
    return np.dstack([exemplar_fill(small, hole, source), alpha])
