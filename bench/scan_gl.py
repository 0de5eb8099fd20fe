"""The OpenGL rasteriser of the head-scan renders (``bench/scan_render.py``): the shaders, one standalone
moderngl context with the raw mesh and texture uploaded once (``_Renderer``, made once by ``_renderer``), and
``_render_raw``, which draws at SUPERSAMPLE x the output size and box-filters down on the GPU to the image, the
mean camera depth and the coverage mask. Moved out of bench/scan_render.py unchanged.
"""
from __future__ import annotations

import functools

import numpy as np

from bench.scan_camera import BACKGROUND, FAR_M, LIGHTS, NEAR_M
from bench.scan_mesh import _load_raw, _RawMesh

SUPERSAMPLE = 2

_VERT = """
#version 330
uniform mat4 u_model;     // GLB units -> camera (OpenCV) coordinates, similarity: the head as turned
uniform mat4 u_rest;      // the same with no turn: where the torso stays (DESIGN.md §3)
uniform mat4 u_head;      // GLB units -> head frame (y down from E)
uniform vec2 u_neck;      // head-frame y where the turn starts fading out down the neck, and where it is gone
uniform mat3 u_nmat;      // rotation part
uniform mat3 u_nrest;
uniform vec4 u_intr;      // 2fx/W, 2fy/H, (2cx+1)/W - 1, (2cy+1)/H - 1   (render-target pixels)
uniform vec2 u_depth;     // z_ndc = a + b / Z
in vec3 in_pos;
in vec3 in_nrm;
in vec2 in_uv;
out vec3 v_nrm;
out vec2 v_uv;
out float v_z;
void main() {
    float y = (u_head * vec4(in_pos, 1.0)).y;
    float w = 1.0 - smoothstep(u_neck.x, u_neck.y, y);   // 1 on the head, 0 on the torso
    vec3 c = mix((u_rest * vec4(in_pos, 1.0)).xyz, (u_model * vec4(in_pos, 1.0)).xyz, w);
    v_nrm = mix(u_nrest * in_nrm, u_nmat * in_nrm, w);
    v_uv = in_uv;
    v_z = c.z;
    // image row 0 -> NDC y = -1 -> first row read back: no flip needed (winding flips; culling is off)
    gl_Position = vec4(u_intr.x * c.x + u_intr.z * c.z,
                       u_intr.y * c.y + u_intr.w * c.z,
                       u_depth.x * c.z + u_depth.y,
                       c.z);
}
"""

_FRAG = """
#version 330
uniform sampler2D u_tex;
uniform vec3 u_light;     // unit, camera coordinates, toward the light
uniform vec2 u_shade;     // ambient, diffuse (ambient 1, diffuse 0 = unlit)
in vec3 v_nrm;
in vec2 v_uv;
in float v_z;
layout(location = 0) out vec4 f_col;
layout(location = 1) out float f_z;
void main() {
    // texture stored flipped relative to glTF: row (1 - v) * H. Rows are uploaded top first (t = 0 is row 0).
    vec3 albedo = texture(u_tex, vec2(v_uv.x, 1.0 - v_uv.y)).rgb;
    vec3 n = normalize(v_nrm);
    float lam = max(dot(n, u_light), 0.0);
    f_col = vec4(clamp(albedo * (u_shade.x + u_shade.y * lam), 0.0, 1.0), 1.0);
    f_z = v_z;
}
"""


_RESOLVE_VERT = """
#version 330
void main() {   // one triangle covering the viewport
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""

_RESOLVE_FRAG = """
#version 330
uniform sampler2D u_col;
uniform sampler2D u_z;
uniform int u_ss;
uniform vec3 u_bg;
layout(location = 0) out vec4 f_col;
layout(location = 1) out vec2 f_zc;   // mean z over covered samples, coverage fraction
void main() {
    ivec2 base = ivec2(gl_FragCoord.xy) * u_ss;
    vec3 acc = vec3(0.0);
    float zs = 0.0, n = 0.0;
    for (int j = 0; j < u_ss; ++j) {
        for (int i = 0; i < u_ss; ++i) {
            ivec2 q = base + ivec2(i, j);
            vec4 c = texelFetch(u_col, q, 0);
            bool cov = c.a > 0.5;
            acc += cov ? c.rgb : u_bg;
            if (cov) { zs += texelFetch(u_z, q, 0).r; n += 1.0; }
        }
    }
    float m = float(u_ss * u_ss);
    f_col = vec4(acc / m, 1.0);             // box filter = cv2.INTER_AREA for an integer factor
    f_zc = vec2(n > 0.0 ? zs / n : 0.0, n / m);
}
"""


class _Renderer:
    """One standalone EGL context (falls back to the platform default), the raw mesh uploaded once.

    Pass 1 draws the mesh at SUPERSAMPLE x the output size into RGBA8 (alpha = coverage) + R32F (camera z);
    pass 2 box-filters it down on the GPU (colour composited over the grey background, z averaged over the
    covered samples, coverage fraction), so only the output-size images are read back.
    """

    def __init__(self, raw: _RawMesh):
        import moderngl

        try:
            self.ctx = moderngl.create_context(standalone=True, backend="egl")
        except Exception:                                  # macOS / Windows
            self.ctx = moderngl.create_context(standalone=True)
        ctx = self.ctx
        self.prog = ctx.program(vertex_shader=_VERT, fragment_shader=_FRAG)
        data = np.hstack([raw.vertices.astype(np.float32), raw.normals.astype(np.float32), raw.uv_gl]).astype("f4")
        self.vbo = ctx.buffer(np.ascontiguousarray(data).tobytes())
        self.ibo = ctx.buffer(np.ascontiguousarray(raw.faces, dtype="i4").tobytes())
        self.vao = ctx.vertex_array(self.prog, [(self.vbo, "3f 3f 2f", "in_pos", "in_nrm", "in_uv")],
                                    index_buffer=self.ibo, index_element_size=4)
        h, w = raw.texture.shape[:2]
        self.tex = ctx.texture((w, h), 3, np.ascontiguousarray(raw.texture).tobytes())
        self.tex.build_mipmaps()
        self.tex.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
        # no anisotropic filtering: the 2x supersampling covers it, and on llvmpipe it doubles the draw time
        self.tex.repeat_x = self.tex.repeat_y = False
        self.resolve = ctx.program(vertex_shader=_RESOLVE_VERT, fragment_shader=_RESOLVE_FRAG)
        self.resolve_vao = ctx.vertex_array(self.resolve, [])
        self._targets = None
        self._key = None

    def _targets_for(self, w: int, h: int, ss: int):
        if self._key != (w, h, ss):
            ctx = self.ctx
            import moderngl

            col = ctx.texture((w * ss, h * ss), 4)
            zz = ctx.texture((w * ss, h * ss), 1, dtype="f4")
            for t in (col, zz):
                t.filter = (moderngl.NEAREST, moderngl.NEAREST)
            dep = ctx.depth_renderbuffer((w * ss, h * ss))
            big = ctx.framebuffer(color_attachments=[col, zz], depth_attachment=dep)
            ocol = ctx.renderbuffer((w, h), 4)
            ozc = ctx.renderbuffer((w, h), 2, dtype="f4")
            small = ctx.framebuffer(color_attachments=[ocol, ozc])
            big.use()
            old = self._targets
            self._targets = (big, small, (col, zz, dep, ocol, ozc))
            self._key = (w, h, ss)
            if old is not None:   # release only after the new ones exist and one is bound (moderngl rebinds)
                old[0].release()
                old[1].release()
                for a in old[2]:
                    a.release()
        return self._targets

    def render(self, model: np.ndarray, K: np.ndarray, w: int, h: int, ss: int, shade: bool, light: str = "key",
               background: tuple[int, int, int] = (BACKGROUND,) * 3, rest: np.ndarray | None = None,
               head: np.ndarray | None = None, neck: tuple[float, float] = (1e3, 1e3 + 1.0)):
        """model: 4x4 GLB units -> camera; K for the w x h output. Returns rgb uint8 (h,w,3), mean z float32
        (h,w) over covered samples (0 where none) and coverage fraction float32 (h,w)."""
        import moderngl

        ctx = self.ctx
        big, small, (col, zz, *_rest) = self._targets_for(w, h, ss)
        # pass 1 at ss x: the same continuous image plane, finer pixels
        fx, fy = K[0, 0] * ss, K[1, 1] * ss
        cx, cy = (K[0, 2] + 0.5) * ss - 0.5, (K[1, 2] + 0.5) * ss - 0.5
        W2, H2 = w * ss, h * ss
        big.use()
        ctx.viewport = (0, 0, W2, H2)
        ctx.enable(moderngl.DEPTH_TEST)
        ctx.disable(moderngl.CULL_FACE | moderngl.BLEND)
        big.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)        # both attachments: rgba 0 (alpha = coverage), z 0
        rest = model if rest is None else rest
        head = np.eye(4) if head is None else head
        for name, m in (("u_model", model), ("u_rest", rest), ("u_head", head)):
            self.prog[name].write(np.ascontiguousarray(m.T, dtype="f4").tobytes())
        for name, m in (("u_nmat", model), ("u_nrest", rest)):
            Rm = m[:3, :3]
            self.prog[name].write(np.ascontiguousarray((Rm / np.cbrt(np.linalg.det(Rm))).T, dtype="f4").tobytes())
        self.prog["u_neck"].value = tuple(float(v) for v in neck)
        self.prog["u_intr"].value = (2 * fx / W2, 2 * fy / H2, (2 * cx + 1) / W2 - 1, (2 * cy + 1) / H2 - 1)
        a = (FAR_M + NEAR_M) / (FAR_M - NEAR_M)
        b = -2 * FAR_M * NEAR_M / (FAR_M - NEAR_M)
        self.prog["u_depth"].value = (a, b)
        light_dir, ambient, diffuse = LIGHTS[light]
        L = light_dir / np.linalg.norm(light_dir)
        self.prog["u_light"].value = tuple(float(x) for x in L)
        self.prog["u_shade"].value = (ambient, diffuse) if shade else (1.0, 0.0)
        self.prog["u_tex"].value = 0
        self.tex.use(0)
        self.vao.render(moderngl.TRIANGLES)
        # pass 2: box filter down to w x h
        small.use()
        ctx.viewport = (0, 0, w, h)
        ctx.disable(moderngl.DEPTH_TEST)
        col.use(0)
        zz.use(1)
        self.resolve["u_col"].value = 0
        self.resolve["u_z"].value = 1
        self.resolve["u_ss"].value = int(ss)
        self.resolve["u_bg"].value = tuple(c / 255.0 for c in background)
        self.resolve_vao.render(moderngl.TRIANGLES, vertices=3)
        rgb = np.frombuffer(small.read(components=3, attachment=0, alignment=1), np.uint8).reshape(h, w, 3)
        zc = np.frombuffer(small.read(components=2, attachment=1, dtype="f4", alignment=1), np.float32)
        zc = zc.reshape(h, w, 2)
        err = ctx.error
        if err != "GL_NO_ERROR":
            raise RuntimeError(f"OpenGL error while rendering the scan: {err}")
        return rgb, zc[:, :, 0], zc[:, :, 1]


@functools.lru_cache(maxsize=1)
def _renderer() -> _Renderer:
    return _Renderer(_load_raw())


def _render_raw(model: np.ndarray, K: np.ndarray, width: int, height: int, shade: bool, light: str = "key",
                background: tuple[int, int, int] = (BACKGROUND,) * 3, **neck_blend):
    """Anti-aliased render (SUPERSAMPLE x, box-filtered); returns image, depth, mask at width x height.
    mask: at least half the samples of the pixel hit the scan; depth: mean camera z of those samples."""
    rgb, z, cov = _renderer().render(model, K, int(width), int(height), SUPERSAMPLE, shade, light, background, **neck_blend)
    mask = cov >= 0.5
    depth = np.where(mask, z, np.float32(0.0))
    return rgb, depth, mask

