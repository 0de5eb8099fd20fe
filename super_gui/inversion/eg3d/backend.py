"""The ``eg3d`` inversion backend: SUPER's method with the user's EG3D checkpoint (issue 11).

1. The landmark backend runs first: it gives the capture camera, the matte, the background plate, the head's
   skirt and a first depth; its camera and head pose start the inversion (as SUPER starts from a face
   reconstruction's pose).
2. The photo is cropped to EG3D's 512 px frame (:mod:`~super_gui.inversion.eg3d.align`) and inverted
   (:mod:`~super_gui.inversion.eg3d.invert`: camera warm-up, latent + camera, pivotal tuning).
3. Depth: the tuned generator's ray distance at the final camera, turned into capture-camera depth in metres
   (the eye midpoint held at the analysis's distance, so EG3D supplies the relief and the analysis the scale),
   replaces the landmark depth where EG3D's opacity and the head weight are high; the same mesh path follows.
4. ``generate(view)``: the tuned generator rendered at the virtual camera, for what the photo cannot supply.

A result is cached per photo, face, checkpoint and settings in the cache folder, so reopening is instant.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np
import torch

from super_gui.core.analysis import PhotoAnalysis
from super_gui.core.camera import View, virtual_camera
from super_gui.core.generated import GeneratedView
from super_gui.core.image_io import Photo
from super_gui.errors import UserInputError
from super_gui.inversion.base import Inversion, Progress
from super_gui.inversion.eg3d import camera
from super_gui.inversion.eg3d.align import EG3DCrop, align_crop
from super_gui.inversion.eg3d.checkpoint import default_cache_dir
from super_gui.inversion.eg3d.invert import InversionResult, Schedule, Target, capture_maps, invert, render
from super_gui.inversion.eg3d.loader import load_generator
from super_gui.inversion.eg3d.losses import PhotoLoss, Perceptual
from super_gui.inversion.eg3d.results import read_result, result_key, write_result
from super_gui.inversion.landmark import LandmarkBackend

EYES = (468, 473)  # MediaPipe's iris centres
BORDER_FADE = 0.08  # the generator's depth and image fade out over this fraction of the crop at its border
DEPTH_RATIO = (0.8, 1.25)  # EG3D depth is kept within this factor of the landmark depth (a bad fit stays sane)
# Seconds per step of the full-size (ffhq512-128) generator, measured by bench/eg3d_perf.py (README).
# CPU: the "quick" mix (10 camera, 60 latent, 40 tuning steps) on a shared 2-core AMD EPYC, torch 2.13, 2 threads:
# 35 s wall in the least loaded of three runs (load 3.5; 48 and 82 s at load 4-5.5; ~58 CPU-seconds a step).
CPU_SECONDS_PER_STEP = 35.0
CUDA_SECONDS_PER_STEP = 0.5
FULL_SIZE_PARAMETERS = 31_493_185


def pick_device(device: str | None = None) -> torch.device:
    """CUDA when present (or asked for), else the CPU."""
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise UserInputError("CUDA was asked for but this machine has no CUDA GPU that PyTorch can use.")
    return torch.device(device)


@functools.lru_cache(maxsize=2)
def _generator(path: str, mtime_ns: int, cache_dir: str | None, device: str):
    return load_generator(path, cache_dir=cache_dir, device=device)


@dataclasses.dataclass(frozen=True)
class EG3DInversion(Inversion):
    """An :class:`Inversion` whose ``generate`` renders the tuned generator."""

    fit: InversionResult | None = dataclasses.field(default=None, compare=False, repr=False)
    crop: EG3DCrop | None = dataclasses.field(default=None, compare=False, repr=False)
    depth_scale: float = 1.0  # metres per EG3D unit at the fit's camera (eye midpoint at the analysis's distance)
    device: str = "cpu"
    lock: Any = dataclasses.field(default_factory=threading.Lock, compare=False, repr=False)

    def generate(self, view: View) -> GeneratedView | None:
        a = self.analysis
        if self.fit is None or view.is_identity(a.focal.focal_35mm):
            return None
        vc = virtual_camera(a.intrinsics, a.focal.focal_35mm, a.eye_midpoint, a.face_rotation, view)
        c_cap = self.fit.c.detach().cpu().double()
        cam2world, _ = camera.split_c(c_cap)
        r_cw, t_cw = cam2world[:3, :3], cam2world[:3, 3]
        r_e = torch.as_tensor(vc.rotation, dtype=torch.float64)
        pivot = torch.as_tensor(vc.pivot, dtype=torch.float64)
        shift = pivot - r_e @ pivot + torch.tensor([0.0, 0.0, vc.dolly_shift_m], dtype=torch.float64)
        # world -> view (units): R_e R_cw^T (p - t) + shift / k, with k = metres per unit
        rot = r_e @ r_cw.T
        b = -rot @ t_cw + shift / self.depth_scale
        view2world = torch.eye(4, dtype=torch.float64)
        view2world[:3, :3] = rot.T
        view2world[:3, 3] = -rot.T @ b
        # The square of the output picture where the head lands: the crop's rectangle carried to the view.
        x0, y0, side, _ = self.crop.footprint()
        centre = np.array([[x0 + side / 2 - 0.5, y0 + side / 2 - 0.5]])
        head = a.intrinsics.unproject(centre, np.array([float(a.eye_midpoint[2])]))
        moved = vc.transform(head)
        new_centre = vc.intrinsics.project(moved)[0]
        new_side = side * (vc.intrinsics.focal_px / a.intrinsics.focal_px) * (float(a.eye_midpoint[2]) / float(moved[0, 2]))
        nx0, ny0 = new_centre[0] + 0.5 - new_side / 2, new_centre[1] + 0.5 - new_side / 2
        k = camera.normalised_intrinsics_from_pixels(vc.intrinsics.focal_px, vc.intrinsics.focal_px,
                                                     vc.intrinsics.cx + 0.5 - nx0, vc.intrinsics.cy + 0.5 - ny0, new_side, new_side)
        c_view = camera.make_c(view2world.float(), k)
        G = self.fit.generator
        with self.lock, torch.no_grad():
            out = render(G, self.fit.ws, c_view.to(self.device), self.fit.planes, seed=0)
        rgb = ((out["image"][0].permute(1, 2, 0).float().cpu().numpy() + 1.0) * 127.5).clip(0, 255)
        size = rgb.shape[0]
        opacity = cv2.resize(out["weights_sum"][0, 0].float().cpu().numpy(), (size, size), interpolation=cv2.INTER_LINEAR)
        alpha = np.clip(opacity, 0.0, 1.0) * _border_fade(size)
        rgba = np.dstack([rgb, alpha * 255.0]).round().astype(np.uint8)
        return GeneratedView(rgba=rgba, rect=(float(nx0), float(ny0), float(new_side), float(new_side)))


def _border_fade(size: int) -> np.ndarray:
    """(size, size) float32: 1 inside, falling smoothly to 0 over BORDER_FADE of the side at each edge."""
    ramp = np.clip((np.arange(size) + 0.5) / (BORDER_FADE * size), 0.0, 1.0)
    ramp = np.minimum(ramp, ramp[::-1])
    ramp = ramp * ramp * (3 - 2 * ramp)
    return np.outer(ramp, ramp).astype(np.float32)


class EG3DBackend:
    """Inversion into the user's EG3D generator (see the module docstring)."""

    name = "eg3d"

    def __init__(
        self,
        checkpoint: str | os.PathLike | None = None,
        *,
        lpips_weights: str | os.PathLike | None = None,
        lpips_heads: str | os.PathLike | None = None,
        steps: str | int = "quick",
        device: str | None = None,
        cache_dir: str | os.PathLike | None = None,
    ) -> None:
        if checkpoint is None or str(checkpoint) == "":
            raise UserInputError("The eg3d backend needs NVIDIA's EG3D checkpoint: give its path (e.g. --checkpoint ffhq512-128.pkl).")
        self.checkpoint = Path(checkpoint)
        if not self.checkpoint.is_file():
            raise UserInputError(f"The EG3D checkpoint {self.checkpoint.name} does not exist or is not a file.")
        self.lpips_weights = Path(lpips_weights) if lpips_weights else None
        self.lpips_heads = Path(lpips_heads) if lpips_heads else None
        self.schedule = Schedule.parse(steps)
        self.device = pick_device(device)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._loss: PhotoLoss | None = None

    def generator(self):
        """(generator, config), loaded once per process (converted once to the cache folder)."""
        st = self.checkpoint.stat()
        return _generator(str(self.checkpoint.resolve()), st.st_mtime_ns, str(self.cache_dir), str(self.device))

    def photo_loss(self) -> PhotoLoss:
        if self._loss is None:
            perceptual = Perceptual(self.lpips_weights, self.lpips_heads) if self.lpips_weights else None
            self._loss = PhotoLoss(perceptual)
        return self._loss

    def estimate_seconds(self, parameters: int | None = None) -> float:
        """About how long an inversion takes on this device (before anything is loaded). The generator's size
        is guessed from the file's: a training snapshot holds G, G_ema and D, of similar sizes, in float32."""
        if parameters is None:
            parameters = min(FULL_SIZE_PARAMETERS, self.checkpoint.stat().st_size // 12)
        per = CUDA_SECONDS_PER_STEP if self.device.type == "cuda" else CPU_SECONDS_PER_STEP
        return self.schedule.total * per * max(parameters, 1) / FULL_SIZE_PARAMETERS

    def invert(self, photo: Photo, analysis: PhotoAnalysis, progress: Progress = lambda f, m: None,
               is_cancelled: Callable[[], bool] = lambda: False) -> EG3DInversion:
        t0 = time.perf_counter()
        base = LandmarkBackend().invert(photo, analysis, lambda f, m: progress(0.08 * f, m), is_cancelled)
        timings = dict(base.timings_s)
        t = time.perf_counter()
        progress(0.09, "Loading the EG3D generator")
        G, config = self.generator()
        timings["eg3d.load"] = time.perf_counter() - t
        crop = align_crop(analysis.faces.face.landmarks[:, :2], (photo.width, photo.height), int(G.img_resolution))
        target, cam2world, intr = make_target(photo, analysis, base, crop)
        key = result_key(config.get("source_sha256", ""), self.schedule, self.photo_loss().kind, target, cam2world, intr)
        progress(0.1, "Fitting the 3D face")
        t = time.perf_counter()
        fit = read_result(self.cache_dir, key, G, self.device)
        if fit is None:
            fit = invert(G, target, cam2world, intr, self.schedule, self.photo_loss(),
                         progress=lambda f, m: progress(0.1 + 0.85 * f, m), is_cancelled=is_cancelled, device=self.device)
            fit = write_result(self.cache_dir, key, G, fit)
            timings["eg3d.invert"] = time.perf_counter() - t
        else:
            timings["eg3d.cached"] = time.perf_counter() - t
        t = time.perf_counter()
        depth, scale = eg3d_depth(base, analysis, crop, fit, target)
        timings["eg3d.depth"] = time.perf_counter() - t
        timings["eg3d.total"] = time.perf_counter() - t0
        progress(1.0, "Fitted")
        fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(Inversion)}
        fields.update(backend="eg3d", depth=depth, timings_s=timings)
        return EG3DInversion(**fields, fit=fit, crop=crop, depth_scale=scale, device=str(self.device))


def make_target(photo: Photo, analysis: PhotoAnalysis, base: Inversion, crop: EG3DCrop) -> tuple[Target, torch.Tensor, torch.Tensor]:
    """The crop, its mask and landmarks (2D in the crop, 3D in EG3D's world under the starting camera), and the
    starting camera (cam2world [4, 4], normalised intrinsics [3, 3])."""
    size = crop.size
    image = torch.from_numpy(crop.crop(photo.rgb).astype(np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]
    mask_full = analysis.faces.person_mask
    sx, sy = mask_full.shape[1] / photo.width, mask_full.shape[0] / photo.height
    # crop pixel -> full res -> mask pixel (pixel centres)
    inv = cv2.invertAffineTransform(crop.matrix)
    to_mask = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5]]) @ np.vstack([inv, [0, 0, 1]])
    mask = cv2.warpAffine(mask_full.astype(np.float32), to_mask, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    mask = torch.from_numpy(np.clip(mask, 0, 1) * _border_fade(size))[None, None]
    lm = analysis.faces.face.landmarks[:, :2].astype(np.float64)
    uv = crop.to_crop(lm)
    uv = (uv + 0.5) / size
    # 3D landmarks: the landmark backend's depth at each landmark, unprojected, then into EG3D's world.
    g = base.depth.grid
    gx, gy = g.from_full_res(lm[:, 0], lm[:, 1])
    z = cv2.remap(base.depth.depth_m.astype(np.float32), gx.astype(np.float32)[None], gy.astype(np.float32)[None],
                  cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0].astype(np.float64)
    p_cam = analysis.intrinsics.unproject(lm, z)
    E = np.asarray(analysis.eye_midpoint, dtype=np.float64)
    axes = torch.as_tensor(analysis.face_rotation, dtype=torch.float64)
    eye_world = torch.tensor([0.0, 0.0843, 0.197], dtype=torch.float64)  # BFM eye midpoint x 0.27 + EG3D's offset (NOTES §4)
    a = axes @ torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64))
    origin = torch.as_tensor(E) - a @ (camera.METRES_PER_UNIT * eye_world)
    cam2world = camera.cam2world_from_face_pose(axes, origin)
    world = (torch.as_tensor(p_cam) - origin) @ a / camera.METRES_PER_UNIT  # a is orthonormal: a^T (p - o) / s
    intr = torch.as_tensor(crop.normalised_intrinsics(analysis.intrinsics), dtype=torch.float32)
    eyes_uv = uv[list(EYES)]
    target = Target(
        image=image, mask=mask.float(),
        landmarks_uv=torch.as_tensor(uv, dtype=torch.float32),
        landmarks_world=world.float(),
        eye_distance_uv=float(max(1e-3, np.linalg.norm(eyes_uv[0] - eyes_uv[1]))),
        eye_distance_world=float(max(1e-3, (world[EYES[0]] - world[EYES[1]]).norm())),
    )
    return target, cam2world, intr


def eg3d_depth(base: Inversion, analysis: PhotoAnalysis, crop: EG3DCrop, fit: InversionResult, target: Target):
    """The landmark depth with EG3D's put in where EG3D's head is (see the module docstring); and the metres
    per EG3D unit at the fit's camera."""
    depth_image, opacity_image = capture_maps(fit)
    t = depth_image.numpy().astype(np.float64)
    opacity = opacity_image.numpy().astype(np.float64)
    res = t.shape[0]
    cam2world, k = camera.split_c(fit.c.detach().cpu().double())
    f, cx, cy = float(k[0, 0]), float(k[0, 2]), float(k[1, 2])
    # the eye midpoint's depth at the fit's camera (units) pins the scale to the analysis's distance
    eyes = target.landmarks_world[list(EYES)].double().mean(0)
    z_eye = float(((eyes - cam2world[:3, 3]) @ cam2world[:3, :3])[2])
    scale = float(analysis.eye_midpoint[2]) / max(1e-6, z_eye)
    d = base.depth
    X, Y = d.grid.full_res_coords()
    shape = X.shape
    pts = crop.to_crop(np.stack([X.ravel(), Y.ravel()], axis=1))
    u = (pts[:, 0] + 0.5) / crop.size  # normalised crop coordinates
    v = (pts[:, 1] + 0.5) / crop.size
    mx = (u * res - 0.5).astype(np.float32).reshape(shape)
    my = (v * res - 0.5).astype(np.float32).reshape(shape)
    t_grid = cv2.remap(t.astype(np.float32), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float64)
    o_grid = cv2.remap(opacity.astype(np.float32), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    z_units = t_grid / np.sqrt(1.0 + ((u.reshape(shape) - cx) / f) ** 2 + ((v.reshape(shape) - cy) / f) ** 2)
    z_eg = z_units * scale
    lm_depth = d.depth_m.astype(np.float64)
    z_eg = np.clip(z_eg, lm_depth * DEPTH_RATIO[0], lm_depth * DEPTH_RATIO[1])
    fade = cv2.remap(_border_fade(res), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    w = np.clip(o_grid, 0, 1) * fade * np.clip(d.head_weight, 0, 1) * (d.person > 0.5)
    depth_m = (lm_depth * (1 - w) + z_eg * w).astype(np.float32)
    return dataclasses.replace(d, depth_m=depth_m), scale


def checkpoint_digest(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
