"""The tiled full-resolution render of :class:`~super_gui.render.scene.PortraitScene`.

A full-resolution window of more than ``TILED_ABOVE_PX`` pixels is drawn in tiles, so that a 100 MP photo
needs ~150 MB of GL targets instead of ~1.1 GB and no full-window readback: first the mesh pass tile by
tile, keeping only mip level ``COARSE_LEVEL`` of the whole window (the coarse pyramid); then per tile
(plus a guard band of ``TILE_GUARD_PX``) the mesh pass again, its levels below ``COARSE_LEVEL``, and the
composite, which reads the coarser levels (the visibility blur and the paste feather) from the coarse
pyramid.

Only the tiling lives here: the passes themselves (programs, uniforms, targets) are the scene's, and this
module must not own GL objects beyond one render (everything it makes is released before it returns) nor
keep any state. GL calls on the context's thread only. No Qt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import moderngl
import numpy as np

from super_gui.render.context import bind_home_framebuffer

if TYPE_CHECKING:
    from super_gui.core.generated import GeneratedView
    from super_gui.render.scene import PortraitScene, _ScaleTextures

# Full-resolution windows of more pixels than this are drawn in tiles (a 12 MP photo's never is).
TILED_ABOVE_PX = 20_000_000
TILE_PX = 2048  # a tile's interior, each side; a multiple of 2 ** COARSE_LEVEL
# Pass 1 is drawn this far around a tile's interior. The levels a tile gives (below COARSE_LEVEL, read
# bilinearly; trilinear up to level 3) reach ~12 px beyond the interior; a multiple of 2 ** COARSE_LEVEL.
TILE_GUARD_PX = 64
COARSE_LEVEL = 3  # mip levels from here up come from the coarse pyramid of the whole window


def is_tiled(scale: float, window: tuple[int, int, int, int], *, draft: bool = False) -> bool:
    """Whether ``window`` at ``scale`` is drawn in tiles (big full-resolution windows only)."""
    return scale == 1.0 and not draft and window[2] * window[3] > TILED_ABOVE_PX


def render_tiled(scene: PortraitScene, camera, st: _ScaleTextures, scale: float, face_px: float, window,
                 paste: Callable[[np.ndarray, int, int], None], generated: GeneratedView | None = None) -> None:
    """Draw ``window`` with ``scene`` in tiles (see the module docstring), handing each finished tile to
    ``paste`` ((h, w, 4) uint8 like :meth:`PortraitScene.render`'s result, and its x, y in the window).
    ``generated``: the backend's image of the view, as for :meth:`PortraitScene.render`."""
    ctx = scene.ctx
    wx, wy, ww, wh = window
    k = 1 << COARSE_LEVEL
    pw, ph = -(-ww // k) * k, -(-wh // k) * k  # the window padded to whole coarse texels
    rect = scene._window_rect(st, scale, (wx, wy, pw, ph))
    side = TILE_PX + 2 * TILE_GUARD_PX
    objs: list = []
    try:
        layers = scene._layers(side, side, COARSE_LEVEL)
        depth = ctx.depth_renderbuffer((side, side))
        objs += [*layers, depth]
        mesh = ctx.framebuffer(color_attachments=layers, depth_attachment=depth)
        objs.append(mesh)
        coarse = scene._layers(pw // k, ph // k)
        objs += coarse
        out = ctx.texture((TILE_PX, TILE_PX), 4)
        objs.append(out)
        blend = ctx.framebuffer(color_attachments=[out])
        objs.append(blend)

        def draw_pass1(bx: int, by: int, bw: int, bh: int) -> None:
            ctx.enable(moderngl.DEPTH_TEST)
            scene._mesh_pass(camera, st, scale, scene._window_rect(st, scale, (wx + bx, wy + by, bw, bh)), mesh, (bw, bh),
                             generated)
            for t in layers:
                t.build_mipmaps(0, COARSE_LEVEL)

        # 1. the coarse pyramid: level COARSE_LEVEL of pass 1 over the whole (padded) window
        cs = side // k
        for by in range(0, ph, side):
            for bx in range(0, pw, side):
                bw, bh = min(side, pw - bx), min(side, ph - by)
                draw_pass1(bx, by, bw, bh)
                for t, c in zip(layers, coarse):
                    level = np.frombuffer(t.read(level=COARSE_LEVEL), np.uint8).reshape(cs, cs, 4)
                    c.write(np.ascontiguousarray(level[: bh // k, : bw // k]), viewport=(bx // k, by // k, bw // k, bh // k))
        for c in coarse:
            c.build_mipmaps()
        # 2. each tile: pass 1 over it and its guard band, then pass 2 over its interior
        g = TILE_GUARD_PX
        for y in range(0, wh, TILE_PX):
            for x in range(0, ww, TILE_PX):
                bx, by = max(0, x - g), max(0, y - g)
                draw_pass1(bx, by, min(pw, x + TILE_PX + g) - bx, min(ph, y + TILE_PX + g) - by)
                iw, ih = min(TILE_PX, ww - x), min(TILE_PX, wh - y)
                scene._composite(st, layers, coarse, face_px, u_photo_offset=(wx + x, wy + y), u_window=rect,
                                 u_part=(x / pw, y / ph, iw / pw, ih / ph),
                                 u_fine=(-bx / side, -by / side, pw / side, ph / side), u_split=float(COARSE_LEVEL))
                blend.use()
                blend.viewport = (0, 0, iw, ih)
                ctx.disable(moderngl.DEPTH_TEST)
                scene.quad_vao.render(moderngl.TRIANGLE_STRIP)
                paste(scene._read(blend, iw, ih), x, y)
    finally:
        bind_home_framebuffer(ctx)
        for o in reversed(objs):
            o.release()
        scene._let_go()
