"""The pure-PyTorch EG3D generator, renderer and camera (issue 11, item 2), on CPU with a tiny configuration."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from super_gui.inversion.eg3d import camera
from super_gui.inversion.eg3d.generator import FFHQ512_INIT_KWARGS, FFHQ_RENDERING_KWARGS, TriPlaneGenerator
from super_gui.inversion.eg3d.stylegan2 import setup_filter, upsample2d
from super_gui.inversion.eg3d.renderer import (
    PLANE_AXES,
    ImportanceRenderer,
    RaySampler,
    project_onto_planes,
    sample_from_planes,
)

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
MANIFEST = SHARED / "eg3d" / "g_ema_state_dict_keys.tsv"


def tiny_generator(seed: int = 0) -> TriPlaneGenerator:
    torch.manual_seed(seed)
    rendering = dict(FFHQ_RENDERING_KWARGS, depth_resolution=8, depth_resolution_importance=8)
    g = TriPlaneGenerator(
        z_dim=16, c_dim=25, w_dim=16, img_resolution=64, img_channels=3, sr_num_fp16_res=4,
        mapping_kwargs={"num_layers": 2}, rendering_kwargs=rendering, channel_base=256, channel_max=16,
        num_fp16_res=0, conv_clamp=None, backbone_resolution=32, sr_channels=(16, 8),
    )  # fmt: skip
    g.neural_rendering_resolution = 16
    return g.eval()


def test_tiny_generator_end_to_end_shapes_and_gradients() -> None:
    g = tiny_generator()
    z = torch.randn(2, 16)
    c = camera.frontal_c().unsqueeze(0).repeat(2, 1)
    out = g(z, c, noise_mode="const")
    assert set(out) == {"image", "image_raw", "image_depth", "weights_sum"}
    assert out["image"].shape == (2, 3, 64, 64)
    assert out["image_raw"].shape == (2, 3, 16, 16)
    assert out["image_depth"].shape == (2, 1, 16, 16)
    assert out["weights_sum"].shape == (2, 1, 16, 16)
    for v in out.values():
        assert torch.isfinite(v).all()
    depth = out["image_depth"]
    assert (depth >= 2.25).all() and (depth <= 3.3 + 1.05 / 7).all()  # within the jittered sample range
    assert ((out["weights_sum"] >= 0) & (out["weights_sum"] <= 1 + 1e-5)).all()

    # Gradients reach the latent and the camera.
    ws = g.mapping(z[:1], c[:1]).detach().requires_grad_(True)
    c_opt = c[:1].clone().requires_grad_(True)
    res = g.synthesis(ws, c_opt, noise_mode="const")
    loss = res["image"].square().mean() + res["image_depth"].mean() + res["weights_sum"].mean()
    loss.backward()
    assert ws.grad is not None and torch.isfinite(ws.grad).all() and ws.grad.abs().sum() > 0
    assert c_opt.grad is not None and torch.isfinite(c_opt.grad).all() and c_opt.grad[0, :16].abs().sum() > 0
    assert c_opt.grad[0, 16:].abs().sum() > 0  # the focal/principal point too


def test_mapping_broadcasts_num_ws_and_truncates_to_w_avg() -> None:
    g = tiny_generator()
    assert g.num_ws == 2 * int(math.log2(32)) - 2  # b4: 1 conv, b8..b32: 2 each, + the last torgb
    z = torch.randn(3, 16)
    c = camera.frontal_c().unsqueeze(0).repeat(3, 1)
    ws = g.mapping(z, c)
    assert ws.shape == (3, g.num_ws, 16)
    g.backbone.mapping.w_avg.copy_(torch.randn(16))
    ws0 = g.mapping(z, c, truncation_psi=0.0)
    torch.testing.assert_close(ws0, g.backbone.mapping.w_avg.expand_as(ws0))


def test_upsample2d_keeps_constants_and_doubles_size() -> None:
    x = torch.full((1, 2, 5, 5), 3.0)
    y = upsample2d(x, setup_filter([1, 3, 3, 1]))
    assert y.shape == (1, 2, 10, 10)
    torch.testing.assert_close(y[:, :, 2:-2, 2:-2], torch.full((1, 2, 6, 6), 3.0))


def test_plane_axes_quirk_xy_xz_zx() -> None:
    """The released planes are XY, XZ and ZX (not YZ); checkpoints depend on it (NOTES §2, eg3d#67)."""
    p = torch.tensor([[[0.1, 0.2, 0.3]]])
    uv = project_onto_planes(PLANE_AXES, p).reshape(3, 2)
    torch.testing.assert_close(uv, torch.tensor([[0.1, 0.2], [0.1, 0.3], [0.3, 0.1]]))
    assert torch.equal(ImportanceRenderer().plane_axes, PLANE_AXES)
    # Sampling: plane k's channel 0 encodes its own (u) coordinate, channel 1 its (v); bilinear is exact on ramps.
    res = 64
    ramp = (torch.arange(res, dtype=torch.float32) + 0.5) / res * 2 - 1  # pixel-centre coordinates in [-1, 1]
    u = ramp.view(1, res).expand(res, res)
    v = ramp.view(res, 1).expand(res, res)
    planes = torch.stack([u, v]).unsqueeze(0).unsqueeze(0).repeat(1, 3, 1, 1, 1)  # [1, 3, 2, H, W]
    pts = torch.tensor([[[0.1, -0.2, 0.15]]])  # box_warp 1: coordinates are scaled by 2
    feats = sample_from_planes(PLANE_AXES, planes, pts, box_warp=1.0)[0, :, 0]
    torch.testing.assert_close(feats, 2 * torch.tensor([[0.1, -0.2], [0.1, 0.15], [0.15, 0.1]]), atol=1e-5, rtol=0)


def test_depth_equals_ray_distance_on_an_analytic_sphere() -> None:
    torch.manual_seed(1)
    r, dist, res = 0.3, 2.7, 32
    c = camera.frontal_c()
    cam2world, k = camera.split_c(c)
    origins, dirs = RaySampler()(cam2world[None], k[None], res)

    def sphere(points: torch.Tensor, _dirs: torch.Tensor) -> dict[str, torch.Tensor]:
        inside = points.norm(dim=-1, keepdim=True) < r
        sigma = torch.where(inside, torch.full_like(inside, 200.0, dtype=points.dtype), torch.full_like(inside, -30.0, dtype=points.dtype))
        return {"rgb": torch.ones_like(points), "sigma": sigma}

    options = dict(FFHQ_RENDERING_KWARGS)  # 48 + 48 samples over [2.25, 3.3]
    _, depth, opacity = ImportanceRenderer().render_field(sphere, origins, dirs, options)
    depth, opacity = depth.reshape(res, res), opacity.reshape(res, res)
    spacing = (3.3 - 2.25) / 47
    # The central rays hit the sphere head-on at distance 2.7 - r (camera at (0, 0, 2.7)).
    centre = depth[res // 2 - 1 : res // 2 + 1, res // 2 - 1 : res // 2 + 1]
    assert (centre - (dist - r)).abs().max() < spacing
    # Every ray: analytic hit distance t = b - sqrt(b^2 - |o|^2 + r^2) with b = -o.d.
    o, d = origins[0], dirs[0]
    b = -(o * d).sum(-1)
    disc = b * b - (o * o).sum(-1) + r * r
    hit = (disc > 0.02).reshape(res, res)  # clearly on the sphere
    miss = (disc < -0.02).reshape(res, res)  # clearly off it
    assert hit.sum() > 20 and miss.sum() > 20
    t = (b - disc.clamp_min(0).sqrt()).reshape(res, res)
    assert (depth[hit] - t[hit]).abs().max() < spacing
    assert opacity[hit].min() > 0.99
    assert opacity[miss].max() < 1e-3


def test_ray_sampler_pixel_centres_and_focal() -> None:
    c = camera.frontal_c()
    cam2world, k = camera.split_c(c)
    origins, dirs = RaySampler()(cam2world[None], k[None], 2)
    torch.testing.assert_close(origins[0], torch.tensor([[0.0, 0.0, 2.7]]).expand(4, 3))
    # Pixel (0, 0) is up-left of centre: image x right = world +x, image y down = world -y; looking along -z.
    x = 0.25 / camera.FFHQ_FOCAL
    expected = torch.nn.functional.normalize(torch.tensor([-x, x, -1.0]), dim=0)
    torch.testing.assert_close(dirs[0, 0], expected, atol=1e-6, rtol=0)


def test_camera_label_layout_and_projection() -> None:
    c = camera.frontal_c()
    assert c.shape == (25,)
    cam2world, k = camera.split_c(c)
    torch.testing.assert_close(cam2world[:3, 3], torch.tensor([0.0, 0.0, 2.7]))
    torch.testing.assert_close(cam2world[:3, :3], torch.diag(torch.tensor([1.0, -1.0, -1.0])), atol=1e-6, rtol=0)
    assert k[0, 0] == pytest.approx(4.2647, abs=1e-4) and k[0, 2] == 0.5 and k[1, 2] == 0.5
    assert camera.fov_from_focal(camera.FFHQ_FOCAL) == pytest.approx(18.837, abs=0.01)  # EG3D rounds sqrt 2 to 1.414
    assert camera.focal_from_fov(camera.fov_from_focal(3.0)) == pytest.approx(3.0)
    # The look-at pivot projects to the image centre; a point to world +x lands right of centre, +y above it.
    uv = camera.project(c, torch.tensor([[0.0, 0.0, 0.2], [0.1, 0.0, 0.0], [0.0, 0.1, 0.0]]))
    torch.testing.assert_close(uv[0], torch.tensor([0.5, 0.5]))
    assert uv[1, 0] > 0.5 and uv[2, 1] < 0.5
    # Orbit: +yaw puts the camera toward +x at the same radius.
    m = camera.orbit_camera(yaw=0.3)
    assert m[0, 3] > 0 and m[:3, 3].norm() == pytest.approx(2.7, abs=1e-5)


def test_camera_from_opencv_face_pose_round_trip() -> None:
    # A frontal face 1 m in front of our camera: EG3D's frontal camera at radius 1 m / 0.37 m = 2.7 units.
    eye = torch.eye(3)
    m = camera.cam2world_from_face_pose(eye, torch.tensor([0.0, 0.0, 1.0]))
    torch.testing.assert_close(m, camera.orbit_camera(target=(0.0, 0.0, 0.0)), atol=1e-5, rtol=0)
    # A yawed, shifted face: world points map back to the camera-space points they came from.
    yaw = 0.4
    rot = torch.tensor([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
    o = torch.tensor([0.05, -0.02, 0.6])
    m = camera.cam2world_from_face_pose(rot, o)
    pw = torch.tensor([[0.1, 0.2, -0.3], [0.0, 0.0, 0.0]])
    pc = camera.world_to_camera_m(m, pw)
    a = rot @ torch.diag(torch.tensor([1.0, -1.0, -1.0]))
    torch.testing.assert_close(pc, (pw * camera.METRES_PER_UNIT) @ a.T + o, atol=1e-5, rtol=0)
    k = camera.normalised_intrinsics_from_pixels(800.0, 800.0, 256.0, 256.0, 512, 512)
    torch.testing.assert_close(k, camera.intrinsics(800 / 512), atol=1e-6, rtol=0)


@pytest.mark.skipif(not MANIFEST.is_file(), reason="needs ../shared/eg3d/g_ema_state_dict_keys.tsv (not shipped)")
def test_full_size_configuration_matches_the_177_key_manifest() -> None:
    expected = []
    for line in MANIFEST.read_text().splitlines():
        if line.strip():
            name, shape, _dtype = line.split("\t")
            expected.append((name, tuple(int(s) for s in shape.strip("()").split(",") if s.strip())))
    assert len(expected) == 177
    with torch.device("meta"):
        g = TriPlaneGenerator(**FFHQ512_INIT_KWARGS)
    got = [(k, tuple(v.shape)) for k, v in g.state_dict().items()]
    assert got == expected  # same keys, same shapes, same order
    assert g.num_ws == 14


# A fingerprint of ../shared/eg3d/g_ema_state_dict_keys.tsv (NVIDIA's ffhq512-128 G_ema: 177 keys, 31,493,185
# values): sha256 of its "name<TAB>[shape]<TAB>dtype" lines in order. The file is not part of the project, so CI on
# a fresh clone checks the full-size configuration against this; where the file is present it is checked too.
MANIFEST_SHA256 = "7f17b664d169e5af686a8eeef0a6adb7df6493f9750ac690fcb4b3addfebd7e1"


def _fingerprint(rows) -> str:
    import hashlib

    return hashlib.sha256("\n".join(f"{n}\t{list(s)}\t{d}" for n, s, d in rows).encode()).hexdigest()


def test_full_size_configuration_matches_the_manifest_fingerprint() -> None:
    with torch.device("meta"):
        g = TriPlaneGenerator(**FFHQ512_INIT_KWARGS)
    rows = [(k, tuple(v.shape), str(v.dtype)) for k, v in g.state_dict().items()]
    assert len(rows) == 177 and sum(math.prod(s) for _, s, _ in rows) == 31_493_185
    assert _fingerprint(rows) == MANIFEST_SHA256


def test_the_fingerprint_is_the_manifest_file() -> None:
    if not MANIFEST.is_file():
        pytest.skip("../shared/eg3d/g_ema_state_dict_keys.tsv is not here (a fresh clone); the fingerprint test covers it")
    rows = []
    for line in MANIFEST.read_text().splitlines():
        if line.strip():
            name, shape, dtype = line.split("\t")
            rows.append((name, tuple(int(s) for s in shape.strip("()").split(",") if s.strip()), dtype))
    assert _fingerprint(rows) == MANIFEST_SHA256
