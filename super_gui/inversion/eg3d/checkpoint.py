"""Read NVIDIA's EG3D network pickles without running the code stored in them, and cache them as safetensors.

NVIDIA's training loop writes ``pickle.dump(dict(G=..., D=..., G_ema=..., augment_pipe=..., training_set_kwargs=...))``.
Its networks are "persistent classes": each one pickles as a call to
``torch_utils.persistence._reconstruct_persistent_obj(meta)`` where ``meta`` carries the full source of the
defining module (``module_src``), which NVIDIA's loader ``exec``s. Tensor storages go through
``torch.storage._load_from_bytes``, which calls ``torch.load(weights_only=False)``. Loading such a file with
plain ``pickle`` therefore runs whatever the file says.

This module reads it with an allow-list unpickler instead:

- ``_reconstruct_persistent_obj`` gives an inert :class:`PersistentStub` holding the class name and the pickled
  ``__dict__``; ``module_src`` is never executed, only its sha256 is kept (provenance);
- ``_load_from_bytes`` is replaced by ``torch.load(BytesIO(b), weights_only=True)`` and must give a storage;
- ``_rebuild_tensor_v2`` / ``_rebuild_parameter`` are wrapped (a real storage, no backward hooks);
- ``dnnlib.util.EasyDict`` becomes a dict, ``collections.OrderedDict`` is allowed;
- numpy ``dtype`` / ``scalar`` are allowed for plain numbers only (an object dtype is refused);
- the few plain classes EG3D's generator holds (OSGDecoder, Sequential, Softplus, the renderer, ray marcher and
  ray sampler) become :class:`PlainStub` subclasses with ``__setstate__``;
- any other global is refused.

Every refusal is a :class:`CheckpointError` (a :class:`~super_gui.errors.UserInputError`) with one plain sentence
naming the file and what was refused. Nothing is written before the whole file has been read and checked.

The API the backend uses::

    state_dict, config = load_checkpoint(path, cache_dir=None)
    check_shapes(state_dict, manifest, source=path)   # manifest: {key: shape}, from the generator module

``state_dict`` is ``{dotted.name: tensor}`` as ``G_ema.state_dict()`` names it (parameters and persistent
buffers); ``config`` is JSON-able: ``class_name``, ``init_args``, ``init_kwargs`` (the widths and
``rendering_kwargs`` of the TriPlaneGenerator), ``attributes`` (its plain JSON-able attributes such as
``neural_rendering_resolution``), ``module_src_sha256``, ``source_sha256`` and ``state_dict_keys``. The first open converts the
pickle to ``<sha256>.safetensors`` + ``<sha256>.json`` in the cache folder (default
``$XDG_CACHE_HOME/super_gui/eg3d`` or ``~/.cache/super_gui/eg3d``), written atomically; later opens of the
same file (same sha256) read the cache.

Must not import Qt, the renderer or the application layer.
"""

from __future__ import annotations

import collections
import hashlib
import io
import json
import math
import os
import pickle
import re
import warnings
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from super_gui.core.atomic import atomic_path, write_json_atomic
from super_gui.errors import UserInputError

__all__ = [
    "CheckpointError",
    "PersistentStub",
    "PlainStub",
    "read_network_pickle",
    "extract_generator",
    "check_shapes",
    "default_cache_dir",
    "load_checkpoint",
    "CONFIG_FORMAT",
]

CONFIG_FORMAT = "super_gui-eg3d-checkpoint-1"
_MAX_DEPTH = 64  # module nesting; EG3D's G_ema is 5 deep


class CheckpointError(UserInputError):
    """The file is not an EG3D network pickle super_gui can read safely (one plain sentence)."""


class _Refused(Exception):
    """Raised inside the unpickler; turned into a CheckpointError naming the file."""


class PersistentStub:
    """What a persistent class becomes: its class name, its pickled ``__dict__`` and the sha256 of its source."""

    __slots__ = ("class_name", "state", "module_src_sha256", "version")

    def __init__(self, class_name: str, state: dict, module_src_sha256: str, version: int):
        self.class_name = class_name
        self.state = state
        self.module_src_sha256 = module_src_sha256
        self.version = version

    def __repr__(self) -> str:
        return f"PersistentStub({self.class_name!r})"


class PlainStub:
    """Base of the stand-ins for the few plain (non-persistent) classes EG3D's generator holds."""

    class_name = "?"

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise _Refused(f"a {self.class_name} whose state is not a dict")
        object.__setattr__(self, "state", state)

    def __repr__(self) -> str:
        return f"PlainStub({self.class_name!r})"


_PLAIN_CLASSES = (
    "training.triplane.OSGDecoder",
    "torch.nn.modules.container.Sequential",
    "torch.nn.modules.activation.Softplus",
    "training.volumetric_rendering.renderer.ImportanceRenderer",
    "training.volumetric_rendering.ray_marcher.MipRayMarcher2",
    "training.volumetric_rendering.ray_sampler.RaySampler",
)
_PLAIN_STUBS = {name: type(name.rsplit(".", 1)[1], (PlainStub,), {"class_name": name}) for name in _PLAIN_CLASSES}


class _EasyDict(dict):
    """``dnnlib.util.EasyDict``: a dict; any pickled instance ``__dict__`` is ignored (EasyDict keeps none)."""

    def __setstate__(self, state: Any) -> None:
        pass


def _reconstruct_persistent_obj(meta: Any) -> PersistentStub:
    if not isinstance(meta, dict) or meta.get("type") != "class":
        raise _Refused("a persistent object that is not a class instance")
    class_name, state, src, version = meta.get("class_name"), meta.get("state"), meta.get("module_src"), meta.get("version")
    if not isinstance(class_name, str) or not isinstance(state, dict) or not isinstance(src, str) or not isinstance(version, int):
        raise _Refused("a persistent object without a class name, state, source and version")
    # The stored source is NOT executed: only its digest is kept, to tell checkpoints' code versions apart.
    return PersistentStub(class_name, state, hashlib.sha256(src.encode("utf-8", "surrogatepass")).hexdigest(), version)


def _load_storage_from_bytes(b: Any) -> Any:
    if not isinstance(b, (bytes, bytearray)):
        raise _Refused("a tensor storage that is not bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes on odd protocols: the payload is refused or fine
            obj = torch.load(io.BytesIO(bytes(b)), weights_only=True, map_location="cpu")
    except Exception as e:  # weights_only refuses any global outside torch's own allow-list
        raise _Refused("a tensor storage that is not plain tensor data") from e
    if not isinstance(obj, (torch.TypedStorage, torch.UntypedStorage)):
        raise _Refused("a tensor storage that is not plain tensor data")
    return obj


def _no_hooks(hooks: Any) -> None:
    if hooks is not None and not (isinstance(hooks, dict) and not hooks):
        raise _Refused("a tensor with backward hooks")


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise _Refused("a tensor without a plain storage")
    _no_hooks(backward_hooks)
    if metadata is not None and not isinstance(metadata, dict):
        raise _Refused("a tensor with odd metadata")
    return torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, bool(requires_grad), collections.OrderedDict(), metadata)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    if not isinstance(data, torch.Tensor):
        raise _Refused("a parameter that is not a tensor")
    _no_hooks(backward_hooks)
    return torch.nn.Parameter(data, bool(requires_grad))


_NUMERIC_KINDS = "biufc"  # bool, int, uint, float, complex: no object, string, void or structured dtypes


def _plain_dtype(dt: np.dtype, what: str) -> np.dtype:
    if dt.hasobject:
        raise _Refused(f"a numpy {what} of object dtype")
    if dt.kind not in _NUMERIC_KINDS or dt.fields is not None or dt.subdtype is not None:
        raise _Refused(f"a numpy {what} of dtype {_shown(dt.name)}")
    return dt


class _DType:
    """``numpy.dtype(...)`` as pickled: resolved to a real dtype only for plain numbers."""

    def __init__(self, *args: Any):
        if not args or not isinstance(args[0], str):
            raise _Refused("a numpy dtype that is not named by a string")
        try:
            dt = np.dtype(args[0])
        except Exception as e:
            raise _Refused(f"an unknown numpy dtype {_shown(args[0])}") from e
        self.dtype = _plain_dtype(dt, "dtype")
        self._spec = args[0]

    def __setstate__(self, state: Any) -> None:
        try:
            dt = np.dtype(self._spec)
            dt.__setstate__(state)
        except _Refused:
            raise
        except Exception as e:
            raise _Refused("a numpy dtype with an odd state") from e
        self.dtype = _plain_dtype(dt, "dtype")


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    if not isinstance(dtype, _DType):
        raise _Refused("a numpy scalar without a plain dtype")
    dt = _plain_dtype(dtype.dtype, "scalar")
    if not isinstance(data, (bytes, bytearray)) or len(data) != dt.itemsize:
        raise _Refused("a numpy scalar whose data is not raw bytes")
    return np.frombuffer(bytes(data), dtype=dt)[0]


_ALLOWED: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("torch.storage", "_load_from_bytes"): _load_storage_from_bytes,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("dnnlib.util", "EasyDict"): _EasyDict,
    ("numpy", "dtype"): _DType,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,  # pickles written with numpy < 2
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,  # numpy >= 2
    **{tuple(name.rsplit(".", 1)): stub for name, stub in _PLAIN_STUBS.items()},
}


def _shown(text: Any, limit: int = 80) -> str:
    """A name read from the file, safe inside one sentence: dotted identifiers only, others become '?'."""
    text = str(text)
    shown = re.sub(r"[^A-Za-z0-9_.]", "?", text[:limit])
    return shown + ("..." if len(text) > limit else "")


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except (KeyError, TypeError):
            raise _Refused(f"it refers to {_shown(module)}.{_shown(name)}") from None

    def persistent_load(self, pid: Any) -> Any:
        raise _Refused("it uses persistent ids (it is not a pickle.dump of a network)")


def _refusal(source: str, what: str) -> CheckpointError:
    what = what if what.startswith("it ") else f"it contains {what}"
    return CheckpointError(f"{source} is not an EG3D network pickle super_gui can read safely: {what}.")


def read_network_pickle(data: bytes, source: str = "the checkpoint") -> Any:
    """Unpickle ``data`` with the allow-list; any refusal or damage raises :class:`CheckpointError`."""
    try:
        return _SafeUnpickler(io.BytesIO(data)).load()
    except _Refused as e:
        raise _refusal(source, str(e)) from None
    except RecursionError:
        raise _refusal(source, "it is nested too deeply") from None
    except MemoryError:
        raise
    except Exception as e:
        raise CheckpointError(f"{source} is not an EG3D network pickle super_gui can read: it is damaged or not a pickle ({type(e).__name__}).") from None


def _module_state(node: Any, where: str, source: str) -> dict:
    if not isinstance(node, (PersistentStub, PlainStub)):
        raise _refusal(source, f"the module {where or 'G_ema'} is not a network")
    state = getattr(node, "state", None)
    if not isinstance(state, dict):
        raise _refusal(source, f"the module {where or 'G_ema'} has no state")
    return state


def _state_dict(node: Any, prefix: str, out: dict, seen: set, depth: int, source: str) -> None:
    if depth > _MAX_DEPTH:
        raise _refusal(source, "it nests modules too deeply")
    if id(node) in seen:
        raise _refusal(source, f"the module {prefix.rstrip('.') or 'G_ema'} contains itself")
    seen.add(id(node))
    state = _module_state(node, prefix.rstrip("."), source)
    params, buffers, modules = state.get("_parameters", {}), state.get("_buffers", {}), state.get("_modules", {})
    non_persistent = state.get("_non_persistent_buffers_set", set())
    for group in (params, buffers, modules):
        if not isinstance(group, dict) or not all(isinstance(k, str) for k in group):
            raise _refusal(source, f"the module {prefix.rstrip('.') or 'G_ema'} has odd parameter, buffer or module tables")
    if not isinstance(non_persistent, (set, frozenset)):
        raise _refusal(source, f"the module {prefix.rstrip('.') or 'G_ema'} has an odd buffer table")
    # The order of nn.Module.state_dict(): parameters, persistent buffers, then the children.
    for table, skip in ((params, ()), (buffers, non_persistent)):
        for name, t in table.items():
            if t is None or name in skip:
                continue
            if not isinstance(t, torch.Tensor):
                raise _refusal(source, f"{prefix}{name} is not a tensor")
            out[prefix + name] = t.detach()
    for name, child in modules.items():
        if child is not None:
            _state_dict(child, f"{prefix}{name}.", out, seen, depth + 1, source)


def _jsonable(value: Any, where: str, source: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if not math.isfinite(f):
            raise _refusal(source, f"the setting {where} is not a finite number")
        return f
    if isinstance(value, _DType):
        return value.dtype.str
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise _refusal(source, f"the setting {where} has keys that are not text")
        return {k: _jsonable(v, f"{where}.{k}", source) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]", source) for i, v in enumerate(value)]
    raise _refusal(source, f"the setting {where} is not plain data")


def _is_plain(value: Any) -> bool:
    if value is None or isinstance(value, (bool, str, int, float, np.number, np.bool_, _DType)):
        return not isinstance(value, float) or math.isfinite(value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    return False


def extract_generator(top: Any, source: str = "the checkpoint") -> tuple[dict[str, torch.Tensor], dict]:
    """From the unpickled top-level dict take ``G_ema``: its ``{dotted.name: tensor}`` state dict and its config."""
    if not isinstance(top, dict) or "G_ema" not in top:
        raise _refusal(source, "it has no G_ema network")
    g = top["G_ema"]
    if not isinstance(g, PersistentStub):
        raise _refusal(source, "its G_ema is not a network")
    state_dict: dict[str, torch.Tensor] = {}
    _state_dict(g, "", state_dict, set(), 0, source)
    if not state_dict:
        raise _refusal(source, "its G_ema has no weights")
    shas: dict[str, str] = {}

    def collect(node: Any, seen: set) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, PersistentStub):
            shas.setdefault(node.class_name, node.module_src_sha256)
        for child in (getattr(node, "state", {}) or {}).get("_modules", {}).values():
            if child is not None:
                collect(child, seen)

    collect(g, set())
    args, kwargs = g.state.get("_init_args", ()), g.state.get("_init_kwargs", {})
    if not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict):
        raise _refusal(source, "its G_ema has no constructor arguments")
    attributes = {k: _jsonable(v, k, source) for k, v in g.state.items() if not k.startswith("_") and k != "training" and _is_plain(v)}
    config = {
        "format": CONFIG_FORMAT,
        "class_name": g.class_name,
        "persistence_version": g.version,
        "init_args": _jsonable(list(args), "init_args", source),
        "init_kwargs": _jsonable(dict(kwargs), "init_kwargs", source),
        "attributes": attributes,
        "module_src_sha256": shas,
    }
    return state_dict, config


def check_shapes(state_dict: Mapping[str, torch.Tensor], manifest: Mapping[str, Any], source: str = "the checkpoint") -> None:
    """Refuse (one sentence naming the first difference) unless ``state_dict`` has exactly the manifest's keys and shapes."""
    name = Path(source).name if source else "the checkpoint"
    for key, shape in manifest.items():
        if key not in state_dict:
            raise CheckpointError(f"{name} does not fit the EG3D generator: it has no weight {key}.")
        got, want = list(state_dict[key].shape), [int(s) for s in shape]
        if got != want:
            raise CheckpointError(f"{name} does not fit the EG3D generator: {key} has shape {got}, expected {want}.")
    for key in state_dict:
        if key not in manifest:
            raise CheckpointError(f"{name} does not fit the EG3D generator: it has an unexpected weight {key}.")


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "super_gui" / "eg3d"


def _read_cache(weights: Path, cfg: Path) -> tuple[dict[str, torch.Tensor], dict] | None:
    from safetensors.torch import load_file

    try:
        config = json.loads(cfg.read_text(encoding="utf-8"))
        if not isinstance(config, dict) or config.get("format") != CONFIG_FORMAT:
            return None
        tensors = load_file(str(weights))
        keys = config.get("state_dict_keys")
        if not isinstance(keys, list) or sorted(keys) != sorted(tensors):
            return None
        return {k: tensors[k] for k in keys}, config  # safetensors sorts the keys; give state_dict() order back
    except Exception:
        return None  # damaged or foreign cache entry: convert again


def load_checkpoint(path: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """``(state_dict, config)`` of the EG3D pickle at ``path`` (see the module docstring), via the cache."""
    from safetensors.torch import save_file

    path = Path(path)
    name = path.name
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"{name} cannot be read: {e.strerror or e}.") from None
    digest = hashlib.sha256(data).hexdigest()
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    weights, cfg = folder / f"{digest}.safetensors", folder / f"{digest}.json"
    if weights.is_file() and cfg.is_file():
        cached = _read_cache(weights, cfg)
        if cached is not None:
            return cached
    state_dict, config = extract_generator(read_network_pickle(data, name), name)
    del data
    config["source_sha256"] = digest
    config["state_dict_keys"] = list(state_dict)
    # safetensors wants contiguous tensors that share no memory.
    state_dict = {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(weights) as tmp:
            save_file(state_dict, str(tmp), metadata={"super_gui_eg3d_config": json.dumps(config)})
        write_json_atomic(cfg, config)
    except OSError:
        pass  # no cache this time (read-only or full disk): the loaded weights are still good
    return state_dict, config
