"""The registry of backends by name: options go to the backend's constructor, and an unknown backend or
option is the user's mistake, refused with a message naming it."""

from __future__ import annotations

import pytest

from super_gui.app.pipeline import prepare
from super_gui.core.image_io import load_photo
from super_gui.errors import UserInputError
from super_gui.inversion import backends
from super_gui.inversion.landmark import LandmarkBackend


class WithOptions:
    name = "with_options"

    def __init__(self, checkpoint: str, *, device: str = "cpu"):
        self.checkpoint, self.device = checkpoint, device


def test_the_landmark_backend_takes_no_option():
    assert isinstance(backends.backend(), LandmarkBackend)
    assert isinstance(backends.backend("landmark"), LandmarkBackend)
    with pytest.raises(UserInputError, match="'landmark'.*'steps'.*takes none"):
        backends.backend("landmark", steps=10)
    with pytest.raises(UserInputError, match="'nope'"):
        backends.backend("nope")


def test_options_go_to_the_backends_constructor(monkeypatch):
    monkeypatch.setitem(backends.BACKENDS, "with_options", f"{__name__}:WithOptions")
    b = backends.backend("with_options", checkpoint="net.pkl", device="cuda")
    assert (b.checkpoint, b.device) == ("net.pkl", "cuda")
    with pytest.raises(UserInputError, match="'seed'.*checkpoint, device"):
        backends.backend("with_options", checkpoint="net.pkl", seed=1)


def test_prepare_refuses_an_unknown_option_before_the_work(grace_jpg, monkeypatch):
    import super_gui.app.pipeline as pipeline

    def never(*a, **k):
        raise AssertionError("analysed before the options were checked")

    monkeypatch.setattr(pipeline, "analyze_photo", never)
    with pytest.raises(UserInputError, match="'steps'"):
        prepare(load_photo(grace_jpg), backend_options={"steps": 10})
