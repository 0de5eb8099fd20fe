"""EG3D's 25-number camera label and its link to super_gui's OpenCV camera (DESIGN.md §3).

What it is: pure maths on torch tensors. ``c = [cam2world (4x4, row-major, 16), K (3x3 normalised, 9)]``
(Chan et al. 2022; ``../shared/eg3d/NOTES.md`` §2). cam2world uses OpenCV camera axes (x right, y down,
z forward); EG3D's world has y up, the head near the origin and the frontal camera at (0, 0, 2.7) looking at
(0, 0, 0.2). K is normalised by the image size: [[f, 0, cx], [0, f, cy], [0, 0, 1]], FFHQ default f = 4.2647,
cx = cy = 0.5.

What it must not do: read files, touch images (the crop to EG3D's 512 px frame lives elsewhere), import Qt, the
renderer or the application layer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

# EG3D's FFHQ camera (NOTES §2/§4: preprocess_face_cameras.py): focal 2985.29 px for a 700 px crop.
FFHQ_FOCAL = 2985.29 / 700.0  # 4.2647: EG3D's "18.837 degree" (diagonal) field of view
FFHQ_PRINCIPAL = 0.5
FFHQ_RADIUS = 2.7  # avg_camera_radius
FFHQ_PIVOT = (0.0, 0.0, 0.2)  # avg_camera_pivot (what the frontal camera looks at)
# Scale: Deep3DFaceRecon's BFM units are decimetres (eye corners at +-0.31) and EG3D scales them by 0.27
# (3dface2idr_mat.py, NOTES §4), so one EG3D world unit is about 0.1 / 0.27 = 0.37 m (2.7 units ~ 1 m).
METRES_PER_UNIT = 0.1 / 0.27

# EG3D's world axes expressed in a face frame whose columns are (face right, face down, face backward), the
# convention of super_gui.core.camera: x right, y up (= -down), z out of the face toward a frontal camera.
_FACE_TO_EG3D = torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64))


def intrinsics(
    focal: float | torch.Tensor = FFHQ_FOCAL, cx: float = FFHQ_PRINCIPAL, cy: float = FFHQ_PRINCIPAL
) -> torch.Tensor:
    """The normalised 3x3 intrinsics (focal and principal point in units of the image side)."""
    f = torch.as_tensor(focal, dtype=torch.float32)
    z = torch.zeros_like(f)
    one = torch.ones_like(f)
    rows = [torch.stack([f, z, z + cx]), torch.stack([z, f, z + cy]), torch.stack([z, z, one])]
    return torch.stack(rows)


def focal_from_fov(fov_degrees: float) -> float:
    """Normalised focal from EG3D's field of view, which is the *diagonal* one: f = 1 / (sqrt(2) tan(fov / 2)).

    (EG3D's FOV_to_intrinsics convention: the FFHQ focal 4.2647 is its "18.837 degrees"; the horizontal field
    of view is 2 atan(0.5 / f) = 13.37 degrees.)
    """
    return 1.0 / (math.sqrt(2.0) * math.tan(math.radians(fov_degrees) / 2))


def fov_from_focal(focal: float) -> float:
    """EG3D's diagonal field of view (degrees) of a normalised focal; see :func:`focal_from_fov`."""
    return math.degrees(2 * math.atan(1.0 / (math.sqrt(2.0) * focal)))


def normalised_intrinsics_from_pixels(
    fx_px: float, fy_px: float, cx_px: float, cy_px: float, width: int, height: int
) -> torch.Tensor:
    """Pixel intrinsics of a width x height image -> EG3D's normalised 3x3 (fx/W, fy/H, cx/W, cy/H)."""
    k = torch.zeros(3, 3)
    k[0, 0], k[1, 1] = fx_px / width, fy_px / height
    k[0, 2], k[1, 2], k[2, 2] = cx_px / width, cy_px / height, 1.0
    return k


def make_c(cam2world: torch.Tensor, intr: torch.Tensor | None = None) -> torch.Tensor:
    """[..., 4, 4] cam2world and [..., 3, 3] (or shared [3, 3]) normalised intrinsics -> [..., 25] labels."""
    if intr is None:
        intr = intrinsics()
    batch = cam2world.shape[:-2]
    intr = intr.to(cam2world).expand(*batch, 3, 3)
    return torch.cat([cam2world.reshape(*batch, 16), intr.reshape(*batch, 9)], dim=-1)


def split_c(c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[..., 25] -> (cam2world [..., 4, 4], intrinsics [..., 3, 3])."""
    return c[..., :16].reshape(*c.shape[:-1], 4, 4), c[..., 16:25].reshape(*c.shape[:-1], 3, 3)


def look_at(origin: Sequence[float] | torch.Tensor, target: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """OpenCV cam2world [4, 4] at ``origin`` looking at ``target``, no roll, world y up (EG3D's convention)."""
    o = torch.as_tensor(origin, dtype=torch.float32)
    forward = torch.nn.functional.normalize(torch.as_tensor(target, dtype=torch.float32) - o, dim=0)
    up = torch.tensor([0.0, 1.0, 0.0])
    right = -torch.nn.functional.normalize(torch.linalg.cross(up, forward), dim=0)
    down = torch.nn.functional.normalize(torch.linalg.cross(forward, right), dim=0)  # camera +y (image down)
    m = torch.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = right, down, forward, o
    return m


def orbit_camera(
    yaw: float = 0.0, pitch: float = 0.0, radius: float = FFHQ_RADIUS, target: Sequence[float] = FFHQ_PIVOT
) -> torch.Tensor:
    """EG3D's LookAtPoseSampler without noise: camera on a sphere of ``radius`` about the world origin.

    ``yaw``/``pitch`` (radians) are offsets from the frontal view (EG3D's horizontal/vertical means of pi/2):
    +yaw moves the camera toward +x, +pitch moves it up (+y). It looks at ``target``.
    """
    theta = math.pi / 2 + yaw
    v = min(max((math.pi / 2 - pitch) / math.pi, 1e-5 / math.pi), 1 - 1e-5 / math.pi)
    phi = math.acos(1 - 2 * v)
    origin = [
        radius * math.sin(phi) * math.cos(math.pi - theta),
        radius * math.cos(phi),
        radius * math.sin(phi) * math.sin(math.pi - theta),
    ]
    return look_at(origin, target)


def frontal_c(focal: float = FFHQ_FOCAL) -> torch.Tensor:
    """[25]: the frontal FFHQ camera that EG3D's mapping network is conditioned on (NOTES §2)."""
    return make_c(orbit_camera(), intrinsics(focal))


def cam2world_from_face_pose(
    face_axes_cam: torch.Tensor, head_origin_cam_m: torch.Tensor, metres_per_unit: float = METRES_PER_UNIT
) -> torch.Tensor:
    """EG3D cam2world from a head pose measured in our OpenCV camera (metres).

    ``face_axes_cam`` [3, 3]: columns are the face's right, down and backward axes in camera space (the head-pose
    convention of :mod:`super_gui.core.camera`); ``head_origin_cam_m`` [3]: where EG3D's world origin (the head
    centre) lies in camera space, in metres. A camera-space point is p_cam = A (s p_world) + o with
    A = face_axes @ diag(1, -1, -1) and s = metres_per_unit; cam2world is its inverse.
    """
    a = face_axes_cam.to(torch.float64) @ _FACE_TO_EG3D
    o = torch.as_tensor(head_origin_cam_m, dtype=torch.float64)
    m = torch.eye(4, dtype=torch.float64)
    m[:3, :3] = a.T
    m[:3, 3] = -(a.T @ o) / metres_per_unit
    return m.to(torch.float32)


def world_to_camera_m(cam2world: torch.Tensor, points_world: torch.Tensor, metres_per_unit: float = METRES_PER_UNIT) -> torch.Tensor:
    """EG3D world points [..., 3] -> OpenCV camera-space points in metres (the inverse of the map above)."""
    r, t = cam2world[:3, :3], cam2world[:3, 3]
    return ((points_world - t) @ r) * metres_per_unit


def project(c: torch.Tensor, points_world: torch.Tensor) -> torch.Tensor:
    """[..., 3] EG3D world points -> normalised image coordinates (u, v) in [0, 1] under the label ``c`` [25]."""
    cam2world, k = split_c(c)
    p = (points_world - cam2world[:3, 3]) @ cam2world[:3, :3]
    uv = p @ k.T
    return uv[..., :2] / uv[..., 2:3]
