"""A cache of EG3D inversions, so reopening a photo is instant (issue 11, item 5).

One entry per (checkpoint, settings, photo crop, landmarks, starting camera): ``inversions/KEY.safetensors`` in
the EG3D cache folder holds the latent, the camera label, the tuned generator's tri-planes and its depth and
opacity from that camera (so a reopened photo renders nothing before its first view), and the tuned generator
as its difference from the checkpoint's weights (float16: pivotal tuning moves weights little, so the difference keeps ~3 significant
digits of the change, far below what shows). Written atomically; a damaged or foreign entry is ignored and
the inversion runs again. At most :data:`KEEP` entries are kept (the least recently used go first).
"""

from __future__ import annotations

import copy
import hashlib
import os
from pathlib import Path

import numpy as np
import torch

from super_gui.core.atomic import atomic_path
from super_gui.inversion.eg3d.invert import InversionResult, Schedule, Target, capture_maps

KEEP = 20
FORMAT = "super_gui-eg3d-inversion-1"


def result_key(checkpoint_sha256: str, schedule: Schedule, loss_kind: str, target: Target, cam2world: torch.Tensor,
               intrinsics: torch.Tensor) -> str:
    h = hashlib.sha256()
    for part in (FORMAT, checkpoint_sha256, repr(schedule), loss_kind):
        h.update(part.encode() + b"\0")
    for t in (target.image, target.mask, target.landmarks_uv, target.landmarks_world, cam2world, intrinsics):
        h.update(np.ascontiguousarray(t.detach().cpu().float().numpy()).tobytes())
    return h.hexdigest()


def _path(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / "inversions" / f"{key}.safetensors"


def write_result(cache_dir: str | os.PathLike, key: str, G, fit: InversionResult) -> InversionResult:
    """Store ``fit`` (best effort: a read-only or full disk only means no cache) and return it as a later
    read gives it back: its tuned weights rounded as stored, so an edit comes out the same byte for byte
    whether the fit was just made or read from the cache."""
    from safetensors.torch import save_file

    path = _path(Path(cache_dir), key)
    base = G.state_dict()
    tensors = {"ws": fit.ws.detach().cpu().float().contiguous(), "c": fit.c.detach().cpu().float().contiguous()}
    tuned = fit.generator.state_dict()
    with torch.no_grad():
        for name, value in tuned.items():
            if value.is_floating_point():
                delta = (value.detach().cpu().float() - base[name].detach().cpu().float()).half().contiguous()
                tensors[f"delta.{name}"] = delta
                value.copy_(base[name] + delta.to(value))
        fit.planes = fit.generator.planes(fit.ws, noise_mode="const")
    fit.depth_image = fit.opacity_image = None
    depth, opacity = capture_maps(fit)
    tensors.update(planes=fit.planes.detach().cpu().float().contiguous(), depth=depth.contiguous(), opacity=opacity.contiguous())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata={"format": FORMAT})
        _prune(path.parent)
    except OSError:
        pass
    return fit


def read_result(cache_dir: str | os.PathLike, key: str, G, device: torch.device | str) -> InversionResult | None:
    """The cached inversion for ``key`` with ``G`` (the checkpoint's generator, unchanged), or None."""
    from safetensors import safe_open

    path = _path(Path(cache_dir), key)
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            if (f.metadata() or {}).get("format") != FORMAT:
                return None
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        tuned = copy.deepcopy(G)
        state = tuned.state_dict()
        for name, value in state.items():
            delta = tensors.get(f"delta.{name}")
            if value.is_floating_point():
                if delta is None or delta.shape != value.shape:
                    return None
                value.copy_(value + delta.to(value))
        tuned = tuned.to(device).eval().requires_grad_(False)
        ws, c, planes = tensors["ws"].to(device), tensors["c"].to(device), tensors["planes"].to(device)
        depth, opacity = tensors["depth"], tensors["opacity"]
        os.utime(path)  # most recently used
    except Exception:
        return None
    return InversionResult(tuned, ws, c, planes, seconds={"cached": 0.0}, depth_image=depth, opacity_image=opacity)


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.safetensors"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        try:
            old.unlink()
        except OSError:
            pass
