"""A person mesh's moving triangles on the GPU, shared by the settled frame's passes and the drag frame's.

Views draw only the triangles the edit can move (the rest of the picture is the photo itself): those
come first in the index buffer, whole ones before the ones torn across a depth jump, so each group is
one draw call with the tear as a uniform (``u_torn``). Per vertex: capture-space position, source pixel,
head / edit weights, quality, and the generated texture's source pixel and gain / weight sampled at the
vertex (the drag frame interpolates those instead of reading two more textures per pixel). Owns its GL
objects (``release()``); GL calls on the context's thread only. No Qt.
"""

from __future__ import annotations

import moderngl
import numpy as np

from super_gui.core.generated import GeneratedTexture
from super_gui.core.mesh import PersonMesh, sample_bilinear


def generated_per_vertex(mesh: PersonMesh, generated: GeneratedTexture,
                         work_rect: tuple[float, float, float, float]) -> np.ndarray:
    """(N, 6) float32 per mesh vertex: the generated texture's source pixel (full resolution) and its
    colour gain / weight, sampled where the shaders sample those textures (``v_work``)."""
    x0, y0, w, h = work_rect
    gh, gw = generated.shape
    src = mesh.source_px
    # texture coordinate (src + 0.5 - x0) / w, as texel-centre pixels of the grid
    map_x = (src[:, 0] + 0.5 - x0) / w * gw - 0.5
    map_y = (src[:, 1] + 0.5 - y0) / h * gh - 0.5
    source = sample_bilinear(generated.source_px, map_x, map_y)
    gain = sample_bilinear(generated.gain_weight, map_x, map_y)
    return np.concatenate([source, gain / 255.0], axis=1).astype("f4")


class MeshBuffers:
    """Vertex and index buffers of ``mesh``'s moving triangles (``n_whole`` whole, then ``n_torn`` torn).

    ``split``: a per-vertex-triple test instead of the tear, ``split(mesh, per_vertex_generated) -> (T,)
    bool``: its triangles come first (``n_whole`` of them), the others after (``n_torn``)."""

    def __init__(self, ctx: moderngl.Context, mesh: PersonMesh, generated: GeneratedTexture,
                 work_rect: tuple[float, float, float, float], split=None):
        data = np.concatenate(
            [mesh.positions, mesh.source_px, mesh.head_weight[:, None], mesh.edit_weight[:, None], mesh.quality[:, None]], axis=1
        ).astype("f4")
        per_vertex = generated_per_vertex(mesh, generated, work_rect)
        moving = mesh.edit_weight[mesh.triangles].max(axis=1) > 1e-3
        second = mesh.torn if split is None else ~split(mesh, per_vertex)
        group = np.where(moving, second.astype(np.int8), 2)
        triangles = mesh.triangles[np.argsort(group, kind="stable")]
        self.n_whole, self.n_torn = int((group == 0).sum()), int((group == 1).sum())
        self.buffers = [ctx.buffer(data.tobytes()), ctx.buffer(triangles.astype("i4").tobytes()), ctx.buffer(per_vertex.tobytes())]
        self._ctx = ctx

    def vertex_array(self, program: moderngl.Program) -> moderngl.VertexArray:
        attributes = [(self.buffers[0], "3f 2f 1f 1f 1f", "in_pos", "in_src", "in_head", "in_edit", "in_quality"),
                      (self.buffers[2], "2f 4f", "in_generated_px", "in_generated_gain")]
        # (skip_errors: a program need not read every attribute)
        return self._ctx.vertex_array(program, attributes, self.buffers[1], skip_errors=True)

    def draw_part(self, vao: moderngl.VertexArray, second: bool) -> None:
        """The first ``n_whole`` moving triangles, or (``second``) the ``n_torn`` after them."""
        first, count = (self.n_whole, self.n_torn) if second else (0, self.n_whole)
        if count:
            vao.render(moderngl.TRIANGLES, vertices=3 * count, first=3 * first)

    def draw(self, vao: moderngl.VertexArray, program: moderngl.Program) -> None:
        """The moving triangles: whole ones, then those torn across a depth jump (``u_torn``)."""
        for torn, first, count in ((0.0, 0, self.n_whole), (1.0, self.n_whole, self.n_torn)):
            if count:
                if "u_torn" in program:
                    program["u_torn"].value = torn
                vao.render(moderngl.TRIANGLES, vertices=3 * count, first=3 * first)

    def release(self) -> None:
        for b in self.buffers:
            b.release()
        self.buffers = []
