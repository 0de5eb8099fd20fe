"""Drag frames: the fast variant of a view, shown while a slider moves (the settled frame, drawn by
:class:`~super_gui.render.scene.PortraitScene`, replaces it when the slider is let go).

Three steps, drawn at the frame's own resolution, which may be below the photo crop's (the editor asks
for the size the photo has on screen; see ``app.pipeline``):

1. the visibility at 1/4 resolution (its bilinear enlargement is the blur), from a coarse mesh;
2. the person mesh blended and pasted in one pass, the generated texture interpolated from the vertices;
3. the photo with the background plate behind it, drawn last, only where the person did not land
   (early depth test).

Software GL transforms and sets up every triangle on the calling thread, whatever the frame's size,
so the meshes here are coarser lattices of the same depth than the settled frame's (``app.pipeline``
builds them): on llvmpipe a drag frame of the full mesh spent as long on its ~16k triangles as on
its ~350k pixels. Owns its GL objects (``release()``); GL calls on the context's thread only. No Qt.
"""

from __future__ import annotations

import math

import moderngl
import numpy as np

from super_gui.core.camera import VirtualCamera
from super_gui.core.mesh import PersonMesh
from super_gui.render.context import bind_home_framebuffer, finish_unlocked, program
from super_gui.render.mesh_buffers import MeshBuffers
from super_gui.render.scene import SHADERS, PortraitScene, _ScaleTextures, shader_source

TARGET_STEP_PX = 64  # the targets grow in steps of this many pixels, so a drag does not remake them


INTERIOR_EDIT = 0.9  # a triangle inside the head: moved at least this much by the edit at each corner ...
INTERIOR_MATTE = 250  # ... inside the person's matte (of 255) there ...
INTERIOR_GENERATED = 0.002  # ... and with no more generated texture than draft_person.frag ignores


def interior_of(st: _ScaleTextures):
    """A ``MeshBuffers`` split: the triangles for which draft_person.frag's blend is the photo's own colour,
    pasted whole (draft_interior.frag draws them with one read instead of five). The visibility then only
    chooses between the photo and itself; the paste weight is 1 wherever a surface moved this much lands
    (it is the 1/4-resolution edit weight x 6, ~0.5 even at the head's outline); and the matte is read
    at the corners from the crop's alpha."""
    w, h = st.photo.size
    alpha = np.frombuffer(st.photo.read(), np.uint8).reshape(h, w, 4)[..., 3]
    rx, ry, rw, rh = st.rect

    def split(mesh: PersonMesh, per_vertex: np.ndarray) -> np.ndarray:
        src = mesh.source_px
        px = np.clip(np.floor((src[:, 0] + 0.5 - rx) / rw * w).astype(np.int64), 0, w - 1)
        py = np.clip(np.floor((src[:, 1] + 0.5 - ry) / rh * h).astype(np.int64), 0, h - 1)
        ok = ((alpha[py, px] >= INTERIOR_MATTE) & (mesh.edit_weight >= INTERIOR_EDIT) & (mesh.quality >= 0.0)
              & (per_vertex[:, 5] <= INTERIOR_GENERATED))
        return ok[mesh.triangles].all(axis=1)

    return split


class DraftPainter:
    """Draws drag frames of ``scene``'s photo: ``mesh`` for the person, ``visibility_mesh`` (coarser) for the
    1/4-resolution visibility. Uses the scene's photo textures; owns its programs, buffers and targets."""

    def __init__(self, scene: PortraitScene, mesh: PersonMesh, visibility_mesh: PersonMesh, st: _ScaleTextures):
        ctx = self.ctx = scene.ctx
        self.scene = scene
        inputs = scene.inputs
        vertex = (SHADERS / "portrait.vert").read_text()
        # (the programs are the context's: render.context.program, never released here)
        self.visibility_program = program(ctx, vertex, (SHADERS / "visibility.frag").read_text())
        self.interior_program = program(ctx, vertex, (SHADERS / "draft_interior.frag").read_text())
        # the person's interior triangles first (n_whole), then the others
        self.person = MeshBuffers(ctx, mesh, inputs.generated, inputs.work_rect, split=interior_of(st))
        self.interior_vao = self.person.vertex_array(self.interior_program)
        self.visible = MeshBuffers(ctx, visibility_mesh, inputs.generated, inputs.work_rect)
        self.visibility_vao = self.visible.vertex_array(self.visibility_program)
        self._quad = ctx.buffer(np.array([-1, -1, 1, -1, -1, 1, 1, 1], "f4").tobytes())
        self._variants: dict[bool, tuple] = {}  # same resolution as the crop or not: programs and vertex arrays
        self._targets: list = []  # blend framebuffer, coarse framebuffer, then their attachments
        self._capacity = (0, 0)

    @property
    def triangles(self) -> tuple[int, int, int]:
        """Moving triangles of the person mesh, of them inside the head, and of the visibility mesh."""
        return (self.person.n_whole + self.person.n_torn, self.person.n_whole, self.visible.n_whole + self.visible.n_torn)

    def _variant(self, same_resolution: bool) -> tuple:
        """(person program, background program, their vertex arrays): at the crop's own resolution the photo
        is read texel for texel, below it sampled bilinearly."""
        if same_resolution not in self._variants:
            def variant(vertex: str, fragment: str) -> moderngl.Program:
                return program(self.ctx, (SHADERS / vertex).read_text(), shader_source(fragment, same_resolution and "SAME_RESOLUTION"))

            person, background = variant("portrait.vert", "draft_person.frag"), variant("screen.vert", "draft_background.frag")
            self._variants[same_resolution] = (person, background, self.person.vertex_array(person),
                                               self.ctx.vertex_array(background, [(self._quad, "2f", "in_corner")]))
        return self._variants[same_resolution]

    def _ensure_targets(self, w: int, h: int) -> tuple[moderngl.Framebuffer, moderngl.Framebuffer]:
        if w > self._capacity[0] or h > self._capacity[1]:
            self._release_targets()
            cw = max(w, self._capacity[0]) + (-max(w, self._capacity[0])) % TARGET_STEP_PX
            ch = max(h, self._capacity[1]) + (-max(h, self._capacity[1])) % TARGET_STEP_PX
            colour, depth = self.ctx.texture((cw, ch), 4), self.ctx.depth_renderbuffer((cw, ch))
            qw, qh = cw // 4, ch // 4
            coarse, coarse_depth = self.ctx.texture((qw, qh), 4), self.ctx.depth_renderbuffer((qw, qh))
            coarse.repeat_x = coarse.repeat_y = False
            self._targets = [self.ctx.framebuffer(color_attachments=[colour], depth_attachment=depth),
                             self.ctx.framebuffer(color_attachments=[coarse], depth_attachment=coarse_depth),
                             colour, depth, coarse, coarse_depth]
            self._capacity = (cw, ch)
        return self._targets[0], self._targets[1]

    def render(self, camera: VirtualCamera, st: _ScaleTextures, window_rect: tuple[float, float, float, float],
               size: tuple[int, int], *, same_resolution: bool) -> np.ndarray:
        """The drag frame of ``camera`` over ``window_rect`` ((x, y, w, h), full-resolution edge coordinates)
        drawn ``size`` = (w, h) output pixels, from the photo textures ``st`` (``same_resolution``: one
        output pixel per crop texel): ((h, w, 4) uint8, rows top-down, rgb = the finished pixels, alpha =
        paste weight: 0 where the photo is unchanged)."""
        ww, wh = size
        blend, coarse = self._ensure_targets(ww, wh)
        coarse_tex = self._targets[4]
        cu, cv = max(1, math.ceil(ww / 4)), max(1, math.ceil(wh / 4))
        scene = self.scene
        self.ctx.disable(moderngl.CULL_FACE | moderngl.BLEND)
        self.ctx.enable(moderngl.DEPTH_TEST)

        v = self.visibility_program
        scene._set_view(v, camera, st, 1.0)
        scene._set(v, u_window=window_rect, u_scale=float(cu / window_rect[2]))
        coarse.use()
        coarse.clear(0.0, 0.0, 0.0, 0.0, depth=1.0, viewport=(0, 0, cu, cv))
        coarse.viewport = (0, 0, cu, cv)
        self.visible.draw(self.visibility_vao, v)

        common = dict(u_window=window_rect, u_extent=(cu / coarse_tex.size[0], cv / coarse_tex.size[1]))
        backdrop = scene.backdrop(st)
        blend.use()
        blend.clear(0.0, 0.0, 0.0, 0.0, depth=1.0, viewport=(0, 0, ww, wh))
        blend.viewport = (0, 0, ww, wh)
        i = self.interior_program
        scene._set_view(i, camera, st, 1.0)
        scene._set(i, u_window=window_rect)
        self.person.draw_part(self.interior_vao, second=False)
        # The person pass reads the visibility pass's target, so software GL would wait for that pass inside
        # the next draw call, holding Python's lock (~1.5-2 ms of a frame); waiting here lets the editor's
        # thread run meanwhile, and costs the frame nothing.
        finish_unlocked(self.ctx)
        p, b, person_vao, quad_vao = self._variant(same_resolution)
        scene._set_view(p, camera, st, 1.0)
        scene._set(p, u_size=(float(ww), float(wh)), **common)
        scene._bind(p, u_photo=st.photo, u_backdrop=backdrop, u_coarse=coarse_tex)
        self.person.draw_part(person_vao, second=True)
        self.ctx.depth_func = "<="
        scene._set(b, u_depth=1.0, u_texture=st.rect, **common)
        scene._bind(b, u_photo=st.photo, u_backdrop=backdrop, u_coarse=coarse_tex)
        quad_vao.render(moderngl.TRIANGLE_STRIP)
        self.ctx.depth_func = "<"
        return scene._read(blend, ww, wh)

    def _release_targets(self) -> None:
        if self._targets:
            bind_home_framebuffer(self.ctx)
            for o in self._targets:
                o.release()
            self._targets = []

    def release(self) -> None:
        self._release_targets()
        for _, _, person_vao, quad_vao in self._variants.values():
            for o in (person_vao, quad_vao):
                o.release()
        self._variants.clear()
        for o in (self.visibility_vao, self.interior_vao, self._quad):
            o.release()
        self.person.release()
        self.visible.release()
