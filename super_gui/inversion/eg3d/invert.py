"""Inverting a photo's 512 px crop into EG3D, as the papers do (issue 11, item 4; ``../shared/eg3d/NOTES.md`` §3).

Three stages, each step one forward and backward pass:

1. **camera warm-up** (Ko et al.'s ``cam_preheat_steps``, DisCO's camera-only steps): the latent stays at the
   generator's mean and only the camera moves (a rotation about the head, a shift and a focal factor), pulled
   by the photometric loss on the neural-resolution image, the landmark reprojection loss and the depth loss
   (:mod:`super_gui.inversion.eg3d.losses`). The tri-planes do not depend on the camera, so they are made once.
2. **latent + camera** together: w+ (one w per layer, SUPER's and DisCO's choice) from the mean, with the same
   losses on the 512 image and the raw image, and a small pull toward the mean.
3. **pivotal tuning** (Roich et al. 2022): latent and camera fixed, every generator weight tuned (Adam, 3e-4) on
   the same photometric losses and the depth loss, so the render matches the photo while the latent stays in
   the generator's well-behaved region.

The camera starts from the landmark backend's (the analysis's head pose and distance, the crop's intrinsics);
the generator passed in is never modified (stage 3 tunes a copy). Works on CPU and CUDA alike.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from super_gui.errors import Cancelled, UserInputError
from super_gui.inversion.eg3d import camera
from super_gui.inversion.eg3d.generator import TriPlaneGenerator
from super_gui.inversion.eg3d.losses import PhotoLoss, depth_loss, landmark_loss

Progress = Callable[[float, str], None]
LANDMARK_WEIGHT = 5.0
DEPTH_WEIGHT = 1.0
MEAN_PULL = 1e-3  # weight of |w - w_avg|^2 per element in stage 2


@dataclass(frozen=True)
class Schedule:
    """Steps per stage and learning rates."""

    camera_steps: int
    latent_steps: int
    tuning_steps: int
    lr_latent: float = 0.01
    lr_camera: float = 2e-3
    lr_tuning: float = 3e-4

    @property
    def total(self) -> int:
        return self.camera_steps + self.latent_steps + self.tuning_steps

    @classmethod
    def parse(cls, steps: str | int) -> "Schedule":
        """A preset name (``quick``, ``paper``) or a number N: N latent steps, N tuning steps and N/8 camera
        warm-up steps (at least 1)."""
        if isinstance(steps, str) and steps.strip().lower() in PRESETS:
            return PRESETS[steps.strip().lower()]
        try:
            n = int(str(steps).strip())
        except ValueError:
            raise UserInputError(f"Steps must be {', '.join(PRESETS)} or a whole number, not {steps!r}.") from None
        if not 1 <= n <= 5000:
            raise UserInputError(f"Steps must be between 1 and 5000, not {n}.")
        return cls(max(1, n // 8), n, n)


# "paper": Ko et al.'s 400 projection steps of which 50 camera-only, then PTI's 350 tuning steps (NOTES §3).
PRESETS = {"quick": Schedule(10, 60, 40), "paper": Schedule(50, 350, 350)}


@dataclass(frozen=True)
class Target:
    """What the inversion fits: the photo's crop and where its landmarks are.

    image [1, 3, S, S] in [-1, 1]; mask [1, 1, S, S] in [0, 1] (the person, faded at the crop's border);
    landmarks_uv [K, 2] normalised crop coordinates; landmarks_world [K, 3] the same landmarks in EG3D's world
    (from the landmark backend's depth under the starting camera); eye distances in uv and world units.
    """

    image: torch.Tensor
    mask: torch.Tensor
    landmarks_uv: torch.Tensor
    landmarks_world: torch.Tensor
    eye_distance_uv: float
    eye_distance_world: float

    def to(self, device: torch.device | str) -> "Target":
        return Target(self.image.to(device), self.mask.to(device), self.landmarks_uv.to(device),
                      self.landmarks_world.to(device), self.eye_distance_uv, self.eye_distance_world)


def _skew(v: torch.Tensor) -> torch.Tensor:
    z = v.new_zeros(())
    return torch.stack([torch.stack([z, -v[2], v[1]]), torch.stack([v[2], z, -v[0]]), torch.stack([-v[1], v[0], z])])


class CameraParams(nn.Module):
    """A camera near a starting one: rotated about the world origin by ``rotation`` (axis-angle), shifted by
    ``shift`` (world units) and with the focal scaled by exp(``log_focal``)."""

    def __init__(self, cam2world: torch.Tensor, intrinsics: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("cam2world0", cam2world.detach().clone().float())
        self.register_buffer("intrinsics0", intrinsics.detach().clone().float())
        self.rotation = nn.Parameter(torch.zeros(3))
        self.shift = nn.Parameter(torch.zeros(3))
        self.log_focal = nn.Parameter(torch.zeros(()))

    def forward(self) -> torch.Tensor:
        r = torch.linalg.matrix_exp(_skew(self.rotation))
        top = torch.cat([r @ self.cam2world0[:3, :3], (r @ self.cam2world0[:3, 3] + self.shift)[:, None]], dim=1)
        m = torch.cat([top, self.cam2world0[3:]], dim=0)
        k = self.intrinsics0.clone()
        scale = torch.exp(self.log_focal)
        k = torch.stack([k[0] * torch.stack([scale, scale.new_ones(()), scale.new_ones(())]),
                         k[1] * torch.stack([scale.new_ones(()), scale, scale.new_ones(())]), k[2]])
        return camera.make_c(m, k)


def render(G: TriPlaneGenerator, ws: torch.Tensor, c: torch.Tensor, planes: torch.Tensor | None = None,
           resolution: int | None = None, super_resolution: bool = True, seed: int | None = None) -> dict[str, torch.Tensor]:
    """``G.synthesis`` for one camera ``c`` [25], reusing ``planes`` when given (they depend on ``ws`` and the
    weights only); without ``super_resolution`` only the neural-resolution outputs are made. The ray limits
    follow the camera (:func:`close_camera_options`). With ``seed`` the samples' jitter is drawn from that seed
    (the global random state is left alone), so a depth map or a generated view is the same every time."""
    if seed is not None:
        with torch.random.fork_rng(devices=[c.device] if c.device.type == "cuda" else []):
            torch.manual_seed(seed)
            return render(G, ws, c, planes, resolution, super_resolution)
    res = resolution or G.neural_rendering_resolution
    c = c.reshape(1, -1)
    if planes is None:
        planes = G.planes(ws, noise_mode="const")
    origins, directions = G.ray_sampler(c[:, :16].view(-1, 4, 4), c[:, 16:25].view(-1, 3, 3), res)
    options = close_camera_options(G.rendering_kwargs, c.detach().reshape(-1))
    features, depth, opacity = G.renderer(planes, G.decoder, origins, directions, options)
    n = origins.shape[0]
    feature_image = features.permute(0, 2, 1).reshape(n, features.shape[-1], res, res).contiguous()
    out = {
        "image_raw": feature_image[:, :3],
        "image_depth": depth.permute(0, 2, 1).reshape(n, 1, res, res),
        "weights_sum": opacity.permute(0, 2, 1).reshape(n, 1, res, res),
    }
    if super_resolution:
        out["image"] = G.superresolution(feature_image[:, :3], feature_image, ws,
                                         noise_mode=G.rendering_kwargs.get("superresolution_noise_mode", "none"))
    return out


@dataclass
class InversionResult:
    """The tuned generator (a copy), the latent w+ [1, num_ws, w_dim], the final camera label [25], the
    tri-planes of the tuned generator, the loss after each step, and seconds per stage and per step; once
    :func:`capture_maps` has run, the ray distance and opacity [r, r] seen from the final camera."""

    generator: TriPlaneGenerator
    ws: torch.Tensor
    c: torch.Tensor
    planes: torch.Tensor
    losses: list[float] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    depth_image: torch.Tensor | None = None
    opacity_image: torch.Tensor | None = None


def capture_maps(fit: InversionResult) -> tuple[torch.Tensor, torch.Tensor]:
    """The fit's ray distance and opacity [r, r] from its own camera (a seeded render; kept on ``fit``)."""
    if fit.depth_image is None or fit.opacity_image is None:
        with torch.no_grad():
            out = render(fit.generator, fit.ws, fit.c, fit.planes, super_resolution=False, seed=0)
        fit.depth_image = out["image_depth"][0, 0].float().cpu()
        fit.opacity_image = out["weights_sum"][0, 0].float().cpu()
    return fit.depth_image, fit.opacity_image


def close_camera_options(rendering_kwargs: dict, c: torch.Tensor) -> dict:
    """Rendering options for camera ``c``: ray limits from the box ('auto') and twice the samples when the
    camera is not at EG3D's training radius (selfie distances; DisCO's recipe, NOTES §2): the fixed limits
    2.25-3.3 only bracket the head from 2.7 units away."""
    radius = float(c[:16].view(4, 4)[:3, 3].norm())
    options = dict(rendering_kwargs)
    if abs(radius - float(options.get("avg_camera_radius", camera.FFHQ_RADIUS))) > 0.05 and options.get("ray_start") != "auto":
        options.update(ray_start="auto", ray_end="auto",
                       depth_resolution=2 * int(rendering_kwargs["depth_resolution"]),
                       depth_resolution_importance=2 * int(rendering_kwargs.get("depth_resolution_importance", 0)))
    return options


def invert(
    G: TriPlaneGenerator,
    target: Target,
    cam2world: torch.Tensor,
    intrinsics: torch.Tensor,
    schedule: Schedule,
    photo_loss: PhotoLoss,
    *,
    progress: Progress = lambda f, m: None,
    is_cancelled: Callable[[], bool] = lambda: False,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> InversionResult:
    """Fit ``G`` to ``target`` (see the module docstring); ``cam2world`` [4, 4] and ``intrinsics`` [3, 3] (normalised
    to the crop) are the starting camera. Raises :class:`~super_gui.errors.Cancelled` between steps when asked."""
    torch.manual_seed(seed)
    device = torch.device(device)
    G = G.to(device).eval().requires_grad_(False)
    photo_loss = photo_loss.to(device)
    target = target.to(device)
    cam = CameraParams(cam2world, intrinsics).to(device)
    w_avg = G.backbone.mapping.w_avg.detach().to(device)
    ws = w_avg.view(1, 1, -1).repeat(1, G.num_ws, 1)
    result = InversionResult(G, ws, cam().detach(), torch.empty(0))
    done, started = 0, time.perf_counter()

    def step_done(stage: str, loss: torch.Tensor) -> None:
        nonlocal done
        done += 1
        result.losses.append(float(loss.detach()))
        if is_cancelled():
            raise Cancelled()
        per = (time.perf_counter() - started) / done
        left = per * (schedule.total - done)
        progress(done / schedule.total, f"Fitting the 3D face ({stage}): step {done} of {schedule.total}, about {_duration(left)} left")

    def geometry_terms(c: torch.Tensor, out: dict) -> torch.Tensor:
        return (LANDMARK_WEIGHT * landmark_loss(c, target.landmarks_world, target.landmarks_uv, target.eye_distance_uv)
                + DEPTH_WEIGHT * depth_loss(c, out["image_depth"], target.landmarks_world, target.landmarks_uv,
                                            target.eye_distance_world))

    # 1. camera warm-up: the mean face's planes, made once.
    t = time.perf_counter()
    with torch.no_grad():
        planes = G.planes(ws, noise_mode="const")
    opt = torch.optim.Adam(cam.parameters(), lr=schedule.lr_camera)
    for _ in range(schedule.camera_steps):
        c = cam()
        out = render(G, ws, c, planes, super_resolution=False)
        loss = photo_loss(out["image_raw"], target.image, target.mask) + geometry_terms(c, out)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step_done("camera", loss)
    result.seconds["camera"] = time.perf_counter() - t

    # 2. latent + camera.
    t = time.perf_counter()
    ws_opt = ws.clone().requires_grad_(True)
    opt = torch.optim.Adam([{"params": [ws_opt], "lr": schedule.lr_latent},
                            {"params": list(cam.parameters()), "lr": schedule.lr_camera}], betas=(0.9, 0.999))
    for i in range(schedule.latent_steps):
        lr = _ramped(schedule.lr_latent, i / max(1, schedule.latent_steps))
        opt.param_groups[0]["lr"] = lr
        c = cam()
        out = render(G, ws_opt, c)
        loss = (photo_loss(out["image"], target.image, target.mask) + photo_loss(out["image_raw"], target.image, target.mask)
                + geometry_terms(c, out) + MEAN_PULL * (ws_opt - w_avg).square().mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step_done("shape", loss)
    ws = ws_opt.detach()
    c = cam().detach()
    result.seconds["latent"] = time.perf_counter() - t

    # 3. pivotal tuning of a copy of the generator.
    t = time.perf_counter()
    tuned = copy.deepcopy(G).requires_grad_(True)
    params = [p for p in tuned.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=schedule.lr_tuning)
    for _ in range(schedule.tuning_steps):
        out = render(tuned, ws, c)
        loss = (photo_loss(out["image"], target.image, target.mask) + photo_loss(out["image_raw"], target.image, target.mask)
                + DEPTH_WEIGHT * depth_loss(c, out["image_depth"], target.landmarks_world, target.landmarks_uv,
                                            target.eye_distance_world))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step_done("details", loss)
    tuned = tuned.eval().requires_grad_(False)
    result.seconds["tuning"] = time.perf_counter() - t
    with torch.no_grad():
        result.planes = tuned.planes(ws, noise_mode="const")
    result.generator, result.ws, result.c = tuned, ws, c
    steps = max(1, schedule.total)
    result.seconds["per_step"] = (time.perf_counter() - started) / steps
    return result


def _ramped(lr: float, t: float, rampdown: float = 0.25, rampup: float = 0.05) -> float:
    """StyleGAN2's projector learning-rate schedule (PTI's w projector): cosine ramp down over the last quarter,
    linear ramp up over the first 5 %."""
    down = min(1.0, (1.0 - t) / rampdown)
    down = 0.5 - 0.5 * math.cos(down * math.pi)
    return lr * down * min(1.0, t / rampup) if t > 0 else lr * 0.05


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"
