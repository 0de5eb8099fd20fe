"""The tiled full-resolution render of :class:`~super_gui.render.scene.PortraitScene`, and renders that can
be stopped between pieces.

A full-resolution window of more than ``TILED_ABOVE_PX`` pixels is drawn in tiles, so that a 100 MP photo
needs ~150 MB of GL targets instead of ~1.1 GB and no full-window readback: first the mesh pass tile by
tile, keeping only mip level ``COARSE_LEVEL`` of the whole window (the coarse pyramid); then per tile
(plus a guard band of ``TILE_GUARD_PX``) the mesh pass again, its levels below ``COARSE_LEVEL``, and the
composite, which reads the coarser levels (the visibility blur and the paste feather) from the coarse
pyramid.

Inside :func:`cancellable` (the editor's close-up renders: the render thread must answer a slider at
once), every full-resolution window is drawn here, in pieces that take ~20-50 ms each on llvmpipe, and
between pieces the caller's ``should_stop()`` is asked; when it says so the render raises
:class:`~super_gui.errors.Cancelled` and nothing of it is returned. A window up to ``TILED_ABOVE_PX``
is then drawn exactly as :meth:`PortraitScene._render_whole` draws it, the same bytes: the same passes
over targets the size of the window, only pass 1 drawn a band of rows at a time (scissored), the
mipmaps one layer at a time, and pass 2 a ``PIECE_PX`` square at a time, each read back on its own.
Outside :func:`cancellable` (exports, the CLI, previews) nothing changes.

Only the tiling lives here: the passes themselves (programs, uniforms, targets) are the scene's, and this
module must not own GL objects beyond one render (everything it makes is released before it returns);
its only state is the calling thread's ``should_stop``. GL calls on the context's thread only. No Qt.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator

import moderngl
import numpy as np

from super_gui.errors import Cancelled
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
# A cancellable window's pieces: pass 2 (~0.25 us a pixel on 2 llvmpipe cores) in squares of this side,
# pass 1 (~6x cheaper a pixel, plus the mesh's vertices each time) in bands of rows of about this many pixels.
PIECE_PX = 384
BAND_PIXELS = 640_000

_local = threading.local()


@contextmanager
def cancellable(should_stop: Callable[[], bool]) -> Iterator[None]:
    """Full-resolution renders made on this thread inside the block are drawn in pieces and ask
    ``should_stop()`` before each; when it is true they raise :class:`~super_gui.errors.Cancelled`."""
    before = getattr(_local, "should_stop", None)
    _local.should_stop = should_stop
    try:
        yield
    finally:
        _local.should_stop = before


def stoppable() -> bool:
    """Whether this thread is inside :func:`cancellable` (an interactive close-up, not an export)."""
    return getattr(_local, "should_stop", None) is not None


def check_cancelled() -> None:
    """Raise :class:`~super_gui.errors.Cancelled` if this thread's :func:`cancellable` says to stop."""
    should_stop = getattr(_local, "should_stop", None)
    if should_stop is not None and should_stop():
        raise Cancelled()


def is_tiled(scale: float, window: tuple[int, int, int, int], *, draft: bool = False) -> bool:
    """Whether ``window`` at ``scale`` is drawn here (:func:`render_tiled`): big full-resolution windows,
    and every full-resolution window inside :func:`cancellable`."""
    return scale == 1.0 and not draft and (in_coarse_tiles(window) or getattr(_local, "should_stop", None) is not None)


def in_coarse_tiles(window: tuple[int, int, int, int]) -> bool:
    """Whether a full-resolution ``window`` is drawn in ``TILE_PX`` tiles over a coarse pyramid (not the
    same bytes as drawn whole); smaller windows drawn here are the window drawn whole, in pieces."""
    return window[2] * window[3] > TILED_ABOVE_PX


def render_tiled(scene: PortraitScene, camera, st: _ScaleTextures, scale: float, face_px: float, window,
                 paste: Callable[[np.ndarray, int, int], None], generated: GeneratedView | None = None) -> None:
    """Draw ``window`` with ``scene`` in tiles (see the module docstring), handing each finished tile to
    ``paste`` ((h, w, 4) uint8 like :meth:`PortraitScene.render`'s result, and its x, y in the window).
    ``generated``: the backend's image of the view, as for :meth:`PortraitScene.render`. Inside
    :func:`cancellable` it may raise :class:`~super_gui.errors.Cancelled` between tiles."""
    if not in_coarse_tiles(window):
        _render_in_pieces(scene, camera, st, scale, face_px, window, paste, generated)
        return
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
                check_cancelled()
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
                check_cancelled()
                bx, by = max(0, x - g), max(0, y - g)
                draw_pass1(bx, by, min(pw, x + TILE_PX + g) - bx, min(ph, y + TILE_PX + g) - by)
                iw, ih = min(TILE_PX, ww - x), min(TILE_PX, wh - y)
                quad = scene._composite(st, layers, coarse, face_px, tiled=True, u_photo_offset=(wx + x, wy + y), u_window=rect,
                                        u_part=(x / pw, y / ph, iw / pw, ih / ph),
                                        u_fine=(-bx / side, -by / side, pw / side, ph / side), u_split=float(COARSE_LEVEL))
                blend.use()
                blend.viewport = (0, 0, iw, ih)
                ctx.disable(moderngl.DEPTH_TEST)
                quad.render(moderngl.TRIANGLE_STRIP)
                paste(scene._read(blend, iw, ih), x, y)
    finally:
        bind_home_framebuffer(ctx)
        for o in reversed(objs):
            o.release()
        scene._let_go()


def _render_in_pieces(scene: PortraitScene, camera, st: _ScaleTextures, scale: float, face_px: float, window,
                      paste: Callable[[np.ndarray, int, int], None], generated: GeneratedView | None) -> None:
    """``window`` drawn as :meth:`PortraitScene._render_whole` draws it (the same targets, passes and
    uniforms: the same bytes), in pieces with :func:`check_cancelled` before each (module docstring)."""

    ctx = scene.ctx
    wx, wy, ww, wh = window
    rect = scene._window_rect(st, scale, window)
    objs: list = []
    try:
        layers = []
        for _ in range(3):  # pass 1's layers as PortraitScene._layers makes them, one at a time (~40 ms each)
            check_cancelled()
            t = ctx.texture((ww, wh), 4)
            objs.append(t)
            t.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
            t.repeat_x = t.repeat_y = False
            t.build_mipmaps()  # (the storage of the whole chain, before a framebuffer holds level 0)
            layers.append(t)
        check_cancelled()
        depth = ctx.depth_renderbuffer((ww, wh))
        out = ctx.texture((ww, wh), 4)
        objs += [depth, out]
        mesh = ctx.framebuffer(color_attachments=layers, depth_attachment=depth)
        objs.append(mesh)
        blend = ctx.framebuffer(color_attachments=[out])
        objs.append(blend)
        # pass 1, a band of rows at a time: each band's clear and draw touch only its rows (the scissor)
        ctx.enable(moderngl.DEPTH_TEST)
        band = max(1, BAND_PIXELS // ww)
        for y in range(0, wh, band):
            check_cancelled()
            mesh.scissor = (0, y, ww, min(band, wh - y))
            scene._mesh_pass(camera, st, scale, rect, mesh, (ww, wh), generated)
            ctx.finish()  # (llvmpipe draws when asked to finish: the band is drawn before the next check)
        mesh.scissor = None
        for t in layers:
            check_cancelled()
            t.build_mipmaps()
            ctx.finish()
        # pass 2, a square at a time, each read back as soon as it is drawn
        quad = scene._composite(st, layers, layers, face_px, u_photo_offset=(wx, wy), u_window=rect, u_part=(0.0, 0.0, 1.0, 1.0),
                                u_fine=(0.0, 0.0, 1.0, 1.0))
        ctx.disable(moderngl.DEPTH_TEST)
        for y in range(0, wh, PIECE_PX):
            for x in range(0, ww, PIECE_PX):
                check_cancelled()
                iw, ih = min(PIECE_PX, ww - x), min(PIECE_PX, wh - y)
                blend.use()
                blend.viewport = (0, 0, ww, wh)
                blend.scissor = (x, y, iw, ih)
                quad.render(moderngl.TRIANGLE_STRIP)
                paste(_read(ctx, blend, x, y, iw, ih), x, y)
    finally:
        bind_home_framebuffer(ctx)
        for o in reversed(objs):
            o.release()


def _read(ctx: moderngl.Context, fbo: moderngl.Framebuffer, x: int, y: int, w: int, h: int) -> np.ndarray:
    """(h, w, 4) uint8 of ``fbo`` at (x, y), as :meth:`PortraitScene._read` reads a whole window."""
    out = np.frombuffer(fbo.read(viewport=(x, y, w, h), components=4), np.uint8).reshape(h, w, 4)
    err = ctx.error
    if err != "GL_NO_ERROR":
        raise RuntimeError(f"OpenGL error while rendering: {err}")
    return out
