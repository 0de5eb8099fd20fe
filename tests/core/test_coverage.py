"""How much of a new view the photo covers, and the slider ranges it supports, on a real photo."""

from __future__ import annotations

import time

import numpy as np
import pytest

from super_gui.core.camera import View
from super_gui.core.coverage import (MIN_COVERAGE, SliderRange, SupportedRanges, _project_columns, head_coverage,
                                     supported_ranges, view_coverage)
from super_gui.core.image_io import load_photo
from super_gui.app.pipeline import MAX_FOCAL_MM, PITCH_RANGE, YAW_RANGE, prepare


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory, astronaut_rgb):
    from tests.conftest import save

    return prepare(load_photo(save(astronaut_rgb, tmp_path_factory.mktemp("a") / "astronaut.jpg", quality=95)))


def test_the_photos_own_view_is_fully_covered_and_coverage_falls_as_the_head_turns(astronaut):
    head = astronaut.head
    assert head is not None and head.triangles.shape[1] > 1000
    assert view_coverage(head, astronaut.camera(View())) == pytest.approx(1.0, abs=1e-9)
    for sign in (1, -1):
        c = [view_coverage(head, astronaut.camera(View(yaw_deg=sign * y))) for y in (0, 15, 20, 25, 30)]
        assert c[0] == 1.0 and all(a > b for a, b in zip(c, c[1:])), c
        assert c[-1] < MIN_COVERAGE  # a 30 degree turn shows more than the photo saw
    # Lifting the chin and a long lens uncover surface too, less steeply.
    assert view_coverage(head, astronaut.camera(View(pitch_deg=20))) < view_coverage(head, astronaut.camera(View(pitch_deg=10))) < 1.0
    assert view_coverage(head, astronaut.camera(View(focal_35mm=200.0))) < 1.0


def test_the_skirt_counts_as_unseen(astronaut):
    """The skirt (the side of the head behind the outline, never photographed) is revealed by a turn and
    counts as uncovered: were it photographed, the turned view would be better covered."""
    head = astronaut.head
    skirt = head.photo_area_px == 0
    assert skirt.sum() > 100

    def facing(view):
        u, v = _project_columns(head, astronaut.camera(view))
        a, b, c = head.triangles
        return ((u[b] - u[a]) * (v[c] - v[a]) - (v[b] - v[a]) * (u[c] - u[a])) * head.outside > 0

    assert not facing(View())[skirt].any()  # hidden behind the head in the photo
    shown = [facing(View(yaw_deg=y))[skirt].sum() for y in (10, 25)]
    assert shown[1] > max(10, shown[0]), shown  # a turn shows its outside, more the farther it goes
    cam = astronaut.camera(View(yaw_deg=25))
    seen = type(head)(head.positions, head.head_weight, head.triangles, np.where(skirt, 1e9, head.photo_area_px), head.outside)
    assert view_coverage(seen, cam) > view_coverage(head, cam) + 0.01
    blind = type(head)(head.positions, head.head_weight, head.triangles, np.zeros_like(head.photo_area_px), head.outside)
    assert view_coverage(blind, cam) == 0.0


def test_fast_projection_is_the_cameras_own(astronaut):
    head = astronaut.head
    cam = astronaut.camera(View(20.0, -10.0, 85.0))
    u, v = _project_columns(head, cam)
    np.testing.assert_allclose(np.stack([u, v], axis=1), cam.project(head.positions.T, head.head_weight), atol=1e-9)


def test_supported_range_of_the_astronaut_is_inside_the_sliders_and_contains_the_photo(astronaut):
    r = astronaut.supported
    assert isinstance(r, SupportedRanges)
    assert YAW_RANGE[0] < r.yaw.lo < -10.0 < 10.0 < r.yaw.hi < YAW_RANGE[1]  # narrower than the slider, not tiny
    assert PITCH_RANGE[0] <= r.pitch.lo < 0.0 < r.pitch.hi <= PITCH_RANGE[1]
    f0 = astronaut.analysis.focal.focal_35mm
    assert r.focal.lo == pytest.approx(f0) and f0 < r.focal.hi <= MAX_FOCAL_MM
    # The boundary is where the sampled coverage crosses the threshold.
    cam = astronaut.camera
    assert view_coverage(astronaut.head, cam(View(yaw_deg=r.yaw.hi - 1.0))) >= MIN_COVERAGE
    assert view_coverage(astronaut.head, cam(View(yaw_deg=r.yaw.hi + 1.0))) < MIN_COVERAGE
    assert r.outside(View(), f0) == []
    assert r.outside(View(yaw_deg=29.0), f0) == ["yaw"]
    assert r.outside(View(yaw_deg=-29.0, pitch_deg=0.0), f0) == ["yaw"]
    assert set(r.summary()) == {"yaw_deg", "pitch_deg", "focal_35mm", "min_coverage"}


def test_supported_ranges_are_cheap(astronaut):
    """Computed once per photo in prepare(); a loose bound (the bar is ~30 ms on an idle 2-core machine)."""
    a = astronaut.analysis
    best = min(_timed(lambda: supported_ranges(head_coverage(astronaut.mesh, a.intrinsics), astronaut.camera,
                                               a.focal.focal_35mm, YAW_RANGE, PITCH_RANGE, MAX_FOCAL_MM)) for _ in range(3))
    assert best < 0.25
    assert "coverage" in astronaut.timings_s


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def test_slider_range_walk_interpolates_the_crossing():
    from super_gui.core.coverage import _walk

    top, samples = _walk(lambda v: 1.0 - v / 20.0, 0.0, 30.0, np.arange(2.5, 30.01, 2.5), 0.9)
    assert top == pytest.approx(2.0)
    assert samples[-1][1] < 0.9 and len(samples) == 1
    top, _ = _walk(lambda v: 1.0, 0.0, 30.0, np.arange(2.5, 30.01, 2.5), 0.9)
    assert top == 30.0
    assert SliderRange(-10.0, 10.0, ()).contains(10.04) and not SliderRange(-10.0, 10.0, ()).contains(10.2)
