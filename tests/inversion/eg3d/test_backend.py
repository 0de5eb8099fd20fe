"""The eg3d backend end to end on CPU (issue 11, items 4 and 6): a tiny randomly initialised generator, written
as an NVIDIA-format pickle, through the whole path: crop -> invert a few steps -> depth -> mesh -> render -> blend
-> export. The fit's losses fall, gradients reach the latent and the camera, the result is cached per photo, a
cancel stops it between steps, and the generated image lands where the head goes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from super_gui.app.edit import write_edit
from super_gui.app.pipeline import PortraitRenderer, prepare
from super_gui.core.camera import View
from super_gui.core.image_io import load_photo
from super_gui.errors import Cancelled, UserInputError
from super_gui.inversion.backends import backend
from super_gui.inversion.eg3d import backend as eg3d_backend
from super_gui.inversion.eg3d import invert as invert_module
from super_gui.inversion.eg3d.checkpoint import CheckpointError
from super_gui.inversion.eg3d.invert import PRESETS, Schedule, invert
from super_gui.inversion.eg3d.loader import random_generator
from super_gui.inversion.eg3d.losses import Perceptual, PhotoLoss

from . import nvidia_format


@pytest.fixture(scope="module")
def tiny_pkl(tmp_path_factory) -> Path:
    return nvidia_format.write_tiny_checkpoint(tmp_path_factory.mktemp("tiny_eg3d"), seed=5)


@pytest.fixture(scope="module")
def fitted(tiny_pkl, tmp_path_factory, grace_rgb):
    from tests.conftest import save

    d = tmp_path_factory.mktemp("fit")
    photo = load_photo(save(grace_rgb, d / "grace.jpg", quality=95))
    messages: list[str] = []
    options = dict(checkpoint=str(tiny_pkl), steps=4, cache_dir=str(d / "cache"), device="cpu")
    prepared = prepare(photo, backend_name="eg3d", backend_options=options, progress=lambda f, m: messages.append(m))
    return photo, prepared, messages, options


def test_whole_path_crop_invert_depth_mesh_render_blend_export(fitted, tmp_path):
    photo, prepared, messages, _ = fitted
    inv = prepared.inversion
    assert inv.backend == "eg3d"
    sched = Schedule.parse(4)
    steps = [m for m in messages if "step" in m]
    assert len(steps) == sched.total and steps[-1].startswith(f"Fitting the 3D face (details): step {sched.total} of {sched.total}")
    assert "left" in steps[0]
    # EG3D's depth replaced the landmark depth on the head, and only there.
    base = prepare(photo)  # the landmark backend on the same photo
    d_eg, d_lm = inv.depth.depth_m, base.inversion.depth.depth_m
    changed = np.abs(d_eg - d_lm) > 1e-6
    assert changed.any()
    assert not changed[inv.depth.head_weight < 1e-6].any()
    assert np.all(d_eg[changed] >= 0.8 * d_lm[changed] - 1e-6) and np.all(d_eg[changed] <= 1.25 * d_lm[changed] + 1e-6)
    # The mesh came from that depth.
    assert prepared.mesh.positions.shape[0] > 0
    view = View(yaw_deg=20.0, focal_35mm=85.0)
    renderer = PortraitRenderer(prepared)
    try:
        full = renderer.render(view, full=True)
    finally:
        renderer.release()
    assert full.image.shape == photo.rgb.shape
    assert "generate" in full.timings_s  # the settled frame asked the backend for its own image
    far = np.zeros(full.image.shape[:2], bool)
    far[:, :20] = True  # the image's left edge is far from the head
    assert np.array_equal(full.image[far], photo.rgb[far])
    assert not np.array_equal(full.image, photo.rgb)
    out = tmp_path / "out.jpg"
    report = write_edit(prepared, full.image, view, out, command="edit")
    assert out.is_file() and report["output"]


def test_generate_lands_where_the_head_goes(fitted):
    _, prepared, _, _ = fitted
    inv = prepared.inversion
    assert inv.generate(View()) is None  # the capture view needs nothing generated
    face = prepared.analysis.faces.face
    for view in (View(yaw_deg=25.0), View(pitch_deg=-15.0, focal_35mm=120.0)):
        g = inv.generate(view)
        x0, y0, w, h = g.rect
        assert g.rgba.dtype == np.uint8 and g.rgba.shape[2] == 4 and w == pytest.approx(h)
        # the eyes, moved into the view, are inside the square, which is a few eye distances wide
        eyes = prepared.camera(view).project(prepared.analysis.eye_midpoint[None])[0]
        assert x0 < eyes[0] < x0 + w and y0 < eyes[1] < y0 + h
        assert 2.0 < w / face.eye_distance_px < 8.0
        assert g.rgba[0, 0, 3] == 0 and g.rgba[..., 3].max() > 0  # faded out at its border


def test_a_reopened_photo_is_not_fitted_again(fitted, monkeypatch):
    photo, prepared, _, options = fitted

    def no_fit(*a, **k):
        raise AssertionError("fitted again")

    monkeypatch.setattr(eg3d_backend, "invert", no_fit)
    again = prepare(photo, backend_name="eg3d", backend_options=options)
    assert "eg3d.cached" in again.inversion.timings_s
    # A fresh fit is rounded as the cache stores it, so a reopened photo edits to the same bytes.
    assert np.array_equal(again.inversion.depth.depth_m, prepared.inversion.depth.depth_m)
    view = View(yaw_deg=-20.0)
    a, b = prepared.inversion.generate(view), again.inversion.generate(view)
    assert a.rect == b.rect and np.array_equal(a.rgba, b.rgba)


def test_cancel_stops_the_fit_between_steps(tiny_pkl, grace_jpg, tmp_path):
    photo = load_photo(grace_jpg)
    seen: list[str] = []
    with pytest.raises(Cancelled):
        prepare(photo, backend_name="eg3d", backend_options=dict(checkpoint=str(tiny_pkl), steps=8, cache_dir=str(tmp_path)),
                progress=lambda f, m: seen.append(m), is_cancelled=lambda: any("step 2 " in m for m in seen))
    assert not any("step 3 " in m for m in seen)
    assert not list((tmp_path / "inversions").glob("*.safetensors")) if (tmp_path / "inversions").exists() else True


def _target(G, n_landmarks: int = 20, seed: int = 0):
    """A target image made by G itself from a random latent at a nearby camera, with landmarks on a sphere."""
    from super_gui.inversion.eg3d import camera
    from super_gui.inversion.eg3d.invert import Target, render

    g = torch.Generator().manual_seed(seed)
    c_true = camera.make_c(camera.orbit_camera(yaw=0.15, pitch=0.05), camera.intrinsics())
    with torch.no_grad():
        ws = G.mapping(torch.randn(1, G.z_dim, generator=g), camera.frontal_c()[None])
        image = render(G, ws, c_true)["image"]
    pts = torch.randn(n_landmarks, 3, generator=g)
    pts = 0.3 * pts / pts.norm(dim=1, keepdim=True) + torch.tensor([0.0, 0.0, 0.2])
    uv = camera.project(c_true, pts)
    return Target(image, torch.ones(1, 1, *image.shape[-2:]), uv, pts, 0.25, 0.2), camera.frontal_c()


def test_each_stage_lowers_its_loss_and_gradients_reach_latent_and_camera():
    G = random_generator("tiny", seed=1)
    target, c0 = _target(G)
    cam2world, intr = c0[:16].view(4, 4), c0[16:].view(3, 3)
    sched = Schedule(6, 12, 12, lr_camera=1e-2, lr_latent=0.05, lr_tuning=3e-3)
    before = {k: v.clone() for k, v in G.state_dict().items()}
    fit = invert(G, target, cam2world, intr, sched, PhotoLoss())
    cam, latent, tune = fit.losses[:6], fit.losses[6:18], fit.losses[18:]
    assert cam[-1] < cam[0] and latent[-1] < latent[0] and tune[-1] < tune[0]
    assert not torch.equal(fit.c, c0)  # the camera moved
    assert not torch.equal(fit.ws, G.backbone.mapping.w_avg.view(1, 1, -1).expand_as(fit.ws))  # so did the latent
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())  # the checkpoint's generator untouched
    assert any(not torch.equal(before[k], v) for k, v in fit.generator.state_dict().items())  # its copy was tuned
    assert fit.seconds["per_step"] > 0


def test_schedule_presets_and_numbers():
    assert Schedule.parse("paper") == PRESETS["paper"] and PRESETS["paper"].camera_steps == 50
    assert Schedule.parse(" Quick ") == PRESETS["quick"]
    assert Schedule.parse("16") == Schedule(2, 16, 16)
    assert Schedule.parse(1).total == 3
    for bad in ("0", "-3", "fast", "1e9", ""):
        with pytest.raises(UserInputError):
            Schedule.parse(bad)


def test_backend_options_are_checked_before_any_work(tmp_path):
    with pytest.raises(UserInputError, match="checkpoint"):
        backend("eg3d")
    with pytest.raises(UserInputError, match="does not exist"):
        backend("eg3d", checkpoint=str(tmp_path / "nothing.pkl"))
    with pytest.raises(UserInputError, match="no option 'checkpoint'"):
        backend("landmark", checkpoint="x.pkl")


def _vgg_state(seed: int = 0) -> dict:
    from super_gui.inversion.eg3d.losses import _vgg16_features

    torch.manual_seed(seed)
    return {f"features.{k}": v for k, v in _vgg16_features().state_dict().items()}


def test_perceptual_loss_from_user_weights_and_refusals(tmp_path):
    path = tmp_path / "vgg16.pth"
    torch.save(_vgg_state(), path)
    loss = PhotoLoss(Perceptual(path))
    a = torch.rand(1, 3, 64, 64) * 2 - 1
    b = (a + 0.3 * torch.randn_like(a)).clamp(-1, 1)
    mask = torch.ones(1, 1, 64, 64)
    assert float(loss(a, a, mask)) == pytest.approx(0.0, abs=1e-5)
    assert float(loss(b, a, mask)) > float(PhotoLoss()(b, a, mask))  # the perceptual term adds to L1 + SSIM
    heads = tmp_path / "lin.pth"
    torch.save({f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1) for k, c in enumerate((64, 128, 256, 512, 512))}, heads)
    assert float(PhotoLoss(Perceptual(path, heads))(b, a, mask)) > 0
    wrong = tmp_path / "wrong.pth"
    torch.save({"features.0.weight": torch.zeros(3, 3, 3, 3)}, wrong)
    with pytest.raises(CheckpointError, match="VGG16"):
        Perceptual(wrong)


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_weights_file_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "PWNED"
    path = tmp_path / "vgg16.pth"
    torch.save({"features.0.weight": _Evil(str(marker))}, path)
    with pytest.raises(CheckpointError, match="not a plain file of weights"):
        Perceptual(path)
    assert not marker.exists()


def test_close_cameras_use_the_box_and_more_samples():
    G = random_generator("tiny")
    from super_gui.inversion.eg3d import camera

    near = camera.make_c(camera.orbit_camera(radius=0.9), camera.intrinsics())
    far = camera.make_c(camera.orbit_camera(), camera.intrinsics())
    o_near = invert_module.close_camera_options(G.rendering_kwargs, near)
    o_far = invert_module.close_camera_options(G.rendering_kwargs, far)
    assert o_near["ray_start"] == "auto" and o_near["depth_resolution"] == 2 * G.rendering_kwargs["depth_resolution"]
    assert o_far["ray_start"] == G.rendering_kwargs["ray_start"]
    depth = invert_module.render(G, G.backbone.mapping.w_avg.view(1, 1, -1).repeat(1, G.num_ws, 1), near,
                                 super_resolution=False)["image_depth"]
    assert torch.isfinite(depth).all() and float(depth.min()) > 0.3 - 1e-3  # the box starts ~0.4 units in front


def test_pick_device():
    assert eg3d_backend.pick_device("cpu").type == "cpu"
    assert eg3d_backend.pick_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserInputError, match="CUDA"):
            eg3d_backend.pick_device("cuda")


def test_estimate_scales_with_steps_and_the_checkpoint_size(tiny_pkl):
    quick = backend("eg3d", checkpoint=str(tiny_pkl), steps="quick", device="cpu")
    paper = backend("eg3d", checkpoint=str(tiny_pkl), steps="paper", device="cpu")
    assert paper.estimate_seconds() / quick.estimate_seconds() == pytest.approx(PRESETS["paper"].total / PRESETS["quick"].total)
    assert dataclasses.is_dataclass(Schedule)
    assert quick.estimate_seconds() < 0.01 * quick.estimate_seconds(eg3d_backend.FULL_SIZE_PARAMETERS)  # a tiny network
