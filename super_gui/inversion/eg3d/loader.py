"""From a checkpoint to a ready EG3D generator: the wiring of :mod:`.checkpoint` to :mod:`.generator`.

What it is:

- :func:`load_generator` reads an NVIDIA EG3D network pickle (safely, through :func:`.checkpoint.load_checkpoint`
  and its safetensors cache) and returns our pure-PyTorch :class:`~.generator.TriPlaneGenerator` with its
  weights, in eval mode, gradients off, on the device asked for;
- :func:`build_generator` does the second half from an already read ``(state_dict, config)``: it constructs the
  generator from the pickled constructor arguments (only those our constructor knows), checks every key and shape
  against the constructed model, loads strictly (``dataset_label_std``, which EG3D's training loop registers
  after construction, may be absent) and sets the pickled ``neural_rendering_resolution``;
- :func:`random_generator` builds a named configuration (:data:`CONFIGS`) with random weights for tests and
  benchmarks, ``w_avg`` set to the mean of mapped random z so that truncation behaves.

Every refusal is a :class:`~.checkpoint.CheckpointError` with one plain sentence naming the file.
Must not import Qt, the renderer or the application layer.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Mapping

import torch

from super_gui.inversion.eg3d import camera
from super_gui.inversion.eg3d.checkpoint import CheckpointError, _shown, check_shapes, load_checkpoint
from super_gui.inversion.eg3d.generator import FFHQ512_INIT_KWARGS, FFHQ_RENDERING_KWARGS, TriPlaneGenerator

__all__ = [
    "CONFIGS",
    "FFHQ512_INIT_KWARGS",
    "TINY_INIT_KWARGS",
    "build_generator",
    "constructor_kwargs",
    "load_generator",
    "random_generator",
]

# A small configuration that runs the same code on CPU in well under a second: 32^2 tri-planes (8 channels at
# most), 16^2 neural rendering, 8 + 8 depth samples, super-resolution to 64^2. JSON-able (lists, not tuples), so
# that it reads back from a checkpoint's config unchanged.
TINY_INIT_KWARGS: dict[str, Any] = {
    "z_dim": 16,
    "w_dim": 16,
    "c_dim": 25,
    "img_resolution": 64,
    "img_channels": 3,
    "mapping_kwargs": {"num_layers": 2},
    "rendering_kwargs": dict(FFHQ_RENDERING_KWARGS, depth_resolution=8, depth_resolution_importance=8),
    "channel_base": 256,
    "channel_max": 16,
    "num_fp16_res": 0,
    "conv_clamp": None,
    "sr_num_fp16_res": 4,
    "sr_kwargs": {"channel_base": 256, "channel_max": 16, "fused_modconv_default": "inference_only"},
    "fused_modconv_default": "inference_only",
    "backbone_resolution": 32,
    "sr_channels": [16, 8],
}

# name -> constructor arguments and the neural rendering resolution the released pickles (or the tests) use.
CONFIGS: dict[str, dict[str, Any]] = {
    "ffhq512-128": {"init_kwargs": FFHQ512_INIT_KWARGS, "neural_rendering_resolution": 128},
    "tiny": {"init_kwargs": TINY_INIT_KWARGS, "neural_rendering_resolution": 16},
}

SUPPORTED_CLASS = "TriPlaneGenerator"
SUPPORTED_SR = "SuperresolutionHybrid8XDC"

# TriPlaneGenerator's own arguments, in NVIDIA's positional order (a pickle's ``_init_args`` map onto these), then
# ours (keyword only in practice).
_POSITIONAL = (
    "z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "sr_num_fp16_res",
    "mapping_kwargs", "rendering_kwargs", "sr_kwargs",
)  # fmt: skip
_REQUIRED = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")
_OURS = ("backbone_resolution", "sr_channels")
# What TriPlaneGenerator passes on to the StyleGAN2 backbone (SynthesisNetwork, SynthesisBlock, SynthesisLayer):
# the names EG3D's train.py stores (channel_base, channel_max, num_fp16_res, conv_clamp, fused_modconv_default)
# and the other block/layer options our blocks accept. Anything else in a pickle is not ours to build: dropped.
_SYNTHESIS = (
    "channel_base", "channel_max", "num_fp16_res", "conv_clamp", "fused_modconv_default", "architecture",
    "resample_filter", "fp16_channels_last", "channels_last", "kernel_size", "use_noise", "activation",
)  # fmt: skip
_KNOWN = frozenset(_POSITIONAL + _OURS + _SYNTHESIS)
_OPTIONAL_KEYS = ("dataset_label_std",)  # registered by EG3D's training loop, unused by the forward pass


def _name(source: str | os.PathLike | None) -> str:
    return Path(source).name if source else "the checkpoint"


def _unusable(name: str, why: str) -> CheckpointError:
    return CheckpointError(f"{name} is an EG3D checkpoint super_gui cannot use: {why}.")


def constructor_kwargs(config: Mapping[str, Any], source: str | os.PathLike | None = None) -> dict[str, Any]:
    """The keyword arguments for :class:`TriPlaneGenerator` from a checkpoint config, or a one-sentence refusal.

    Positional ``init_args`` are mapped onto NVIDIA's parameter order; arguments our constructor does not know
    are dropped; the class and the super-resolution module must be the supported ones.
    """
    name = _name(source)
    class_name = config.get("class_name", SUPPORTED_CLASS)
    if class_name != SUPPORTED_CLASS:
        raise _unusable(name, f"its generator is a {_shown(class_name)}, not a {SUPPORTED_CLASS}")
    args, kwargs = config.get("init_args") or [], config.get("init_kwargs") or {}
    if not isinstance(args, (list, tuple)) or not isinstance(kwargs, Mapping):
        raise _unusable(name, "its constructor arguments are not readable")
    if len(args) > len(_POSITIONAL):
        raise _unusable(name, f"its generator takes {len(args)} positional arguments, at most {len(_POSITIONAL)} are known")
    merged = dict(zip(_POSITIONAL, args))
    for key, value in kwargs.items():
        if key in merged:
            raise _unusable(name, f"its constructor argument {_shown(key)} is given twice")
        merged[key] = value
    missing = [k for k in _REQUIRED if not isinstance(merged.get(k), int) or isinstance(merged.get(k), bool)]
    if missing:
        raise _unusable(name, f"its constructor argument {missing[0]} is missing or not a whole number")
    for key in ("mapping_kwargs", "rendering_kwargs", "sr_kwargs"):
        if merged.get(key) is not None and not isinstance(merged[key], Mapping):
            raise _unusable(name, f"its constructor argument {key} is not a table of settings")
    rendering = merged.get("rendering_kwargs") or {}
    sr = str(rendering.get("superresolution_module", SUPPORTED_SR)).rsplit(".", 1)[-1]
    if sr != SUPPORTED_SR:
        raise _unusable(name, f"its super-resolution module {_shown(sr)} is not supported (only {SUPPORTED_SR})")
    # The class names stored with the persistent modules: another super-resolution class is refused too.
    other_sr = sorted(c for c in (config.get("module_src_sha256") or {}) if c.startswith("Superresolution") and c != SUPPORTED_SR)
    if other_sr:
        raise _unusable(name, f"its super-resolution module {_shown(other_sr[0])} is not supported (only {SUPPORTED_SR})")
    return copy.deepcopy({k: v for k, v in merged.items() if k in _KNOWN})


def _neural_resolution(config: Mapping[str, Any], name: str) -> int | None:
    value = (config.get("attributes") or {}).get("neural_rendering_resolution")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 4096:
        raise _unusable(name, "its neural rendering resolution is not a sensible whole number")
    return value


def build_generator(
    state_dict: Mapping[str, torch.Tensor],
    config: Mapping[str, Any],
    device: str | torch.device = "cpu",
    source: str | os.PathLike | None = None,
) -> TriPlaneGenerator:
    """Our generator with the checkpoint's weights (see the module docstring); ``source`` names the file in errors.

    The global random state is left as it was (constructing draws random initial weights, then overwritten).
    """
    name = _name(source)
    kwargs = constructor_kwargs(config, source)
    resolution = _neural_resolution(config, name)
    try:
        with torch.device("meta"):  # shapes only: no memory, whatever sizes the config claims
            own = TriPlaneGenerator(**kwargs).state_dict()
    except (TypeError, ValueError, KeyError, RuntimeError, ZeroDivisionError) as e:
        raise _unusable(name, f"its constructor arguments do not fit super_gui's generator ({type(e).__name__})") from None
    weights = dict(state_dict)
    missing_optional = [k for k in _OPTIONAL_KEYS if k not in weights and k in own]
    for key in missing_optional:
        weights[key] = own[key]  # a placeholder for the shape check; the constructed default is kept below
    check_shapes(weights, {k: tuple(v.shape) for k, v in own.items()}, source=name)
    for key, t in weights.items():
        if not (t.is_floating_point() and own[key].is_floating_point()) and t.dtype != own[key].dtype:
            raise CheckpointError(f"{name} does not fit the EG3D generator: {key} has dtype {t.dtype}, expected {own[key].dtype}.")
    with torch.random.fork_rng(devices=[]):
        g = TriPlaneGenerator(**kwargs)
    for key in missing_optional:
        weights[key] = g.state_dict()[key]
    g.load_state_dict(weights, strict=True)
    if resolution is not None:
        g.neural_rendering_resolution = resolution
    return g.eval().requires_grad_(False).to(device)


def load_generator(
    path: str | os.PathLike, cache_dir: str | os.PathLike | None = None, device: str | torch.device = "cpu"
) -> tuple[TriPlaneGenerator, dict]:
    """``(generator, config)`` of the EG3D network pickle at ``path``, read through the cache in ``cache_dir``."""
    state_dict, config = load_checkpoint(path, cache_dir)
    return build_generator(state_dict, config, device=device, source=path), config


def random_generator(name: str = "tiny", seed: int = 0, device: str | torch.device = "cpu") -> TriPlaneGenerator:
    """A :data:`CONFIGS` generator with random weights (seeded; the global random state is left as it was).

    ``w_avg`` is the mean w of 1000 random z mapped with the frontal camera, so that truncation pulls toward the
    middle of this network's w distribution rather than toward zero.
    """
    if name not in CONFIGS:
        raise ValueError(f"unknown EG3D configuration {name!r} (known: {', '.join(CONFIGS)})")
    spec = CONFIGS[name]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        g = TriPlaneGenerator(**copy.deepcopy(spec["init_kwargs"]))
        g.neural_rendering_resolution = spec["neural_rendering_resolution"]
        g.eval().requires_grad_(False)
        with torch.no_grad():
            z = torch.randn(1000, g.z_dim)
            c = camera.frontal_c().unsqueeze(0).expand(len(z), -1)
            g.backbone.mapping.w_avg.copy_(g.mapping(z, c)[:, 0].mean(0))
    return g.to(device)
