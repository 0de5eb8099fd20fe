"""The background plate (super_gui.inversion.plate): it fills only the edited head, never another person,
with texture that continues the background around it (not a blur), and leaves every other pixel alone."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from super_gui.core.depth import smoothstep
from super_gui.inversion.plate import background_plate, exemplar_fill, split_people

H, W = 300, 420
SKIN = (225, 170, 140)
HAIR = (150, 40, 30)


def _oval(cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    """(36, 2) x, y: an elliptic face outline."""
    t = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _checker(period: int = 12) -> np.ndarray:
    """A textured background: a grey checkerboard with a little noise, (H, W, 3) uint8."""
    yy, xx = np.mgrid[0:H, 0:W]
    board = np.where(((yy // period) + (xx // period)) % 2 == 0, 70.0, 190.0)
    noise = np.random.default_rng(1).normal(0, 6, (H, W))
    return np.clip(np.dstack([board + noise] * 3), 0, 255).astype(np.uint8)


def _scene(two: bool):
    """A photo of one or two people over the checkerboard: (rgb, person matte, edit weight, chosen oval,
    other ovals, the other person's mask). The chosen head is a disc at (150, 120); the other person (hair
    in ``HAIR``) stands close enough that the edit weight reaches over them."""
    rgb = _checker()
    person = np.zeros((H, W), np.float32)
    them = np.zeros((H, W), np.uint8)
    cv2.circle(person, (150, 120), 58, 1.0, -1)
    cv2.rectangle(person, (80, 190), (220, H), 1.0, -1)
    if two:
        cv2.circle(them, (285, 125), 55, 1, -1)
        cv2.rectangle(them, (225, 195), (355, H), 1, -1)
        person = np.maximum(person, them.astype(np.float32))
    person = cv2.GaussianBlur(person, (0, 0), 1.5)
    rgb[person > 0.5] = SKIN
    if two:
        rgb[(them > 0) & (person > 0.5)] = HAIR
    # The edit reaches 140 px around the head (over much of the neighbour) and fades out below the chin.
    yy, xx = np.mgrid[0:H, 0:W]
    r = np.hypot(xx - 150, yy - 120)
    edit = ((1 - smoothstep(110, 140, r)) * (1 - smoothstep(175, 200, yy))).astype(np.float32)
    others = [_oval(285, 135, 38, 45)] if two else []
    return rgb, person, edit, _oval(150, 130, 40, 48), others, them > 0


def test_other_person_never_painted():
    rgb, person, edit, chosen, others, them = _scene(two=True)
    # Precondition: the edit (and the old whole-person plate) reached over the neighbour.
    assert (edit[them] > 0.5).sum() > 500
    plate = background_plate(rgb, person, edit, chosen, others)
    assert plate.shape == (H, W, 4) and plate.dtype == np.uint8
    assert plate[..., 3][them].max() == 0
    np.testing.assert_array_equal(plate[..., :3][them], rgb[them])
    # The neighbour's hair is not used as texture either: no fill pixel has its colour.
    filled = plate[..., 3] > 0
    assert filled.sum() > 5000
    assert np.abs(plate[..., :3][filled].astype(int) - HAIR).sum(axis=1).min() > 60
    # The chosen head is filled.
    head = np.zeros((H, W), np.uint8)
    cv2.circle(head, (150, 120), 50, 1, -1)
    assert plate[..., 3][head > 0].min() == 255


def test_split_people_by_nearest_face():
    _, person, _, chosen, others, them = _scene(two=True)
    mine, protect = split_people(person, chosen, others)
    assert not (mine & them).any()
    assert protect[them].all()
    assert mine[120, 150] and not protect[120, 150]
    # One person only: nothing to protect, the whole matte is theirs.
    _, person1, _, chosen1, _, _ = _scene(two=False)
    mine1, protect1 = split_people(person1, chosen1, [])
    assert not protect1.any() and mine1[person1 > 0.5].all()


def test_a_speck_of_matte_on_the_other_side_is_not_a_person_to_protect():
    # A wisp of background the segmentation half-kept, nearer the other face but off its zone, was held
    # still inside the edited head's plate: a hole of the photo in the fill. Another person's hand (a piece
    # of matte as big as a hand), or anything touching their zone, stays protected.
    _, person, _, chosen, others, them = _scene(two=True)
    speck = np.zeros((H, W), bool)
    speck[52:55, 341:344] = True  # 9 px, nearer the other face, out of its reach
    hand = np.zeros((H, W), bool)
    hand[10:40, 236:266] = True  # 900 px
    person = np.maximum(person, 0.3 * (speck | hand).astype(np.float32))
    _, protect = split_people(person, chosen, others)
    assert protect[them].all()
    assert not protect[speck].any()
    assert protect[hand].all()


def test_fill_continues_the_texture():
    rgb, person, edit, chosen, others, _ = _scene(two=False)
    plate = background_plate(rgb, person, edit, chosen, others)
    head = np.zeros((H, W), np.uint8)
    cv2.circle(head, (150, 120), 50, 1, -1)
    inside = (head > 0) & (plate[..., 3] == 255)
    assert inside.sum() > 5000
    background = person < 0.01
    background[:, 230:] = False  # nearby background, the same checkerboard

    def detail(img: np.ndarray, where: np.ndarray) -> float:
        g = img.astype(np.float32).mean(axis=-1)
        high = g - cv2.GaussianBlur(g, (0, 0), 3.0)
        return float(np.sqrt(np.mean(high[where] ** 2)))

    fill = plate[..., :3]
    # A blur (the old push-pull plate) keeps a few percent of the texture's high frequencies; the fill
    # keeps most of it.
    assert detail(fill, inside) > 0.5 * detail(rgb, background)
    # Its colour is the background's, not the person's.
    mean = fill[inside].astype(np.float32).mean(axis=0)
    assert np.abs(mean - rgb[background].mean(axis=0)).max() < 25
    assert np.abs(fill[inside].astype(int) - SKIN).sum(axis=1).min() > 60
    # Local variance (9 px windows) in the fill is a good part of the background's.
    g = fill.astype(np.float32).mean(axis=-1)
    var = cv2.blur(g * g, (9, 9)) - cv2.blur(g, (9, 9)) ** 2
    assert np.median(var[inside]) > 0.3 * np.median(var[background])


def test_pixels_outside_the_fill_untouched():
    rgb, person, edit, chosen, others, _ = _scene(two=True)
    plate = background_plate(rgb, person, edit, chosen, others)
    outside = plate[..., 3] == 0
    assert outside.any()
    np.testing.assert_array_equal(plate[..., :3][outside], rgb[outside])
    # exemplar_fill on its own: only the hole changes, and the same input gives the same output.
    hole = np.zeros((H, W), bool)
    hole[100:160, 100:200] = True
    source = ~hole
    source[:, 300:] = False
    a = exemplar_fill(rgb, hole, source)
    np.testing.assert_array_equal(a[~hole], rgb[~hole])
    np.testing.assert_array_equal(a, exemplar_fill(rgb, hole, source))


@pytest.mark.parametrize("case", ["no hole", "no source"])
def test_degenerate_inputs(case):
    rgb = _checker()
    hole = np.zeros((H, W), bool)
    if case == "no hole":
        np.testing.assert_array_equal(exemplar_fill(rgb, hole, ~hole), rgb)
    else:
        hole[50:100, 50:100] = True
        out = exemplar_fill(rgb, hole, np.zeros((H, W), bool))
        np.testing.assert_array_equal(out[~hole], rgb[~hole])
