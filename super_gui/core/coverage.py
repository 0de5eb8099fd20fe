"""How much of a new view the photo itself covers, and the slider ranges a photo supports (DESIGN.md §9).

A turn or a longer lens shows surface the photo saw badly (a cheek seen edge-on, now facing the camera:
its few pixels stretched) or never saw at all (the skirt behind the head's outline, coloured from
inside it). Past some point the frame stops looking like a photo of the person. This module measures
that point once per photo, so the editor can say where it lies instead of surprising the user:

* :func:`head_coverage` keeps the head's triangles (head weight >= 0.5, not torn) with their area in the
  photo and which side of each is its outside: the side facing the capture camera for photographed
  surface, the side facing away for the skirt (hidden behind the head in the photo, revealed by a turn);
* :func:`view_coverage` is the share of the head's projected area in a new view that the photo covers:
  photographed (not skirt) with at least ``MIN_DETAIL_RATIO`` of the pixels the new view gives it;
* :func:`supported_ranges` samples each slider from its default outward and returns where the coverage
  stays at or above ``MIN_COVERAGE``.

Occlusion is not resolved: back faces are dropped but a front face hidden behind the nose still counts.
Checked against a z-buffered version of the same measure (splatted on an 80-cell grid) on both sample
photos over the sliders' whole ranges, the two differ by at most 0.045, part of it the z-buffer's own
sampling error (it gives 0.996 for the photo's own view); this one is ~50x cheaper: under 1 ms a view
for the ~10k head triangles of a typical mesh.

Pure numpy on arrays; no Qt, no GL, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from super_gui.core.camera import Intrinsics, View, VirtualCamera
from super_gui.core.mesh import SKIRT_QUALITY, PersonMesh

HEAD_WEIGHT_MIN = 0.5  # a triangle whose vertices' mean head weight is at least this is head
# A surface element is covered when the photo has at least this share of the pixels the new view needs
# for it: its texture stretched by less than ~3x in area (~1.8x across; a surface seen at 73 deg from
# head-on has cos = 0.3 of its pixels). At identity every photographed element has exactly its own pixels
# (ratio 1), so the photo's own view is fully covered.
MIN_DETAIL_RATIO = 0.3
# The supported range ends where more than 5 % of the head's projected area is invented (the skirt) or
# stretched past MIN_DETAIL_RATIO. Chosen on renders of the two sample photos: Grace Hopper's far ear
# shows a smeared copy of the head's outline from ~20 deg of yaw (coverage 0.94 there; 0.89 and a doubled
# ear at 25 deg); the astronaut, whose hair hides her ears, keeps a clean outline to ~24 deg (0.94 at 25,
# with seams at the hair's edge; folded hair at 30). Long lenses are the conservative case: the sides of
# the head they reveal are hair and ears seen edge-on, which look right in the renders at 200 mm although
# coverage there is 0.94-0.98, so the focal track may be marked a little early.
MIN_COVERAGE = 0.95
YAW_STEP_DEG = 2.5
PITCH_STEP_DEG = 2.5
FOCAL_SAMPLES = 8  # log-spaced from the capture focal to the slider's end


@dataclass(frozen=True)
class HeadCoverage:
    """The head's triangles as :func:`view_coverage` needs them (built once per photo).

    positions (3, N) float64 capture camera space (m), one row per axis (contiguous columns make the
    per-view arithmetic several times faster); head_weight (N,) float64; triangles (3, M) intp into
    them, one row per corner; photo_area_px (M,) float64 area in the photo (0 for the skirt, which the photo never saw);
    outside (M,) float64 +1 or -1: the sign of the triangle's projected area in a view that shows its
    outside, relative to its winding.
    """

    positions: np.ndarray
    head_weight: np.ndarray
    triangles: np.ndarray
    photo_area_px: np.ndarray
    outside: np.ndarray


def _signed_area(tri_px: np.ndarray) -> np.ndarray:
    """(M, 3, 2) triangle corners in pixels -> (M,) signed areas (positive: counter-clockwise on screen)."""
    a, b, c = tri_px[:, 0], tri_px[:, 1], tri_px[:, 2]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def head_coverage(mesh: PersonMesh, capture: Intrinsics) -> HeadCoverage:
    """The head part of ``mesh`` (capture camera space) with its areas in the photo taken by ``capture``."""
    tri = mesh.triangles[~mesh.torn]
    tri = tri[mesh.head_weight[tri].mean(axis=1) >= HEAD_WEIGHT_MIN]
    used, local = np.unique(tri, return_inverse=True)
    tri = local.reshape(-1, 3).astype(np.int32)
    pos = mesh.positions[used].astype(np.float64)
    skirt = (mesh.quality[used][tri] <= SKIRT_QUALITY + 1e-6).any(axis=1)
    area = _signed_area(capture.project(pos)[tri])
    # Photographed surface shows its outside to the capture camera; the skirt curves away behind the
    # outline, so the capture camera sees its inside (it is hidden there) and a turn shows its outside.
    outside = np.where(skirt, -1.0, 1.0) * np.where(area >= 0.0, 1.0, -1.0)
    return HeadCoverage(np.ascontiguousarray(pos.T), mesh.head_weight[used].astype(np.float64),
                        np.ascontiguousarray(tri.T.astype(np.intp)), np.where(skirt, 0.0, np.abs(area)), outside)


def _project_columns(head: HeadCoverage, camera: VirtualCamera) -> tuple[np.ndarray, np.ndarray]:
    """``camera.project(head.positions.T, head.head_weight)`` as two (N,) arrays, x and y: the same
    arithmetic on contiguous 1-D arrays, several times faster than the (N, 3) matrix form."""
    x, y, z = head.positions
    R, c, w = camera.rotation, camera.pivot, head.head_weight
    dx, dy, dz = x - c[0], y - c[1], z - c[2]
    tx = R[0, 0] * dx + R[0, 1] * dy + R[0, 2] * dz + c[0]
    ty = R[1, 0] * dx + R[1, 1] * dy + R[1, 2] * dz + c[1]
    tz = R[2, 0] * dx + R[2, 1] * dy + R[2, 2] * dz + c[2]
    X, Y = x + w * (tx - x), y + w * (ty - y)
    Z = z + w * (tz - z) + camera.dolly_shift_m
    k = camera.intrinsics
    return k.focal_px * X / Z + k.cx, k.focal_px * Y / Z + k.cy


def view_coverage(head: HeadCoverage, camera: VirtualCamera) -> float:
    """Share (0..1) of the head's projected area in ``camera``'s view that the photo covers: surface it
    photographed with at least ``MIN_DETAIL_RATIO`` of the pixels this view gives it. 1.0 for the photo's
    own view; 0.0 when no head surface faces the camera."""
    u, v = _project_columns(head, camera)
    a, b, c = head.triangles
    ua, ub, uc = u[a], u[b], u[c]
    va, vb, vc = v[a], v[b], v[c]
    area = 0.5 * ((ub - ua) * (vc - va) - (vb - va) * (uc - ua)) * head.outside
    front = area > 0.0
    total = float(area[front].sum())
    if total <= 0.0:
        return 0.0
    covered = front & (head.photo_area_px >= MIN_DETAIL_RATIO * area)
    return float(area[covered].sum()) / total


@dataclass(frozen=True)
class SliderRange:
    """What one slider supports for this photo: ``lo``..``hi`` (its units: degrees, or mm for the focal)
    and the samples it was found from, ((value, coverage), ...) in increasing value."""

    lo: float
    hi: float
    samples: tuple[tuple[float, float], ...]

    def contains(self, value: float, tolerance: float = 0.05) -> bool:
        return self.lo - tolerance <= value <= self.hi + tolerance


@dataclass(frozen=True)
class SupportedRanges:
    """Per slider, the range of views this photo supports (each with the other sliders at their defaults:
    yaw 0, pitch 0, the capture focal), and the coverage threshold that defines it."""

    yaw: SliderRange
    pitch: SliderRange
    focal: SliderRange
    min_coverage: float = MIN_COVERAGE

    def outside(self, view: View, capture_focal_35mm: float) -> list[str]:
        """The sliders whose value in ``view`` lies outside what they support (empty: inside)."""
        f = capture_focal_35mm if view.focal_35mm is None else view.focal_35mm
        pairs = (("yaw", self.yaw, view.yaw_deg), ("pitch", self.pitch, view.pitch_deg), ("focal", self.focal, f))
        return [name for name, rng, v in pairs if not rng.contains(v)]

    def summary(self) -> dict:
        """Plain data for reports."""
        return {"yaw_deg": [round(self.yaw.lo, 1), round(self.yaw.hi, 1)],
                "pitch_deg": [round(self.pitch.lo, 1), round(self.pitch.hi, 1)],
                "focal_35mm": [round(self.focal.lo, 1), round(self.focal.hi, 1)],
                "min_coverage": self.min_coverage}


def _walk(coverage_at: Callable[[float], float], start: float, stop: float, values: np.ndarray,
          threshold: float) -> tuple[float, list[tuple[float, float]]]:
    """From ``start`` through ``values`` (ordered away from it, ending at ``stop``): the last value whose
    coverage is at or above ``threshold``, refined by linear interpolation toward the first that is not;
    and the (value, coverage) samples taken. Coverage falls off steadily away from the photo's own view,
    so the walk stops at the first sample below the threshold."""
    last_v, last_c = start, 1.0
    samples = []
    for v in values:
        c = coverage_at(float(v))
        samples.append((float(v), c))
        if c < threshold:
            t = (last_c - threshold) / max(last_c - c, 1e-9)
            return last_v + t * (float(v) - last_v), samples
        last_v, last_c = float(v), c
    return stop, samples


def supported_ranges(
    head: HeadCoverage,
    camera_for: Callable[[View], VirtualCamera],
    capture_focal_35mm: float,
    yaw_range: tuple[float, float],
    pitch_range: tuple[float, float],
    max_focal_35mm: float,
    threshold: float = MIN_COVERAGE,
) -> SupportedRanges:
    """Sample each slider outward from its default (every 2.5 deg; ``FOCAL_SAMPLES`` focal lengths on the
    slider's log scale) and keep, per slider, the range where :func:`view_coverage` >= ``threshold``.
    ``camera_for(view)`` is the photo's virtual camera (``PortraitRenderer.camera``). ~1 ms a sample,
    10-40 samples."""

    def angle_range(lo: float, hi: float, step: float, make: Callable[[float], View]) -> SliderRange:
        at = lambda v: view_coverage(head, camera_for(make(v)))  # noqa: E731
        up = np.arange(step, hi + 1e-9, step)
        down = -np.arange(step, -lo + 1e-9, step)
        top, s_up = _walk(at, 0.0, hi, up, threshold)
        bottom, s_down = _walk(at, 0.0, lo, down, threshold)
        samples = sorted(s_down + [(0.0, 1.0)] + s_up)
        return SliderRange(bottom, top, tuple(samples))

    yaw = angle_range(*yaw_range, YAW_STEP_DEG, lambda v: View(yaw_deg=v))
    pitch = angle_range(*pitch_range, PITCH_STEP_DEG, lambda v: View(pitch_deg=v))
    f0 = float(capture_focal_35mm)
    f1 = max(float(max_focal_35mm), f0)
    if f1 > f0 * 1.001:
        # The walk interpolates in log focal, as the slider is laid out.
        values = np.geomspace(f0, f1, FOCAL_SAMPLES + 1)[1:]
        at = lambda lf: view_coverage(head, camera_for(View(focal_35mm=math.exp(lf))))  # noqa: E731
        top, s = _walk(at, math.log(f0), math.log(f1), np.log(values), threshold)
        focal = SliderRange(f0, math.exp(top), tuple([(f0, 1.0)] + [(math.exp(v), c) for v, c in s]))
    else:
        focal = SliderRange(f0, f0, ((f0, 1.0),))
    return SupportedRanges(yaw, pitch, focal, threshold)
