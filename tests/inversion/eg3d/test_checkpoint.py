"""Safe loading of NVIDIA's EG3D network pickles (issue 11, items 3 and 6).

An NVIDIA-format pickle is written in a subprocess with stand-in ``torch_utils`` / ``dnnlib`` / ``training``
modules (tests/inversion/eg3d/nvidia_format.py); this process never imports them. Malicious pickles are
refused with one sentence, run nothing and leave the cache folder empty.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from super_gui.errors import UserInputError
from super_gui.inversion.eg3d import checkpoint
from super_gui.inversion.eg3d.checkpoint import CheckpointError, check_shapes, default_cache_dir, load_checkpoint

from . import nvidia_format

SHARED_TSV = Path(__file__).resolve().parents[3].parent / "shared" / "eg3d" / "g_ema_state_dict_keys.tsv"


@pytest.fixture(scope="module")
def standins(tmp_path_factory) -> Path:
    return nvidia_format.write_standins(tmp_path_factory.mktemp("nvidia_standins"))


@pytest.fixture(scope="module")
def tiny(standins, tmp_path_factory):
    """(pickle path, reference state_dict, reference json, evil pickle, its source, its marker) of the tiny
    network, written in one subprocess; the evil pickle's stored source writes the marker file when run."""
    d = tmp_path_factory.mktemp("tiny")
    pkl, ref, cfg, evil_pkl, marker = d / "network-snapshot-000000.pkl", d / "ref.safetensors", d / "ref.json", d / "evil.pkl", d / "PWNED"
    evil = f"open({str(marker)!r}, 'w').write('stored code ran')\n"
    nvidia_format.run_in_standins(standins, str(pkl), str(ref), str(cfg), evil, str(evil_pkl))
    assert not marker.exists()
    return pkl, load_file(str(ref)), json.loads(cfg.read_text()), evil_pkl, evil, marker


def _bits(t: torch.Tensor) -> bytes:
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def _assert_one_sentence(err: Exception, name: str) -> None:
    msg = str(err)
    assert isinstance(err, UserInputError)
    assert "\n" not in msg and msg.endswith(".") and name in msg, msg
    assert msg.count(". ") == 0, msg


def _no_standins_imported() -> None:
    assert not {m.split(".")[0] for m in sys.modules} & {"torch_utils", "dnnlib", "training"}


def test_nvidia_format_pickle_loads_to_identical_tensors(tiny, tmp_path):
    pkl, ref, ref_cfg = tiny[:3]
    sd, cfg = load_checkpoint(pkl, cache_dir=tmp_path / "cache")
    assert list(sd) == ref_cfg["keys"]  # G_ema.state_dict() names and order, non-persistent buffer left out
    assert "backbone.synthesis.b4.conv1.scratch" not in sd
    for k, t in ref.items():
        assert sd[k].dtype == t.dtype and sd[k].shape == t.shape, k
        assert _bits(sd[k]) == _bits(t), k
    assert cfg["class_name"] == "TriPlaneGenerator"
    assert cfg["init_args"] == ref_cfg["init_args"] and cfg["init_kwargs"] == ref_cfg["init_kwargs"]
    assert cfg["init_kwargs"]["rendering_kwargs"]["density_reg"] == pytest.approx(0.25)  # a numpy scalar in the file
    assert cfg["attributes"]["neural_rendering_resolution"] == ref_cfg["neural_rendering_resolution"] == 16
    assert set(cfg["module_src_sha256"]) >= {"TriPlaneGenerator", "Generator", "FullyConnectedLayer", "SuperresolutionHybrid8XDC"}
    json.dumps(cfg)
    _no_standins_imported()


def test_the_stream_uses_the_globals_nvidia_pickles_use(tiny):
    """The fixture really is in NVIDIA's format: persistent objects, storages through _load_from_bytes."""
    seen = set()

    class Recording(checkpoint._SafeUnpickler):
        def find_class(self, module, name):
            seen.add(f"{module}.{name}")
            return super().find_class(module, name)

    top = Recording(io.BytesIO(tiny[0].read_bytes())).load()
    assert {"torch_utils.persistence._reconstruct_persistent_obj", "torch.storage._load_from_bytes",
            "torch._utils._rebuild_tensor_v2", "dnnlib.util.EasyDict", "training.triplane.OSGDecoder",
            "torch.nn.modules.container.Sequential", "torch.nn.modules.activation.Softplus"} <= seen
    assert set(top) == {"training_set_kwargs", "G", "D", "G_ema", "augment_pipe"}
    _no_standins_imported()


def test_converted_once_then_read_from_the_cache(tiny, tmp_path, monkeypatch):
    pkl, ref, ref_cfg = tiny[:3]
    cache = tmp_path / "cache"
    sd1, cfg1 = load_checkpoint(pkl, cache_dir=cache)
    files = sorted(p.name for p in cache.iterdir())
    assert [Path(f).suffix for f in files] == [".json", ".safetensors"] and files[0].startswith(cfg1["source_sha256"])

    def no_unpickling(*a, **k):
        raise AssertionError("the pickle was read again")

    monkeypatch.setattr(checkpoint, "read_network_pickle", no_unpickling)
    sd2, cfg2 = load_checkpoint(pkl, cache_dir=cache)
    assert list(sd2) == list(sd1) and all(_bits(sd2[k]) == _bits(sd1[k]) for k in sd1)
    assert cfg2 == json.loads(json.dumps(cfg1))
    monkeypatch.undo()
    # A damaged cache entry is converted again.
    (cache / files[1]).write_bytes(b"not safetensors")
    sd3, _ = load_checkpoint(pkl, cache_dir=cache)
    assert all(_bits(sd3[k]) == _bits(sd1[k]) for k in sd1)
    assert sorted(p.name for p in cache.iterdir()) == files  # no temporary files left


def test_default_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "super_gui" / "eg3d"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "super_gui" / "eg3d"


def test_check_shapes_names_the_first_difference(tiny, tmp_path):
    pkl, ref, ref_cfg = tiny[:3]
    sd, _ = load_checkpoint(pkl, cache_dir=tmp_path)
    manifest = {k: tuple(sd[k].shape) for k in ref_cfg["keys"]}
    check_shapes(sd, manifest, source=str(pkl))
    bad = dict(manifest, **{"backbone.mapping.fc0.weight": (16, 99)})
    with pytest.raises(CheckpointError, match=r"backbone\.mapping\.fc0\.weight has shape \[16, 32\], expected \[16, 99\]") as e:
        check_shapes(sd, bad, source=str(pkl))
    _assert_one_sentence(e.value, pkl.name)
    with pytest.raises(CheckpointError, match="no weight decoder.net.4.weight") as e:
        check_shapes(sd, dict(manifest, **{"decoder.net.4.weight": (1,)}), source=str(pkl))
    _assert_one_sentence(e.value, pkl.name)
    with pytest.raises(CheckpointError, match="unexpected weight dataset_label_std") as e:
        check_shapes(sd, {k: v for k, v in manifest.items() if k != "dataset_label_std"}, source=str(pkl))
    _assert_one_sentence(e.value, pkl.name)


def test_stored_source_is_never_run(standins, tiny, tmp_path):
    _, ref, _, pkl, evil, marker = tiny
    assert not marker.exists()
    sd, cfg = load_checkpoint(pkl, cache_dir=tmp_path / "cache")
    assert not marker.exists()  # the source was not run; only its digest is kept
    assert set(cfg["module_src_sha256"].values()) == {__import__("hashlib").sha256(evil.encode()).hexdigest()}
    assert all(_bits(sd[k]) == _bits(ref[k]) for k in ref)
    # Control: NVIDIA's way of loading (plain pickle, the stored source exec'd) does run it.
    (standins / "plain_load.py").write_text(
        f"import pickle\ntry:\n    pickle.load(open({str(pkl)!r}, 'rb'))\nexcept AttributeError:\n    pass  # the evil source defines no class\n")
    nvidia_format.run_in_standins(standins, script="plain_load.py")
    assert marker.read_text() == "stored code ran"
    _no_standins_imported()


# ---- hand-made malicious pickles ----------------------------------------------------------------------------

def _binbytes(b: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(b)) + b


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _call(module: str, name: str, arg: bytes) -> bytes:
    """Protocol-4 ``module.name(arg)`` where ``arg`` is an already encoded object."""
    return _global(module, name) + arg + b"\x85R"


def _unicode(s: str) -> bytes:
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def _in_g_ema(payload: bytes) -> bytes:
    """``{'G_ema': payload}`` as a whole pickle."""
    return b"\x80\x04}" + _unicode("G_ema") + payload + b"s."


class _RunsSystem:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _malicious(marker: Path) -> dict[str, tuple[bytes, str]]:
    shell = f"touch {marker}"
    legacy = io.BytesIO()
    torch.save({"x": _RunsSystem(marker)}, legacy, _use_new_zipfile_serialization=False)
    zipped = io.BytesIO()
    torch.save({"x": _RunsSystem(marker)}, zipped)
    return {
        "posix_system": (b"(" + _global("posix", "system") + b"S'" + shell.encode() + b"'\ntR.", "it refers to posix.system"),
        "os_system_in_g_ema": (_in_g_ema(_call("os", "system", _unicode(shell))), "it refers to os.system"),
        "builtins_eval": (b"\x80\x04" + _unicode("builtins") + _unicode("eval") + b"\x93"
                          + _unicode(f"__import__('os').system({shell!r})") + b"\x85R.", "it refers to builtins.eval"),
        "nested_legacy_storage_payload": (_in_g_ema(_call("torch.storage", "_load_from_bytes", _binbytes(legacy.getvalue()))),
                                          "tensor storage that is not plain tensor data"),
        "nested_zip_storage_payload": (_in_g_ema(_call("torch.storage", "_load_from_bytes", _binbytes(zipped.getvalue()))),
                                       "tensor storage that is not plain tensor data"),
        "nested_plain_pickle_payload": (_in_g_ema(_call("torch.storage", "_load_from_bytes",
                                                        _binbytes(pickle.dumps(_RunsSystem(marker))))),
                                        "tensor storage that is not plain tensor data"),
        "object_dtype": (pickle.dumps({"G_ema": np.dtype(object)}, protocol=4), "numpy dtype of object dtype"),
        "object_array": (pickle.dumps({"G_ema": np.array([_RunsSystem(marker)], dtype=object)}, protocol=4),
                         "it refers to numpy.core.multiarray._reconstruct"),
        "object_scalar": (_in_g_ema(_global("numpy.core.multiarray", "scalar") + b"(" + _global("numpy", "dtype")
                                    + _unicode("O8") + b"\x89\x88\x87R" + _unicode(shell) + b"tR"), "numpy dtype of object dtype"),
        "odd_global_name": (b"\x80\x04" + _unicode("os\nbad. Sentence") + _unicode("system") + b"\x93.",
                            "it refers to os?bad.?Sentence.system"),
        "string_dtype": (pickle.dumps({"G_ema": np.dtype("U8")}, protocol=4), "numpy dtype of dtype str"),
        "persistent_id": (b"\x80\x04" + _unicode("x") + b"Q.", "persistent ids"),
        "no_g_ema": (pickle.dumps({"G": None}), "it has no G_ema network"),
        "bad_persistent_meta": (_in_g_ema(_call("torch_utils.persistence", "_reconstruct_persistent_obj", _unicode("x"))),
                                "persistent object that is not a class instance"),
        "not_a_pickle": (b"PK\x03\x04 this is a zip, not a pickle", "damaged or not a pickle"),
    }


@pytest.mark.parametrize("case", list(_malicious(Path("/nonexistent"))))
def test_malicious_pickles_are_refused_and_leave_no_trace(case, tmp_path):
    marker = tmp_path / "PWNED"
    data, expected = _malicious(marker)[case]
    pkl = tmp_path / f"{case}.pkl"
    pkl.write_bytes(data)
    cache = tmp_path / "cache"
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(pkl, cache_dir=cache)
    _assert_one_sentence(e.value, pkl.name)
    assert expected in str(e.value)
    assert not marker.exists()
    assert not cache.exists() or not any(cache.iterdir())
    _no_standins_imported()


def test_a_missing_file_is_one_sentence(tmp_path):
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(tmp_path / "nope.pkl", cache_dir=tmp_path / "cache")
    _assert_one_sentence(e.value, "nope.pkl")


@pytest.mark.skipif(not SHARED_TSV.is_file(), reason="needs ../shared/eg3d/g_ema_state_dict_keys.tsv (not in a fresh clone)")
def test_full_size_manifest_matches(standins, tmp_path):
    """A full-size NVIDIA-format pickle with the 177 G_ema keys loads to exactly those keys and shapes."""
    manifest = {}
    for line in SHARED_TSV.read_text().splitlines():
        if line.strip():
            key, shape, _ = line.split("\t")
            manifest[key] = tuple(int(x) for x in shape.strip("()").split(",") if x.strip())
    assert len(manifest) == 177
    pkl = tmp_path / "ffhq512-128.pkl"
    nvidia_format.run_in_standins(standins, str(SHARED_TSV), str(pkl), script="build_fullsize.py")
    sd = checkpoint.extract_generator(checkpoint.read_network_pickle(pkl.read_bytes(), pkl.name), pkl.name)[0]
    assert list(sd) == list(manifest)
    check_shapes(sd, manifest, source=str(pkl))
    assert sum(t.numel() for t in sd.values()) == 31_493_185
