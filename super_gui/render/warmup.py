"""The render thread's warm-up: software GL (llvmpipe) compiles each program when it is linked and, at the
first draw or mipmap build in each pipeline state, machine code for that state (~0.15 s before a photo's
first settled frame on a 2-core laptop, even with Mesa's shader cache warm). :func:`warm_up` has that done
while the photo is still being fitted. No Qt."""

from __future__ import annotations

import moderngl
import numpy as np

from super_gui.render.context import bind_home_framebuffer, unlocked_gl
from super_gui.render.scene import PortraitScene, scene_programs

GL_TEXTURE_2D, GL_TRIANGLES, GL_TRIANGLE_STRIP, GL_UNSIGNED_INT = 0x0DE1, 0x0004, 0x0005, 0x1405


def warm_up(ctx: moderngl.Context) -> None:
    """Have software GL compile, before any photo is fitted, what a photo's first settled frame would
    compile on its way: the two programs, and the code llvmpipe generates at a first draw or mipmap
    build for each pipeline state (the textures' formats, filters, wrapping and whether each side is a
    power of two included): a 1-triangle mesh pass into three RGBA8 layers with a depth buffer, their
    mipmaps (~0.1 s the first time), a composite with its ten textures. The same states as
    :meth:`PortraitScene.render` at the preview's scale, on a few texels (sides that are not powers of two,
    as a photo crop's almost always are). The builds and draws go through ctypes, so Python's lock is
    free meanwhile (the photo's fit runs on); nothing drawn here is ever read. Call it on the thread and
    context that will render."""
    gl = unlocked_gl()
    mesh_program, composite_program = scene_programs(ctx)
    if gl is None:
        return
    lin, mip = (moderngl.LINEAR, moderngl.LINEAR), (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)

    def texture(size, components: int, dtype: str, filt) -> moderngl.Texture:
        tex = ctx.texture(size, components, dtype=dtype)
        tex.filter = filt
        tex.repeat_x = tex.repeat_y = False
        return tex

    size = (5, 3)
    photo, generated_px, gain = texture(size, 4, "f1", lin), texture(size, 2, "f4", lin), texture(size, 4, "f1", lin)
    plate, edit_old = texture(size, 4, "f1", lin), texture(size, 1, "f4", lin)
    layers = [texture(size, 4, "f1", mip) for _ in range(3)]
    depth, out = ctx.depth_renderbuffer(size), ctx.texture(size, 4)
    mesh_fbo = ctx.framebuffer(color_attachments=layers, depth_attachment=depth)
    blend_fbo = ctx.framebuffer(color_attachments=[out], depth_attachment=depth)
    vertices = ctx.buffer(np.zeros((3, 8), "f4").tobytes())
    per_vertex = ctx.buffer(np.zeros((3, 6), "f4").tobytes())
    indices = ctx.buffer(np.arange(3, dtype="i4").tobytes())
    quad = ctx.buffer(np.array([-1, -1, 1, -1, -1, 1, 1, 1], "f4").tobytes())
    # (the layout of render.mesh_buffers.MeshBuffers.vertex_array)
    mesh_vao = ctx.vertex_array(mesh_program, [(vertices, "3f 2f 1f 1f 1f", "in_pos", "in_src", "in_head", "in_edit", "in_quality"),
                                               (per_vertex, "2f 4f", "in_generated_px", "in_generated_gain")],
                                indices, skip_errors=True)
    quad_vao = ctx.vertex_array(composite_program, [(quad, "2f", "in_corner")])
    try:
        for tex in layers:  # (as PortraitScene._layers makes their storage)
            tex.use(0)
            gl.generatemipmap(GL_TEXTURE_2D)
        ctx.disable(moderngl.CULL_FACE | moderngl.BLEND)
        ctx.enable(moderngl.DEPTH_TEST)
        PortraitScene._bind(mesh_program, u_photo=photo, u_generated_px=generated_px, u_generated_gain=gain)
        mesh_fbo.use()
        mesh_fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        mesh_fbo.viewport = (0, 0, *size)
        gl.useprogram(mesh_program.glo)
        gl.bindvertexarray(mesh_vao.glo)
        gl.drawelements(GL_TRIANGLES, 3, GL_UNSIGNED_INT, None)
        gl.finish()
        for tex in layers:
            tex.use(0)
            gl.generatemipmap(GL_TEXTURE_2D)
        PortraitScene._bind(composite_program, u_warped=layers[0], u_generated=layers[1], u_visibility=layers[2], u_photo=photo,
                            u_plate=plate, u_edit_old=edit_old, u_coarse_warped=layers[0], u_coarse_generated=layers[1],
                            u_coarse_visibility=layers[2])
        blend_fbo.use()
        blend_fbo.viewport = (0, 0, *size)
        ctx.disable(moderngl.DEPTH_TEST)
        gl.useprogram(composite_program.glo)
        gl.bindvertexarray(quad_vao.glo)
        gl.drawarrays(GL_TRIANGLE_STRIP, 0, 4)
        gl.finish()
    finally:
        bind_home_framebuffer(ctx)
        for o in (mesh_vao, quad_vao, vertices, per_vertex, indices, quad, mesh_fbo, blend_fbo, depth, out, *layers,
                  photo, generated_px, gain, plate, edit_old):
            o.release()
