"""The 3D view of a prepared photo: its depth-induced mesh seen from an orbiting camera, textured with the
photo, shaded as clay or as a wireframe, with the capture camera and the virtual camera drawn as frusta.

Drawn into an offscreen framebuffer and read back as an array, so the editor can show it as an image on
any Qt platform (the offscreen one cannot host a GL widget) from the render thread that owns the context.
World space is the capture camera's (metres, OpenCV axes: x right, y down, z forward). Owns its GL objects
(``release()``); GL calls on the context's thread only. No Qt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import moderngl
import numpy as np

from super_gui.core.camera import Intrinsics, VirtualCamera
from super_gui.core.mesh import PersonMesh
from super_gui.render.context import bind_home_framebuffer, release_targets
from super_gui.render.scene import SHADERS

MODES = ("textured", "shaded", "wireframe")
VIEWER_FOV_DEG = 40.0
BACKGROUND = (0.13, 0.13, 0.14)
CAPTURE_COLOUR = (0.92, 0.92, 0.92, 1.0)
VIRTUAL_COLOUR = (1.0, 0.69, 0.0, 1.0)
WIRE_COLOUR = (0.55, 0.78, 1.0, 1.0)
LIGHT = tuple((np.array([-0.4, -0.6, -1.0]) / np.linalg.norm([-0.4, -0.6, -1.0])).tolist())  # towards the light


@dataclass(frozen=True)
class Orbit:
    """Where the viewer stands: turned ``yaw_deg`` about the head (+ = to the image's left) and raised
    ``pitch_deg`` from the capture camera's side, at ``distance_scale`` times the distance that fits
    the person in view."""

    yaw_deg: float = -50.0
    pitch_deg: float = 15.0
    distance_scale: float = 1.0


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(4, 4) world -> viewer camera (OpenCV axes) for a camera at ``eye`` looking at ``target``, upright."""
    z = target - eye
    z = z / np.linalg.norm(z)
    x = np.cross(np.array([0.0, 1.0, 0.0]), z)
    x = x / max(np.linalg.norm(x), 1e-9)
    y = np.cross(z, x)
    m = np.eye(4)
    m[:3, :3] = np.stack([x, y, z])
    m[:3, 3] = -m[:3, :3] @ eye
    return m


def projection(focal_px: float, width: int, height: int, near: float, far: float) -> np.ndarray:
    """(4, 4) OpenCV camera space (principal point at the centre) -> GL clip space (y up)."""
    return np.array([
        [2.0 * focal_px / width, 0.0, 0.0, 0.0],
        [0.0, -2.0 * focal_px / height, 0.0, 0.0],
        [0.0, 0.0, (far + near) / (far - near), -2.0 * far * near / (far - near)],
        [0.0, 0.0, 1.0, 0.0],
    ])


def mesh_edges(triangles: np.ndarray) -> np.ndarray:
    """(m, 2) int32: every edge of ``triangles`` once (an edge two triangles share is one line, not two)."""
    t = np.asarray(triangles, np.int64)
    e = np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]])
    e.sort(axis=1)
    n = int(e.max()) + 1 if len(e) else 1
    key = np.unique(e[:, 0] * n + e[:, 1])
    return np.stack([key // n, key % n], axis=1).astype(np.int32)


def frustum_lines(apex: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """(16, 3) line-segment end points: apex to the four corners, and the corners' rectangle."""
    segs = []
    for i in range(4):
        segs += [apex, corners[i], corners[i], corners[(i + 1) % 4]]
    return np.array(segs, dtype=np.float64)


class MeshViewScene:
    """GPU side of the 3D view of one prepared photo."""

    def __init__(self, ctx: moderngl.Context, mesh: PersonMesh, texture_rgb8: np.ndarray, texture_origin: tuple[int, int],
                 intrinsics: Intrinsics, eye_midpoint: np.ndarray):
        self.ctx = ctx
        self.intrinsics = intrinsics
        self.eye_midpoint = np.asarray(eye_midpoint, dtype=np.float64)
        th, tw = texture_rgb8.shape[:2]
        uv = (mesh.source_px - np.asarray(texture_origin, np.float32) + 0.5) / np.array([tw, th], np.float32)
        data = np.concatenate([mesh.positions, mesh.normals, uv, mesh.head_weight[:, None]], axis=1).astype("f4")
        tris = mesh.triangles[~mesh.torn].astype("i4")
        self._tris = tris  # the wireframe's edges are found from them when first drawn
        vert, frag = (SHADERS / "mesh_view.vert").read_text(), (SHADERS / "mesh_view.frag").read_text()
        version, _, rest = frag.partition("\n")
        # one program per filled mode (mesh_view.frag's MODE): software GL runs both sides of a uniform's branch
        self._programs = {mode: ctx.program(vertex_shader=vert, fragment_shader=f"{version}\n#define MODE {i}\n{rest}")
                          for i, mode in enumerate(MODES[:2])}
        self.line_program = ctx.program(vertex_shader=(SHADERS / "lines.vert").read_text(),
                                        fragment_shader=(SHADERS / "lines.frag").read_text())
        self._vbo = ctx.buffer(data.tobytes())
        self._ibo = ctx.buffer(tris.tobytes())
        self._vaos = {mode: ctx.vertex_array(p, [(self._vbo, "3f 3f 2f 1f", "in_pos", "in_normal", "in_uv", "in_head")
                                                 if "in_uv" in p else (self._vbo, "3f 3f 2x4 1f", "in_pos", "in_normal", "in_head")],
                                             self._ibo)
                      for mode, p in self._programs.items()}  # (clay has no use for the texture's coordinates)
        self._line_vbo = ctx.buffer(reserve=2 * 16 * 4 * 4)  # both frusta (_write_frusta)
        self._frusta_for: tuple | None = None
        self.line_vao = ctx.vertex_array(self.line_program, [(self._line_vbo, "3f 1f", "in_pos", "in_head")])
        self._edge_ibo = self._edge_vao = None  # the wireframe: each edge once, as GL_LINES
        self.texture = ctx.texture((tw, th), 3, np.ascontiguousarray(texture_rgb8).tobytes(), alignment=1)
        self.texture.build_mipmaps()
        self.texture.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
        lo, hi = mesh.positions.min(axis=0), mesh.positions.max(axis=0)
        self.extent_m = float(max(hi - lo)) if mesh.n_vertices else 0.5
        self._targets: dict[tuple[int, int], tuple] = {}

    def _framebuffer(self, w: int, h: int):
        if (w, h) not in self._targets:
            for objs in self._targets.values():
                bind_home_framebuffer(self.ctx)
                for o in objs:
                    o.release()
            self._targets.clear()
            colour, depth = self.ctx.renderbuffer((w, h), 4), self.ctx.depth_renderbuffer((w, h))
            self._targets[(w, h)] = (self.ctx.framebuffer([colour], depth), colour, depth)
        return self._targets[(w, h)][0]

    def default_distance(self) -> float:
        return 1.5 * self.extent_m / (2.0 * math.tan(math.radians(VIEWER_FOV_DEG / 2)))

    def view_proj(self, size: tuple[int, int], orbit: Orbit) -> np.ndarray:
        w, h = size
        e = self.eye_midpoint
        target = np.array([e[0], e[1] + 0.04, 0.6 * e[2]])  # between the camera and the head: both in view
        yaw, pitch = math.radians(orbit.yaw_deg), math.radians(orbit.pitch_deg)
        direction = np.array([-math.sin(yaw) * math.cos(pitch), -math.sin(pitch), -math.cos(yaw) * math.cos(pitch)])
        r = orbit.distance_scale * self.default_distance()
        eye = target + r * direction
        f = 0.5 * h / math.tan(math.radians(VIEWER_FOV_DEG / 2))
        return projection(f, w, h, max(0.01, r * 0.02), r + 10.0) @ look_at(eye, target)

    def render(self, size: tuple[int, int], orbit: Orbit, mode: str, camera: VirtualCamera | None,
               channels: int = 3) -> np.ndarray:
        """(h, w, 3) uint8 RGB: the mesh (head turned as ``camera`` asks) and both cameras, from ``orbit``.
        ``channels=4``: (h, w, 4) RGBX (the 4th byte 255), the framebuffer's own layout: read back ~1 ms
        sooner at 1 MP on software GL, which converts RGBA to RGB pixel by pixel."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        if channels not in (3, 4):
            raise ValueError(f"channels must be 3 or 4, not {channels!r}")
        w, h = max(16, int(size[0])), max(16, int(size[1]))
        fbo = self._framebuffer(w, h)
        fbo.use()
        fbo.viewport = (0, 0, w, h)
        fbo.clear(*BACKGROUND, 1.0, depth=1.0)
        mvp = self.view_proj((w, h), orbit)
        rotation = camera.rotation if camera is not None else np.eye(3)
        pivot = camera.pivot if camera is not None else self.eye_midpoint
        edit = np.asarray(rotation, np.float64).T.astype("f4").tobytes()
        program = self.line_program if mode == "wireframe" else self._programs[mode]
        for p in (program,) if program is self.line_program else (program, self.line_program):
            p["u_view_proj"].write(mvp.T.astype("f4").tobytes())
            p["u_edit"].write(edit)
            p["u_pivot"].value = tuple(float(v) for v in pivot)
        if "u_light" in program:
            program["u_light"].value = LIGHT
        if "u_texture" in program:
            program["u_texture"].value = 0
            self.texture.use(0)
        self.ctx.enable(moderngl.DEPTH_TEST)
        self.ctx.disable(moderngl.CULL_FACE | moderngl.BLEND)
        if mode == "wireframe":
            # Each edge once, as a line with nothing but its position to interpolate: half the lines of the
            # context's polygon mode (which draws a shared edge for both its triangles) and a fraction of their
            # set-up, the same pixels but for a few line ends (a line leaves out its last pixel).
            self.line_program["u_color"].value = WIRE_COLOUR
            self._edges().render(moderngl.LINES)
        else:
            self._vaos[mode].render(moderngl.TRIANGLES)
        self._write_frusta(None if camera is None else camera.dolly_shift_m)
        for i, colour in enumerate((CAPTURE_COLOUR, VIRTUAL_COLOUR)[:1 if camera is None else 2]):
            self.line_program["u_color"].value = colour
            self.line_vao.render(moderngl.LINES, vertices=16, first=16 * i)
        raw = fbo.read(components=channels, alignment=1)
        return np.frombuffer(raw, np.uint8).reshape(h, w, channels)[::-1].copy()

    def _edges(self):
        if self._edge_vao is None:
            self._edge_ibo = self.ctx.buffer(mesh_edges(self._tris).tobytes())
            self._edge_vao = self.ctx.vertex_array(
                self.line_program, [(self._vbo, "3f 3x4 2x4 1f", "in_pos", "in_head")], self._edge_ibo)
        return self._edge_vao

    def _write_frusta(self, dolly_shift_m: float | None) -> None:
        """The capture camera's frustum (vertices 0-15) and the virtual camera's (16-31, where there is one) in
        the line buffer, written again only when the virtual camera's dolly shift changes (not with a turn)."""
        if self._frusta_for == (dolly_shift_m,):
            return
        apexes = [np.zeros(3)] + ([] if dolly_shift_m is None else [np.array([0.0, 0.0, -dolly_shift_m])])
        lines = np.concatenate([self._frustum(apex) for apex in apexes])
        self._line_vbo.write(lines.astype("f4").tobytes())
        self._frusta_for = (dolly_shift_m,)

    def _frustum(self, apex: np.ndarray) -> np.ndarray:
        """(16, 4): apex to the photo's frame at the eyes' depth (the dolly zoom keeps that plane for both
        cameras), and in_head 0 (the frusta do not turn with the head)."""
        intr, d = self.intrinsics, float(self.eye_midpoint[2])
        px = np.array([[0, 0], [intr.width, 0], [intr.width, intr.height], [0, intr.height]], np.float64) - 0.5
        corners = intr.unproject(px, np.full(4, d))
        return np.concatenate([frustum_lines(apex, corners), np.zeros((16, 1))], axis=1)

    def release(self) -> None:
        release_targets(self.ctx, self._targets)
        for o in (*self._vaos.values(), self.line_vao, self._edge_vao, self._vbo, self._ibo, self._edge_ibo,
                  self._line_vbo, self.texture, *self._programs.values(), self.line_program):
            if o is not None:
                o.release()
