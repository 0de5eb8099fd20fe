"""EG3D's tri-plane generator (Chan et al. 2022, "Efficient Geometry-aware 3D GANs") re-implemented in pure PyTorch.

What it is: the modules of NVIDIA's ``TriPlaneGenerator`` for the FFHQ 512 configuration (StyleGAN2 mapping
network and synthesis backbone producing the tri-planes, in :mod:`.stylegan2`; here the OSGDecoder MLP, the
SuperresolutionHybrid8XDC and the generator that joins them to the volume renderer), with
**EG3D's exact parameter and buffer names**, so that the official ``G_ema.state_dict()`` (177 keys, see
``../shared/eg3d/NOTES.md`` §2) loads with ``load_state_dict`` key for key. Widths come from the constructor
arguments that the checkpoint stores as ``_init_kwargs``; a tiny configuration runs the same code on CPU.

What it must not do: build or call custom CUDA ops (bias_act, upfirdn2d and the modulated convolution are plain
``torch.nn.functional`` calls here), read files, import Qt, the renderer or the application layer. Written from
the papers (StyleGAN2, Karras et al. 2020; EG3D) and NOTES; NVIDIA's code is not copied (its licence forbids it).

Numerics: everything runs in float32 (NVIDIA's code also forces fp32 off CUDA); ``conv_clamp`` is applied as the
reference does. Two keyword arguments are ours, not NVIDIA's, and default to the released values:
``backbone_resolution`` (tri-plane size, 256) and ``sr_channels`` (the two super-resolution widths, (256, 128)).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from super_gui.inversion.eg3d.renderer import ImportanceRenderer, RaySampler
from super_gui.inversion.eg3d.stylegan2 import (
    FullyConnectedLayer,
    StyleGAN2Backbone,
    SynthesisBlock,
)

PLANE_FEATURES = 32  # EG3D: 3 planes x 32 channels = the backbone's 96 "image" channels
DECODER_HIDDEN = 64  # OSGDecoder hidden width (NOTES §2)


class OSGDecoder(nn.Module):
    """EG3D's tiny MLP: plane features (mean over the 3 planes) -> density (raw) and 32 features (sigmoid-scaled).

    ``net.0`` FC C->64, Softplus, ``net.2`` FC 64->1+32 (NOTES §2). The first 3 features are the raw RGB.
    """

    def __init__(self, n_features: int, options: dict[str, Any]) -> None:
        super().__init__()
        self.hidden_dim = DECODER_HIDDEN
        lr_mul = options.get("decoder_lr_mul", 1)
        self.net = nn.Sequential(
            FullyConnectedLayer(n_features, self.hidden_dim, lr_multiplier=lr_mul),
            nn.Softplus(),
            FullyConnectedLayer(self.hidden_dim, 1 + options["decoder_output_dim"], lr_multiplier=lr_mul),
        )

    def forward(self, sampled_features: torch.Tensor, ray_directions: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        x = sampled_features.mean(1)  # [N, M, C]: average the three planes
        n, m, c = x.shape
        x = self.net(x.reshape(n * m, c)).reshape(n, m, -1)
        rgb = torch.sigmoid(x[..., 1:]) * (1 + 2 * 0.001) - 0.001  # EG3D's widened sigmoid
        return {"rgb": rgb, "sigma": x[..., 0:1]}


class SuperresolutionHybrid8XDC(nn.Module):
    """EG3D's super-resolution head: two skip blocks, input at img_resolution/4 (128 for 512) up to img_resolution.

    The released module asserts img_resolution == 512 and fixes w_dim=512 and widths (256, 128); here they are
    arguments (same defaults) so a tiny configuration works. All blocks use the last w, repeated three times.
    """

    def __init__(
        self,
        channels: int,
        img_resolution: int,
        sr_num_fp16_res: int,
        sr_antialias: bool,
        w_dim: int = 512,
        sr_channels: Sequence[int] = (256, 128),
        num_fp16_res: int = 4,
        conv_clamp: float | None = None,
        channel_base: int | None = None,
        channel_max: int | None = None,
        **block_kwargs: Any,
    ) -> None:
        super().__init__()
        use_fp16 = sr_num_fp16_res > 0
        clamp = 256 if use_fp16 else None  # as released: the clamp follows the fp16 setting, on every device
        self.input_resolution = img_resolution // 4
        self.sr_antialias = sr_antialias
        c0, c1 = sr_channels
        self.block0 = SynthesisBlock(
            channels, c0, w_dim=w_dim, resolution=img_resolution // 2, img_channels=3, is_last=False,
            use_fp16=use_fp16, conv_clamp=clamp, **block_kwargs,
        )  # fmt: skip
        self.block1 = SynthesisBlock(
            c0, c1, w_dim=w_dim, resolution=img_resolution, img_channels=3, is_last=True,
            use_fp16=use_fp16, conv_clamp=clamp, **block_kwargs,
        )  # fmt: skip

    def forward(self, rgb: torch.Tensor, x: torch.Tensor, ws: torch.Tensor, noise_mode: str = "none", **_: Any) -> torch.Tensor:
        ws = ws[:, -1:, :].repeat(1, 3, 1)
        r = self.input_resolution
        if x.shape[-1] != r:
            x = F.interpolate(x, size=(r, r), mode="bilinear", align_corners=False, antialias=self.sr_antialias)
            rgb = F.interpolate(rgb, size=(r, r), mode="bilinear", align_corners=False, antialias=self.sr_antialias)
        x, rgb = self.block0(x, rgb, ws, noise_mode=noise_mode)
        x, rgb = self.block1(x, rgb, ws, noise_mode=noise_mode)
        return rgb


# EG3D's FFHQ rendering options (NOTES §2, train.py's FFHQ preset).
FFHQ_RENDERING_KWARGS: dict[str, Any] = {
    "depth_resolution": 48,
    "depth_resolution_importance": 48,
    "ray_start": 2.25,
    "ray_end": 3.3,
    "box_warp": 1,
    "avg_camera_radius": 2.7,
    "avg_camera_pivot": [0, 0, 0.2],
    "image_resolution": 512,
    "disparity_space_sampling": False,
    "clamp_mode": "softplus",
    "superresolution_module": "training.superresolution.SuperresolutionHybrid8XDC",
    "c_gen_conditioning_zero": False,
    "gpc_reg_prob": 0.5,
    "c_scale": 1.0,
    "superresolution_noise_mode": "none",
    "density_reg": 0.25,
    "density_reg_p_dist": 0.004,
    "reg_type": "l1",
    "decoder_lr_mul": 1.0,
    "sr_antialias": True,
}

# The ffhq512-128 constructor arguments (NOTES §2): with these the state_dict is the 177-key manifest.
FFHQ512_INIT_KWARGS: dict[str, Any] = {
    "z_dim": 512,
    "w_dim": 512,
    "c_dim": 25,
    "img_resolution": 512,
    "img_channels": 3,
    "mapping_kwargs": {"num_layers": 2},
    "rendering_kwargs": FFHQ_RENDERING_KWARGS,
    "channel_base": 32768,
    "channel_max": 512,
    "num_fp16_res": 0,
    "conv_clamp": None,
    "sr_num_fp16_res": 4,
    "sr_kwargs": {"channel_base": 32768, "channel_max": 512, "fused_modconv_default": "inference_only"},
    "fused_modconv_default": "inference_only",
}

_SUPPORTED_SR = ("SuperresolutionHybrid8XDC",)


class TriPlaneGenerator(nn.Module):
    """EG3D's generator: z, c -> ws -> tri-planes -> volume rendering -> super-resolution.

    ``synthesis(ws, c)`` returns ``image`` [N,3,R,R] in [-1,1]-ish, ``image_raw`` [N,3,r,r], ``image_depth``
    [N,1,r,r] (distance along the unit ray from the camera centre, not z-depth) and ``weights_sum`` [N,1,r,r]
    (accumulated opacity, which the released code discards), with r = ``neural_rendering_resolution``.
    """

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        sr_num_fp16_res: int = 0,
        mapping_kwargs: dict[str, Any] | None = None,
        rendering_kwargs: dict[str, Any] | None = None,
        sr_kwargs: dict[str, Any] | None = None,
        backbone_resolution: int = 256,
        sr_channels: Sequence[int] = (256, 128),
        **synthesis_kwargs: Any,
    ) -> None:
        super().__init__()
        rendering_kwargs = dict(FFHQ_RENDERING_KWARGS if rendering_kwargs is None else rendering_kwargs)
        sr_name = str(rendering_kwargs.get("superresolution_module", _SUPPORTED_SR[0])).rsplit(".", 1)[-1]
        if sr_name not in _SUPPORTED_SR:
            raise ValueError(f"super-resolution module {sr_name!r} is not supported (only {', '.join(_SUPPORTED_SR)})")
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        # Registered by EG3D's training loop (not its __init__) and saved in every released G_ema: the std of the
        # dataset's camera labels. Unused by the forward pass; kept so the official state_dict loads strictly.
        self.register_buffer("dataset_label_std", torch.ones([c_dim]))
        self.renderer = ImportanceRenderer()
        self.ray_sampler = RaySampler()
        self.backbone = StyleGAN2Backbone(
            z_dim, c_dim, w_dim, img_resolution=backbone_resolution, img_channels=PLANE_FEATURES * 3,
            mapping_kwargs=mapping_kwargs, **synthesis_kwargs,
        )  # fmt: skip
        sr_block_kwargs = {k: v for k, v in (sr_kwargs or {}).items() if k not in ("channel_base", "channel_max")}
        self.superresolution = SuperresolutionHybrid8XDC(
            channels=PLANE_FEATURES, img_resolution=img_resolution, sr_num_fp16_res=sr_num_fp16_res,
            sr_antialias=rendering_kwargs.get("sr_antialias", True), w_dim=w_dim, sr_channels=sr_channels,
            **sr_block_kwargs,
        )  # fmt: skip
        self.decoder = OSGDecoder(
            PLANE_FEATURES,
            {"decoder_lr_mul": rendering_kwargs.get("decoder_lr_mul", 1), "decoder_output_dim": PLANE_FEATURES},
        )
        # EG3D's __init__ sets 64; the released ffhq512-128 pickles store 128 (NOTES §2).
        self.neural_rendering_resolution = 64
        self.rendering_kwargs = rendering_kwargs

    @property
    def num_ws(self) -> int:
        return self.backbone.num_ws

    def mapping(
        self,
        z: torch.Tensor,
        c: torch.Tensor,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        update_emas: bool = False,
    ) -> torch.Tensor:
        if self.rendering_kwargs.get("c_gen_conditioning_zero", False):
            c = torch.zeros_like(c)
        c = c * self.rendering_kwargs.get("c_scale", 0)  # EG3D's default c_scale is 0 when absent
        return self.backbone.mapping(
            z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff, update_emas=update_emas
        )

    def planes(self, ws: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        """The tri-planes [N, 3, 32, P, P] from the backbone's 96-channel output."""
        img = self.backbone.synthesis(ws, noise_mode=noise_mode)
        return img.view(len(img), 3, PLANE_FEATURES, img.shape[-2], img.shape[-1])

    def synthesis(
        self,
        ws: torch.Tensor,
        c: torch.Tensor,
        neural_rendering_resolution: int | None = None,
        noise_mode: str = "random",
        **_: Any,
    ) -> dict[str, torch.Tensor]:
        res = neural_rendering_resolution or self.neural_rendering_resolution
        cam2world = c[:, :16].view(-1, 4, 4)
        intrinsics = c[:, 16:25].view(-1, 3, 3)
        ray_origins, ray_directions = self.ray_sampler(cam2world, intrinsics, res)
        n = ray_origins.shape[0]
        planes = self.planes(ws, noise_mode=noise_mode)
        rgb, depth, weights_sum = self.renderer(planes, self.decoder, ray_origins, ray_directions, self.rendering_kwargs)
        feature_image = rgb.permute(0, 2, 1).reshape(n, rgb.shape[-1], res, res).contiguous()
        depth_image = depth.permute(0, 2, 1).reshape(n, 1, res, res)
        weights_image = weights_sum.permute(0, 2, 1).reshape(n, 1, res, res)
        rgb_image = feature_image[:, :3]
        sr_image = self.superresolution(
            rgb_image, feature_image, ws, noise_mode=self.rendering_kwargs.get("superresolution_noise_mode", "none")
        )
        return {"image": sr_image, "image_raw": rgb_image, "image_depth": depth_image, "weights_sum": weights_image}

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        neural_rendering_resolution: int | None = None,
        noise_mode: str = "random",
        **_: Any,
    ) -> dict[str, torch.Tensor]:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, c, neural_rendering_resolution=neural_rendering_resolution, noise_mode=noise_mode)
