"""Stand-ins for NVIDIA's EG3D code, to write network pickles in NVIDIA's format without NVIDIA's code.

:func:`write_standins` writes tiny ``torch_utils``, ``dnnlib`` and ``training`` packages into a folder (our
own code, written from the format described in NVIDIA's ``persistence.py`` docs: a persistent class pickles
as ``torch_utils.persistence._reconstruct_persistent_obj(meta)`` with the defining module's source in
``meta['module_src']``, and the stand-in loader ``exec``s it, as NVIDIA's does). :data:`BUILD_SCRIPT` runs in
a subprocess with that folder on ``sys.path``: it builds a small TriPlaneGenerator-like network with EG3D's
names, deep-copies it and pickles ``dict(G, D, G_ema, augment_pipe, training_set_kwargs)`` with
``pickle.dump`` as NVIDIA's training loop does, and saves the reference ``G_ema.state_dict()`` (safetensors)
and constructor arguments (JSON). It also writes the same network with a stored ``module_src`` of the
caller's choosing (the malicious case: NVIDIA's loader would run it). :data:`MIRROR_SCRIPT` pickles OUR tiny
generator itself, mirrored into stand-in classes with EG3D's class names, and saves its outputs for a few
cameras (loading it must give identical tensors and outputs).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

PERSISTENCE = '''
import copy, inspect, sys, types, uuid

SRC_OVERRIDE = None  # set by the builder to store another module_src (the malicious case)
_src_to_module = {}


def persistent_class(orig):
    module = sys.modules[orig.__module__]
    src = inspect.getsource(module)
    _src_to_module[src] = module

    class Decorator(orig):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._init_args = copy.deepcopy(args)
            self._init_kwargs = copy.deepcopy(kwargs)

        def __reduce__(self):
            meta = dict(type="class", version=6, module_src=SRC_OVERRIDE or src, class_name=orig.__name__,
                        state=dict(self.__dict__))
            return (_reconstruct_persistent_obj, (meta,))

    Decorator.__name__ = orig.__name__
    Decorator.__qualname__ = orig.__qualname__
    Decorator.__module__ = orig.__module__
    return Decorator


def _reconstruct_persistent_obj(meta):
    # What NVIDIA's loader does: run the stored source, then rebuild the object from its state.
    src = meta["module_src"]
    module = _src_to_module.get(src)
    if module is None:
        module = types.ModuleType("_imported_module_" + uuid.uuid4().hex)
        sys.modules[module.__name__] = module
        exec(src, module.__dict__)
        _src_to_module[src] = module
    cls = getattr(module, meta["class_name"])
    obj = cls.__new__(cls)
    obj.__setstate__(meta["state"])
    return obj
'''

DNNLIB_UTIL = '''
class EasyDict(dict):
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)

    def __setattr__(self, name, value):
        self[name] = value
'''

NETWORKS = '''
import torch
from torch_utils import persistence


@persistence.persistent_class
class FullyConnectedLayer(torch.nn.Module):
    def __init__(self, in_features, out_features, bias=True, lr_multiplier=1.0):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = torch.nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = torch.nn.Parameter(torch.randn([out_features])) if bias else None
        self.weight_gain = lr_multiplier / in_features ** 0.5


@persistence.persistent_class
class MappingNetwork(torch.nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, num_ws, num_layers=2):
        super().__init__()
        self.num_ws = num_ws
        self.embed = FullyConnectedLayer(c_dim, w_dim)
        self.fc0 = FullyConnectedLayer(z_dim + w_dim, w_dim)
        self.fc1 = FullyConnectedLayer(w_dim, w_dim, lr_multiplier=0.01)
        self.register_buffer("w_avg", torch.randn([w_dim]))


@persistence.persistent_class
class SynthesisLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, resolution):
        super().__init__()
        self.affine = FullyConnectedLayer(w_dim, in_channels)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, 3, 3]))
        self.noise_strength = torch.nn.Parameter(torch.randn([]))
        self.bias = torch.nn.Parameter(torch.randn([out_channels]))
        self.register_buffer("resample_filter", torch.randn([4, 4]))
        self.register_buffer("noise_const", torch.randn([resolution, resolution]))
        self.register_buffer("scratch", torch.randn([3]), persistent=False)  # not in the state_dict


@persistence.persistent_class
class ToRGBLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, w_dim):
        super().__init__()
        self.affine = FullyConnectedLayer(w_dim, in_channels)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.bias = torch.nn.Parameter(torch.randn([out_channels]))


@persistence.persistent_class
class SynthesisBlock(torch.nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, resolution, img_channels):
        super().__init__()
        if in_channels == 0:
            self.const = torch.nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution)
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim)
        self.register_buffer("resample_filter", torch.randn([4, 4]))


@persistence.persistent_class
class SynthesisNetwork(torch.nn.Module):
    def __init__(self, w_dim, img_resolution, img_channels, channels):
        super().__init__()
        self.b4 = SynthesisBlock(0, channels, w_dim, 4, img_channels)
        self.b8 = SynthesisBlock(channels, channels, w_dim, 8, img_channels)
        self.num_ws = 4


@persistence.persistent_class
class Generator(torch.nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, img_resolution, img_channels, channels=8, mapping_kwargs={}):
        super().__init__()
        self.synthesis = SynthesisNetwork(w_dim, img_resolution, img_channels, channels)
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.synthesis.num_ws, **mapping_kwargs)
'''

SUPERRESOLUTION = '''
import torch
from torch_utils import persistence
from training.networks import SynthesisBlock


@persistence.persistent_class
class SuperresolutionHybrid8XDC(torch.nn.Module):
    def __init__(self, channels, img_resolution, sr_num_fp16_res, sr_antialias, w_dim=16, **block_kwargs):
        super().__init__()
        self.input_resolution = 8
        self.sr_antialias = sr_antialias
        self.block0 = SynthesisBlock(channels, 8, w_dim, 8, 3)
        self.block1 = SynthesisBlock(8, 4, w_dim, 8, 3)
        self.register_buffer("resample_filter", torch.randn([4, 4]).t())  # a non-contiguous buffer
'''

RENDERER = '''
import math
import torch


class ImportanceRenderer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        from training.volumetric_rendering.ray_marcher import MipRayMarcher2
        self.ray_marcher = MipRayMarcher2()
        self.plane_axes = torch.tensor([[[1, 0, 0], [0, 1, 0], [0, 0, 1]]], dtype=torch.float32)
'''

RAY_MARCHER = '''
import torch


class MipRayMarcher2(torch.nn.Module):
    def __init__(self):
        super().__init__()
'''

RAY_SAMPLER = '''
import torch


class RaySampler(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ray_origins_h, self.ray_directions, self.depths = None, None, None
'''

TRIPLANE = '''
import torch
from torch_utils import persistence
from training.networks import Generator, FullyConnectedLayer
from training.superresolution import SuperresolutionHybrid8XDC
from training.volumetric_rendering.renderer import ImportanceRenderer
from training.volumetric_rendering.ray_sampler import RaySampler


@persistence.persistent_class
class TriPlaneGenerator(torch.nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, img_resolution, img_channels, sr_num_fp16_res=0, mapping_kwargs={},
                 rendering_kwargs={}, sr_kwargs={}, **synthesis_kwargs):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.renderer = ImportanceRenderer()
        self.ray_sampler = RaySampler()
        self.backbone = Generator(z_dim, c_dim, w_dim, img_resolution=16, img_channels=6, mapping_kwargs=mapping_kwargs, **synthesis_kwargs)
        self.superresolution = SuperresolutionHybrid8XDC(channels=2, img_resolution=img_resolution, sr_num_fp16_res=sr_num_fp16_res, sr_antialias=True, w_dim=w_dim, **sr_kwargs)
        self.decoder = OSGDecoder(2, {"decoder_lr_mul": rendering_kwargs.get("decoder_lr_mul", 1), "decoder_output_dim": 2})
        self.neural_rendering_resolution = 16
        self.rendering_kwargs = rendering_kwargs
        self._last_planes = None


class OSGDecoder(torch.nn.Module):
    def __init__(self, n_features, options):
        super().__init__()
        self.hidden_dim = 4
        self.net = torch.nn.Sequential(
            FullyConnectedLayer(n_features, self.hidden_dim, lr_multiplier=options["decoder_lr_mul"]),
            torch.nn.Softplus(),
            FullyConnectedLayer(self.hidden_dim, 1 + options["decoder_output_dim"], lr_multiplier=options["decoder_lr_mul"]),
        )
'''

BUILD_SCRIPT = '''
import copy, json, pickle, sys
import numpy as np
import torch
from safetensors.torch import save_file

out_pkl, out_ref, out_cfg, evil_src, evil_pkl = sys.argv[1:6]
import dnnlib.util
from torch_utils import persistence
from training.triplane import TriPlaneGenerator

torch.manual_seed(0)
rendering_kwargs = dnnlib.util.EasyDict(depth_resolution=4, depth_resolution_importance=4, ray_start=2.25, ray_end=3.3,
                                        box_warp=1, avg_camera_radius=2.7, avg_camera_pivot=[0, 0, 0.2],
                                        c_scale=np.float64(1.0), density_reg=np.float32(0.25), clamp_mode="softplus",
                                        superresolution_module="training.superresolution.SuperresolutionHybrid8XDC")
G_kwargs = dnnlib.util.EasyDict(z_dim=16, c_dim=25, w_dim=16, img_resolution=64, img_channels=3, sr_num_fp16_res=4,
                                mapping_kwargs=dnnlib.util.EasyDict(num_layers=2), rendering_kwargs=rendering_kwargs,
                                sr_kwargs=dnnlib.util.EasyDict(channel_base=32768, channel_max=512), channels=8)
G = TriPlaneGenerator(**G_kwargs).train().requires_grad_(False)
G.register_buffer("dataset_label_std", torch.randn(25))  # as training_loop.py does, after construction
G_ema = copy.deepcopy(G).eval()
snapshot_data = dict(training_set_kwargs=dnnlib.util.EasyDict(path="ffhq.zip", use_labels=True, resolution=64))
for name, module in [("G", G), ("D", None), ("G_ema", G_ema), ("augment_pipe", None)]:
    if module is not None:
        module = copy.deepcopy(module).eval().requires_grad_(False).cpu()
    snapshot_data[name] = module
with open(out_pkl, "wb") as f:
    pickle.dump(snapshot_data, f)
# The same network again, each persistent class claiming ``evil_src`` as its source (NVIDIA's loader runs it).
persistence.SRC_OVERRIDE = evil_src
with open(evil_pkl, "wb") as f:
    pickle.dump(snapshot_data, f)
persistence.SRC_OVERRIDE = None
g = snapshot_data["G_ema"]
save_file({k: v.contiguous().clone() for k, v in g.state_dict().items()}, out_ref)
def plain(x):
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    return x.item() if isinstance(x, np.generic) else x
json.dump(dict(init_args=plain(g._init_args), init_kwargs=plain(g._init_kwargs), keys=list(g.state_dict()),
               neural_rendering_resolution=g.neural_rendering_resolution), open(out_cfg, "w"))
'''

_FILES = {
    "torch_utils/__init__.py": "",
    "torch_utils/persistence.py": PERSISTENCE,
    "dnnlib/__init__.py": "",
    "dnnlib/util.py": DNNLIB_UTIL,
    "training/__init__.py": "",
    "training/networks.py": NETWORKS,
    "training/superresolution.py": SUPERRESOLUTION,
    "training/triplane.py": TRIPLANE,
    "training/volumetric_rendering/__init__.py": "",
    "training/volumetric_rendering/renderer.py": RENDERER,
    "training/volumetric_rendering/ray_marcher.py": RAY_MARCHER,
    "training/volumetric_rendering/ray_sampler.py": RAY_SAMPLER,
}


def write_standins(folder: Path) -> Path:
    """Write the stand-in packages (and build.py) into ``folder``; returns ``folder``."""
    for rel, text in {**_FILES, **_SCRIPTS}.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip())
    return folder


def run_in_standins(folder: Path, *args: str, script: str = "build.py", cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``script`` from ``folder`` in a fresh Python with the stand-ins importable; raises with its stderr."""
    proc = subprocess.run([sys.executable, str(folder / script), *args], cwd=cwd or folder, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    if proc.returncode != 0:
        raise AssertionError(f"{script} failed:\n{proc.stderr}")
    return proc

GENERIC = '''
import torch
from torch_utils import persistence


@persistence.persistent_class
class Node(torch.nn.Module):
    def __init__(self):
        super().__init__()
'''

# Builds a network with the keys and shapes of a "key<TAB>(shape)<TAB>dtype" list (zeros), pickled as G_ema.
FULLSIZE_SCRIPT = '''
import pickle, sys
import torch
from training.generic import Node

tsv, out_pkl = sys.argv[1], sys.argv[2]
BUFFERS = ("resample_filter", "noise_const", "w_avg", "dataset_label_std")
root = Node()
for line in open(tsv):
    if not line.strip():
        continue
    key, shape, dtype = line.rstrip("\\n").split("\\t")
    shape = tuple(int(x) for x in shape.strip("()").split(",") if x.strip())
    *path, leaf = key.split(".")
    m = root
    for part in path:
        if part not in m._modules:
            m.add_module(part, Node())
        m = m._modules[part]
    t = torch.zeros(shape, dtype=getattr(torch, dtype.split(".")[-1]))
    if leaf in BUFFERS:
        m.register_buffer(leaf, t)
    else:
        m.register_parameter(leaf, torch.nn.Parameter(t, requires_grad=False))
with open(out_pkl, "wb") as f:
    pickle.dump(dict(G=None, D=None, G_ema=root.eval(), augment_pipe=None, training_set_kwargs={}), f)
'''

_FILES["training/generic.py"] = GENERIC
_SCRIPTS = {"build.py": BUILD_SCRIPT, "build_fullsize.py": FULLSIZE_SCRIPT}

# ---- the tiny generator itself, mirrored into stand-in classes (issue 11: identical tensors and outputs) ---------

# NVIDIA's module for the StyleGAN2 classes; bare persistent stand-ins (any constructor arguments, no layers of
# their own): MIRROR_SCRIPT creates them without __init__ and fills in a copy of our modules' state.
NETWORKS_STYLEGAN2 = """
import torch
from torch_utils import persistence


class _Bare(torch.nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
""" + "".join(f"""

@persistence.persistent_class
class {name}(_Bare):
    pass
""" for name in ("FullyConnectedLayer", "MappingNetwork", "SynthesisLayer", "ToRGBLayer", "SynthesisBlock",
                 "SynthesisNetwork", "Generator"))

MIRROR_YAWS = (0.0, 0.4, -0.4)  # frontal, then the camera moved toward +x and -x (radians, camera.orbit_camera)
MIRROR_RENDER_SEED = 1234  # torch.manual_seed(MIRROR_RENDER_SEED + i) before camera i: the renderer's jitter

# argv: out_pkl out_ref seed. Builds OUR tiny generator, gives its all-zero parameters (biases, noise strengths)
# random values so that every tensor shows in the outputs, mirrors the module tree into stand-in classes with
# EG3D's class names (every parameter and buffer as registered, the plain attributes), checks the mirror's
# state_dict, pickles dict(training_set_kwargs, G, D, G_ema, augment_pipe) with pickle.dump as NVIDIA's training
# loop does, and saves (safetensors) ws, the cameras, the outputs of our original for them and its state_dict.
MIRROR_SCRIPT = '''
import copy, pickle, sys
import torch
from safetensors.torch import save_file

import dnnlib.util
import training.networks_stylegan2 as sg2
from training.superresolution import SuperresolutionHybrid8XDC
from training.triplane import OSGDecoder, TriPlaneGenerator
from training.volumetric_rendering.ray_marcher import MipRayMarcher2
from training.volumetric_rendering.ray_sampler import RaySampler
from training.volumetric_rendering.renderer import ImportanceRenderer
from super_gui.inversion.eg3d import camera
from super_gui.inversion.eg3d.loader import CONFIGS, random_generator

out_pkl, out_ref, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
config = sys.argv[4] if len(sys.argv) > 4 else "tiny"  # a loader.CONFIGS name
INIT_KWARGS = CONFIGS[config]["init_kwargs"]
YAWS, RENDER_SEED = {yaws!r}, {render_seed!r}
PERSISTENT = {{"TriPlaneGenerator": TriPlaneGenerator, "StyleGAN2Backbone": sg2.Generator,
               "MappingNetwork": sg2.MappingNetwork, "SynthesisNetwork": sg2.SynthesisNetwork,
               "SynthesisBlock": sg2.SynthesisBlock, "SynthesisLayer": sg2.SynthesisLayer,
               "ToRGBLayer": sg2.ToRGBLayer, "FullyConnectedLayer": sg2.FullyConnectedLayer,
               "SuperresolutionHybrid8XDC": SuperresolutionHybrid8XDC}}
PLAIN = {{"OSGDecoder": OSGDecoder, "ImportanceRenderer": ImportanceRenderer, "MipRayMarcher2": MipRayMarcher2,
          "RaySampler": RaySampler, "Sequential": torch.nn.Sequential, "Softplus": torch.nn.Softplus}}


def easy(x):
    if isinstance(x, dict):
        return dnnlib.util.EasyDict({{k: easy(v) for k, v in x.items()}})
    return [easy(v) for v in x] if isinstance(x, list) else x


def mirror(m, init_kwargs=None):
    kind = type(m).__name__
    cls = PERSISTENT.get(kind) or PLAIN[kind]  # KeyError: a module class this fixture does not know
    obj = cls.__new__(cls)
    torch.nn.Module.__init__(obj)
    skip = ("_parameters", "_buffers", "_modules")
    obj.__dict__.update(copy.deepcopy({{k: v for k, v in m.__dict__.items() if k not in skip}}))
    obj.__dict__["_parameters"] = {{k: None if p is None else torch.nn.Parameter(p.detach().clone(), requires_grad=False)
                                   for k, p in m._parameters.items()}}
    obj.__dict__["_buffers"] = {{k: None if b is None else b.detach().clone() for k, b in m._buffers.items()}}
    obj.__dict__["_modules"] = {{k: None if c is None else mirror(c) for k, c in m._modules.items()}}
    if kind in PERSISTENT:
        obj._init_args, obj._init_kwargs = (), easy(copy.deepcopy(init_kwargs or {{}}))
    return obj


g = random_generator(config, seed)
with torch.no_grad():
    gen = torch.Generator().manual_seed(seed + 1)
    for p in g.parameters():
        if not p.any():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    g.dataset_label_std.copy_(torch.rand(g.dataset_label_std.shape, generator=gen) + 0.5)
G_ema = mirror(g, INIT_KWARGS)
assert type(G_ema).__name__ == "TriPlaneGenerator" and type(G_ema.decoder).__module__ == "training.triplane"
ours, theirs = g.state_dict(), G_ema.state_dict()
assert list(ours) == list(theirs) and all(torch.equal(ours[k], theirs[k]) for k in ours)
snapshot = dict(training_set_kwargs=dnnlib.util.EasyDict(path="ffhq.zip", use_labels=True, resolution=64),
                G=mirror(g, INIT_KWARGS) if config == "tiny" else None, D=None, G_ema=G_ema, augment_pipe=None)
with open(out_pkl, "wb") as f:
    pickle.dump(snapshot, f)

ref = {{"state." + k: v.contiguous().clone() for k, v in ours.items()}}
with torch.no_grad():
    z = torch.randn([1, g.z_dim], generator=gen)
    ref["ws"] = ws = g.mapping(z, camera.frontal_c()[None])
    for i, yaw in enumerate(YAWS):
        ref[f"c{{i}}"] = c = camera.make_c(camera.orbit_camera(yaw=yaw), camera.intrinsics())[None]
        torch.manual_seed(RENDER_SEED + i)
        for k, v in g.synthesis(ws, c, noise_mode="const").items():
            ref[f"{{k}}{{i}}"] = v.contiguous()
save_file(ref, out_ref)
'''.format(yaws=MIRROR_YAWS, render_seed=MIRROR_RENDER_SEED)

_FILES["training/networks_stylegan2.py"] = NETWORKS_STYLEGAN2
_SCRIPTS["build_mirror.py"] = MIRROR_SCRIPT


def write_tiny_checkpoint(folder: Path, seed: int = 3) -> Path:
    """``folder/tiny.pkl``: loader.CONFIGS' tiny generator (random weights from ``seed``) pickled as NVIDIA's
    checkpoints are, in a subprocess with the stand-ins (~0.5 MB, ~2 s to write)."""
    standins = write_standins(folder / "standins")
    pkl = folder / "tiny.pkl"
    run_in_standins(standins, str(pkl), str(folder / "ref.safetensors"), str(seed), "tiny", script="build_mirror.py")
    return pkl
