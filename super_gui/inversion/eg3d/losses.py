"""The losses the EG3D inversion minimises (issue 11, item 4): photometric, perceptual, landmarks, depth.

* :class:`PhotoLoss`: L1 + (1 - SSIM) (kornia) on the masked crop, plus, where the user points to VGG16 weights,
  a perceptual distance in the manner of LPIPS (Zhang et al. 2018): VGG16 features at relu1_2, relu2_2,
  relu3_3, relu4_3 and relu5_3, each unit-normalised over channels, squared differences averaged over space and
  weighted per channel by the LPIPS "lin" heads when their file is given, else equally (the paper's
  "baseline" VGG distance). Nothing is downloaded: without weights the loss is L1 + SSIM, as NOTES §3 advises.
* :func:`landmark_loss`: the face analysis's landmarks, fixed in EG3D's world, reprojected through the current
  camera against where the photo shows them (DisCO's and SUPER's landmark term), in eye distances.
* :func:`depth_loss`: the depth-consistency idea of Ko et al. (2023) made metric: the rendered ray distance at
  each landmark's pixel against the landmark's own distance from the camera.

Weights files are read with ``weights_only=True`` (or safetensors): no code stored in them runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import kornia
import torch
import torch.nn.functional as F
from torch import nn

from super_gui.inversion.eg3d import camera
from super_gui.inversion.eg3d.checkpoint import CheckpointError

# torchvision's vgg16().features: (out channels | "M" for a 2x2 max-pool); LPIPS taps the ReLU after the
# last conv of each of the five stages.
_VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
_TAPS = (3, 8, 15, 22, 29)  # indices in .features of relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
_TAP_CHANNELS = (64, 128, 256, 512, 512)
# ImageNet statistics as LPIPS' ScalingLayer applies them to images in [-1, 1].
_SHIFT = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
_SCALE = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)


def _vgg16_features() -> nn.Sequential:
    layers: list[nn.Module] = []
    c = 3
    for v in _VGG16:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, int(v), 3, padding=1), nn.ReLU(inplace=False)]
            c = int(v)
    return nn.Sequential(*layers)


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    name = path.name
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            data = load_file(str(path))
        else:
            data = torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{name} does not exist.") from None
    except OSError as e:
        raise CheckpointError(f"{name} cannot be read: {e.strerror or e}.") from None
    except Exception:
        raise CheckpointError(f"{name} is not a plain file of weights (a torchvision VGG16 state_dict is expected).") from None
    if isinstance(data, dict) and "state_dict" in data and isinstance(data["state_dict"], dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f"{name} is not a state_dict of tensors.")
    return data


class Perceptual(nn.Module):
    """LPIPS-style distance on VGG16 features (see the module docstring). ``heads``: optional per-channel
    weights, keys ``lin{k}.model.1.weight`` [1, C, 1, 1] as in the ``lpips`` package's ``vgg.pth``."""

    def __init__(self, vgg_weights: str | os.PathLike, heads: str | os.PathLike | None = None) -> None:
        super().__init__()
        self.features = _vgg16_features()
        state = _read_tensors(Path(vgg_weights))
        state = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
        own = self.features.state_dict()
        if set(state) != set(own) or any(state[k].shape != own[k].shape for k in own):
            raise CheckpointError(f"{Path(vgg_weights).name} is not a VGG16 state_dict (torchvision's vgg16 layout).")
        self.features.load_state_dict(state)
        weights = []
        if heads is not None:
            lin = _read_tensors(Path(heads))
            for k, ch in enumerate(_TAP_CHANNELS):
                w = lin.get(f"lin{k}.model.1.weight")
                if w is None or tuple(w.shape) != (1, ch, 1, 1):
                    raise CheckpointError(f"{Path(heads).name} does not hold LPIPS' five VGG linear heads.")
                weights.append(w.float())
        else:
            weights = [torch.full((1, ch, 1, 1), 1.0 / ch) for ch in _TAP_CHANNELS]
        for k, w in enumerate(weights):
            self.register_buffer(f"lin{k}", w)
        self.requires_grad_(False).eval()

    def _taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x - _SHIFT.to(x)) / _SCALE.to(x)
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in _TAPS:
                out.append(x)
                if len(out) == len(_TAPS):
                    break
        return out

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Distance between two image batches in [-1, 1] (a scalar; 256 px inputs, as the papers use)."""
        total = a.new_zeros(())
        for k, (fa, fb) in enumerate(zip(self._taps(a), self._taps(b))):
            fa = fa / (fa.norm(dim=1, keepdim=True) + 1e-10)
            fb = fb / (fb.norm(dim=1, keepdim=True) + 1e-10)
            total = total + ((fa - fb).square() * getattr(self, f"lin{k}")).sum(1).mean()
        return total


class PhotoLoss(nn.Module):
    """How far a rendered crop is from the photo's, inside ``mask`` (weights in [0, 1]).

    L1 + (1 - SSIM) always; + the perceptual distance when a :class:`Perceptual` is given. Images are
    [N, 3, H, W] in [-1, 1]; the target and the mask are resized to the rendered size.
    """

    def __init__(self, perceptual: Perceptual | None = None) -> None:
        super().__init__()
        self.perceptual = perceptual

    @property
    def kind(self) -> str:
        return "LPIPS (VGG16) + L1 + SSIM" if self.perceptual is not None else "L1 + SSIM"

    def forward(self, image: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        size = image.shape[-2:]
        if target.shape[-2:] != size:
            target = F.interpolate(target, size=size, mode="area")
            mask = F.interpolate(mask, size=size, mode="area")
        a, b = image * mask, target * mask
        l1 = (image - target).abs().mul(mask).sum() / (3.0 * mask.sum() + 1e-6)
        ssim = kornia.losses.ssim_loss((a + 1) / 2, (b + 1) / 2, window_size=11 if min(size) >= 22 else 3)
        loss = l1 + ssim
        if self.perceptual is not None:
            side = 256 if min(size) >= 256 else int(min(size))
            pa = F.interpolate(a, size=(side, side), mode="area") if a.shape[-1] != side else a
            pb = F.interpolate(b, size=(side, side), mode="area") if b.shape[-1] != side else b
            loss = loss + self.perceptual(pa, pb)
        return loss


def landmark_loss(c: torch.Tensor, points_world: torch.Tensor, target_uv: torch.Tensor, eye_distance_uv: float) -> torch.Tensor:
    """Mean squared reprojection error of ``points_world`` [K, 3] under the label ``c`` [25] against
    ``target_uv`` [K, 2] (normalised crop coordinates), in units of the eye distance (``eye_distance_uv``)."""
    uv = camera.project(c, points_world)
    return ((uv - target_uv) / eye_distance_uv).square().sum(-1).mean()


def depth_loss(c: torch.Tensor, depth_image: torch.Tensor, points_world: torch.Tensor, target_uv: torch.Tensor,
               eye_distance_world: float) -> torch.Tensor:
    """Ray distance rendered at each landmark's pixel (``depth_image`` [1, 1, r, r], world units) against
    the landmark's own distance from the camera centre, Huber-robust, in eye distances."""
    cam2world, _ = camera.split_c(c)
    own = (points_world - cam2world[:3, 3]).norm(dim=-1)
    grid = (target_uv * 2 - 1).view(1, 1, -1, 2).to(depth_image)
    rendered = F.grid_sample(depth_image, grid, mode="bilinear", padding_mode="border", align_corners=False).view(-1)
    return F.smooth_l1_loss(rendered / eye_distance_world, own / eye_distance_world, beta=0.1)
