"""From an NVIDIA-format pickle to a working generator (issue 11: "wiring checkpoint -> generator").

The fixture pickles OUR tiny generator, mirrored into stand-in classes with EG3D's class names, in a subprocess
(tests/inversion/eg3d/nvidia_format.py, MIRROR_SCRIPT) and saves its outputs for three cameras; this process
never imports the stand-ins. Loading must give the same tensors, bit for bit, and the same outputs, bit for bit:
same code, same weights, same inputs and the same renderer jitter (seeded), computed on one thread in both
processes so that no reduction is split differently.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from super_gui.inversion.eg3d import camera, checkpoint
from super_gui.inversion.eg3d.checkpoint import CheckpointError, load_checkpoint
from super_gui.inversion.eg3d.loader import (
    CONFIGS,
    FFHQ512_INIT_KWARGS,
    TINY_INIT_KWARGS,
    build_generator,
    load_generator,
    random_generator,
)

from . import nvidia_format
from .test_checkpoint import _assert_one_sentence, _no_standins_imported

SHARED_TSV = Path(__file__).resolve().parents[3].parent / "shared" / "eg3d" / "g_ema_state_dict_keys.tsv"
OUTPUTS = ("image", "image_raw", "image_depth", "weights_sum")
SEED = 3


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory):
    """(pickle path, reference tensors) from one subprocess: ``state.<key>`` (our original's state_dict), ``ws``,
    ``c<i>`` and ``<output><i>`` for the cameras of nvidia_format.MIRROR_YAWS."""
    d = tmp_path_factory.mktemp("mirror")
    standins = nvidia_format.write_standins(d / "standins")
    pkl, ref = d / "network-snapshot-tiny.pkl", d / "ref.safetensors"
    nvidia_format.run_in_standins(standins, str(pkl), str(ref), str(SEED), script="build_mirror.py")
    return pkl, load_file(str(ref))


@contextmanager
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _render(g, ref) -> list[dict[str, torch.Tensor]]:
    """The outputs for the reference cameras, with the renderer's jitter seeded as the fixture seeded it."""
    outs = []
    with _one_thread(), torch.random.fork_rng(devices=[]), torch.no_grad():
        for i in range(len(nvidia_format.MIRROR_YAWS)):
            torch.manual_seed(nvidia_format.MIRROR_RENDER_SEED + i)
            outs.append(g.synthesis(ref["ws"], ref[f"c{i}"], noise_mode="const"))
    return outs


def _assert_identical_outputs(outs, ref) -> None:
    for i, out in enumerate(outs):
        assert set(out) == set(OUTPUTS)
        for k in OUTPUTS:
            want = ref[f"{k}{i}"]
            assert out[k].shape == want.shape and torch.isfinite(out[k]).all(), (k, i)
            assert torch.equal(out[k], want), f"camera {i} {k}: max abs diff {(out[k] - want).abs().max().item()}"


def _ref_state(ref) -> dict[str, torch.Tensor]:
    return {k[len("state."):]: v for k, v in ref.items() if k.startswith("state.")}


def test_nvidia_pickle_of_the_tiny_generator_loads_to_identical_tensors_and_outputs(mirrored, tmp_path):
    pkl, ref = mirrored
    g, cfg = load_generator(pkl, cache_dir=tmp_path / "cache")
    state, want = g.state_dict(), _ref_state(ref)
    assert sorted(state) == sorted(want)
    assert list(state) == cfg["state_dict_keys"]  # the pickle's G_ema.state_dict() order is ours too
    for k, t in want.items():
        assert state[k].dtype == t.dtype and torch.equal(state[k], t), k
    assert cfg["class_name"] == "TriPlaneGenerator" and cfg["init_kwargs"] == TINY_INIT_KWARGS
    assert g.neural_rendering_resolution == CONFIGS["tiny"]["neural_rendering_resolution"] == 16
    assert not g.training and not any(p.requires_grad for p in g.parameters())
    outs = _render(g, ref)
    _assert_identical_outputs(outs, ref)
    # The three cameras see different things (the comparison is not of three copies of one picture).
    assert not torch.equal(outs[0]["image"], outs[1]["image"]) and not torch.equal(outs[1]["image"], outs[2]["image"])
    _no_standins_imported()


def test_a_second_open_reads_the_cache_and_gives_the_same_outputs(mirrored, tmp_path, monkeypatch):
    pkl, ref = mirrored
    cache = tmp_path / "cache"
    load_generator(pkl, cache_dir=cache)

    def no_unpickling(*a, **k):
        raise AssertionError("the pickle was read again")

    monkeypatch.setattr(checkpoint, "read_network_pickle", no_unpickling)
    g, cfg = load_generator(pkl, cache_dir=cache)
    assert g.neural_rendering_resolution == 16
    _assert_identical_outputs(_render(g, ref), ref)
    _no_standins_imported()


def _refused(state_dict, cfg, pkl, match: str) -> None:
    with pytest.raises(CheckpointError, match=match) as e:
        build_generator(state_dict, cfg, source=pkl)
    _assert_one_sentence(e.value, pkl.name)


def test_unusable_checkpoints_are_refused_with_one_sentence(mirrored, tmp_path):
    pkl, _ = mirrored
    sd, cfg = load_checkpoint(pkl, cache_dir=tmp_path / "cache")

    def changed(**init_kwargs):
        c = copy.deepcopy(cfg)
        c["init_kwargs"].update(init_kwargs)
        return c

    two_x = dict(TINY_INIT_KWARGS["rendering_kwargs"], superresolution_module="training.superresolution.SuperresolutionHybrid2X")
    _refused(sd, changed(rendering_kwargs=two_x), pkl, "super-resolution module SuperresolutionHybrid2X is not supported")
    _refused(sd, dict(cfg, module_src_sha256=dict(cfg["module_src_sha256"], SuperresolutionHybrid4X="0")), pkl,
             "SuperresolutionHybrid4X is not supported")
    _refused(sd, dict(cfg, class_name="Generator"), pkl, "its generator is a Generator, not a TriPlaneGenerator")
    _refused(sd, changed(channel_max=8), pkl, r"backbone\.synthesis\.b4\.const has shape \[16, 4, 4\], expected \[8, 4, 4\]")
    bad = dict(sd, **{"decoder.net.0.weight": sd["decoder.net.0.weight"][:, :-1]})
    _refused(bad, cfg, pkl, r"decoder\.net\.0\.weight has shape \[64, 31\], expected \[64, 32\]")
    _refused({k: v for k, v in sd.items() if k != "backbone.mapping.w_avg"}, cfg, pkl, "has no weight backbone.mapping.w_avg")
    _refused(dict(sd, extra=torch.zeros(1)), cfg, pkl, "unexpected weight extra")
    _refused(dict(sd, **{"backbone.mapping.w_avg": sd["backbone.mapping.w_avg"].int()}), cfg, pkl, "has dtype torch.int32")
    _refused(sd, changed(sr_channels=[16]), pkl, r"constructor arguments do not fit super_gui's generator \(ValueError\)")
    _refused(sd, changed(mapping_kwargs={"num_layers": 2, "bogus": 1}), pkl, r"do not fit .* \(TypeError\)")
    no_z = copy.deepcopy(cfg)
    del no_z["init_kwargs"]["z_dim"]
    _refused(sd, no_z, pkl, "constructor argument z_dim is missing")
    _refused(sd, dict(cfg, attributes={"neural_rendering_resolution": "128"}), pkl, "neural rendering resolution")
    _no_standins_imported()


def test_what_a_checkpoint_may_lack_or_add(mirrored, tmp_path):
    pkl, ref = mirrored
    sd, cfg = load_checkpoint(pkl, cache_dir=tmp_path / "cache")
    # dataset_label_std is registered by EG3D's training loop, not its constructor: it may be absent.
    g = build_generator({k: v for k, v in sd.items() if k != "dataset_label_std"}, cfg, source=pkl)
    assert torch.equal(g.dataset_label_std, torch.ones(25))
    # Constructor arguments our generator does not know are dropped; positional ones follow NVIDIA's order.
    c = copy.deepcopy(cfg)
    kw = c["init_kwargs"]
    c["init_args"] = [kw.pop(k) for k in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")]
    kw["some_future_option"] = True
    c["attributes"] = {}  # no pickled resolution: EG3D's constructor default
    g = build_generator(sd, c, source=pkl)
    assert g.neural_rendering_resolution == 64
    assert all(torch.equal(a, b) for a, b in zip(g.state_dict().values(), sd.values()))
    with pytest.raises(CheckpointError, match="z_dim is given twice"):
        build_generator(sd, dict(c, init_kwargs=dict(kw, z_dim=16)), source=pkl)


def test_random_generator_is_seeded_and_leaves_the_global_random_state_alone():
    before = torch.random.get_rng_state()
    a, b, other = random_generator("tiny", 5), random_generator("tiny", 5), random_generator("tiny", 6)
    assert torch.equal(torch.random.get_rng_state(), before)
    sa, sb, so = a.state_dict(), b.state_dict(), other.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["backbone.synthesis.b4.const"], so["backbone.synthesis.b4.const"])
    assert a.neural_rendering_resolution == 16 and not a.training
    # w_avg is the middle of the mapped w, so psi = 0 gives it and truncation moves w toward it.
    w_avg = a.backbone.mapping.w_avg
    assert w_avg.abs().sum() > 0
    z, c = torch.randn(4, 16, generator=torch.Generator().manual_seed(0)), camera.frontal_c().expand(4, -1)
    w1, w05 = a.mapping(z, c), a.mapping(z, c, truncation_psi=0.5)
    torch.testing.assert_close(w05, w_avg.lerp(w1, 0.5))
    assert (w05 - w_avg).norm() < (w1 - w_avg).norm()
    with pytest.raises(ValueError, match="unknown EG3D configuration"):
        random_generator("ffhq1024")


@pytest.mark.skipif(not SHARED_TSV.is_file(), reason="needs ../shared/eg3d/g_ema_state_dict_keys.tsv (not in a fresh clone)")
def test_full_size_random_generator_has_the_177_manifest_keys():
    manifest = []
    for line in SHARED_TSV.read_text().splitlines():
        if line.strip():
            key, shape, _ = line.split("\t")
            manifest.append((key, tuple(int(x) for x in shape.strip("()").split(",") if x.strip())))
    assert len(manifest) == 177
    g = random_generator("ffhq512-128")
    assert [(k, tuple(v.shape)) for k, v in g.state_dict().items()] == manifest
    assert g.neural_rendering_resolution == 128 and g.num_ws == 14
    assert CONFIGS["ffhq512-128"]["init_kwargs"] is FFHQ512_INIT_KWARGS
    # The full-size config read back from a checkpoint builds the same tree.
    cfg = {"class_name": "TriPlaneGenerator", "init_args": [], "init_kwargs": FFHQ512_INIT_KWARGS,
           "attributes": {"neural_rendering_resolution": 128}}
    sd = g.state_dict()
    del g
    g2 = build_generator(sd, cfg, source="ffhq512-128.pkl")
    assert g2.neural_rendering_resolution == 128
    assert all(torch.equal(a, b) for a, b in zip(g2.state_dict().values(), sd.values()))
