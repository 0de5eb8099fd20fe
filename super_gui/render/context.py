"""OpenGL contexts for the renderer: a standalone EGL context where EGL exists (Linux, also headless),
else the platform default (macOS, Windows). One context per thread that renders (GL is thread-affine);
and giving memory back (software GL keeps released textures longer than one would think:
:func:`let_go`). No Qt here."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading

import moderngl

_local = threading.local()


def create_context() -> moderngl.Context:
    """A new standalone context (OpenGL 3.3 core or newer); EGL first, then the platform default."""
    errors = []
    for kwargs in ({"backend": "egl"}, {}):
        try:
            return moderngl.create_context(standalone=True, require=330, **kwargs)
        except Exception as e:  # each backend fails in its own way where it is missing
            errors.append(f"{kwargs.get('backend', 'default')}: {e}")
    from super_gui.errors import RenderingUnavailable

    raise RenderingUnavailable("No OpenGL 3.3 context could be created (" + "; ".join(errors) + "); on Debian/Ubuntu: "
                               "apt-get install libegl1 libgl1 libgl1-mesa-dri (or free some memory: software GL needs it).")


def thread_context() -> moderngl.Context:
    """This thread's shared context, created on first use."""
    ctx = getattr(_local, "ctx", None)
    if ctx is None:
        ctx = _local.ctx = create_context()
    return ctx


def renderer_name(ctx: moderngl.Context) -> str:
    return f"{ctx.info.get('GL_RENDERER', '?')} (OpenGL {ctx.version_code / 100:.1f})"


def _extra(ctx: moderngl.Context) -> dict:
    """The context's own user-data slot (what is kept there goes when the context goes)."""
    if not isinstance(ctx.extra, dict):
        ctx.extra = {}
    return ctx.extra


def program(ctx: moderngl.Context, vertex_shader: str, fragment_shader: str) -> moderngl.Program:
    """The program of these sources, linked once per context and kept with it: software GL compiles each
    program (and, at its first draws, a variant per pipeline state) for tens to hundreds of ms, so a photo's
    scene and drag frames reuse what an earlier photo, or the render thread's warm-up, compiled. Shared:
    its users set every uniform they read before they draw, and never release it."""
    programs = _extra(ctx).setdefault("programs", {})
    key = (vertex_shader, fragment_shader)
    if key not in programs:
        programs[key] = ctx.program(vertex_shader=vertex_shader, fragment_shader=fragment_shader)
    return programs[key]


def bind_home_framebuffer(ctx: moderngl.Context) -> None:
    """Bind a tiny framebuffer that lives as long as the context. Call it before releasing a bound
    framebuffer: moderngl restores the previous binding when it creates a framebuffer, and restoring a
    deleted one fails (GL_INVALID_OPERATION) on the next scene's first render."""
    if ctx.screen is not None:
        ctx.screen.use()
        return
    extra = _extra(ctx)
    home = extra.get("home_framebuffer")
    if home is None:
        home = extra["home_framebuffer"] = ctx.simple_framebuffer((1, 1))
    home.use()


def release_targets(ctx: moderngl.Context, targets: dict) -> None:
    """Release a scene's cached framebuffers and their attachments (``{key: (fbo, texture, ...)}``), after
    binding the home framebuffer so none of them is bound while it goes."""
    bind_home_framebuffer(ctx)
    for objs in targets.values():
        for o in objs:
            o.release()
    targets.clear()


_libc = None


def give_back_memory() -> None:
    """Hand memory the process has freed back to the system, where the C library can (glibc). Mesa's
    llvmpipe keeps textures in ordinary malloc memory: a tile's targets (~20 MB each) land in the heap,
    not in a mapping of their own, and stay in the process's resident memory after they are released
    until the heap is trimmed (at 100 MP ~300 MB)."""
    global _libc
    if not sys.platform.startswith("linux"):
        return
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):  # not glibc (musl has no malloc_trim): nothing to do
            _libc = False
    if _libc:
        _libc.malloc_trim(0)


def let_go(ctx: moderngl.Context, quad: moderngl.VertexArray) -> None:
    """Make the driver drop its own references to released textures. Mesa frees a texture only when no
    texture unit and no mipmap pass refers to it any more, and it notices a unit has changed only at the
    next draw: so bind a 1x1 texture everywhere, make its mipmaps and draw one pixel with it. Then
    what it freed goes back to the system (:func:`give_back_memory`). ``quad``: any vertex array that
    draws a full-window quad."""
    dummy = ctx.texture((1, 1), 4)
    dummy.build_mipmaps()
    pixel = ctx.texture((1, 1), 4)
    fbo = ctx.framebuffer(color_attachments=[pixel])
    try:
        for unit in range(16):
            dummy.use(unit)
        fbo.use()
        fbo.viewport = (0, 0, 1, 1)
        ctx.disable(moderngl.DEPTH_TEST)
        quad.render(moderngl.TRIANGLE_STRIP)
        ctx.finish()
        _drain_scenes(ctx, quad)
    finally:
        bind_home_framebuffer(ctx)
        for o in (fbo, pixel, dummy):
            o.release()
    give_back_memory()


def _drain_scenes(ctx: moderngl.Context, quad: moderngl.VertexArray, count: int = 80) -> None:
    """llvmpipe keeps a pool of binned scenes, each holding references to the textures it drew with until
    the scene is next reused, and it reuses the first idle one: after a finish that is always the first,
    so a scene added to the pool while the others were busy (the tiled render flushes many) can keep a
    released 300 MB photo texture for the life of the process, depending on thread timing. So queue one
    slow scene and, while it rasterizes, ``count`` cleared 1x1 scenes: each takes the next idle scene
    in the pool and so drops what it held. ``quad`` as for :func:`let_go`."""
    big = ctx.texture((2048, 2048), 4)
    slow = ctx.framebuffer(color_attachments=[big])
    pixels = [ctx.texture((1, 1), 4) for _ in range(2)]
    quick = [ctx.framebuffer(color_attachments=[t]) for t in pixels]
    try:
        slow.use()
        slow.viewport = (0, 0, 2048, 2048)
        quad.render(moderngl.TRIANGLE_STRIP)
        for i in range(count):
            quick[i % 2].use()
            quick[i % 2].clear(0.0, 0.0, 0.0, 0.0)
        bind_home_framebuffer(ctx)
        ctx.finish()
    finally:
        bind_home_framebuffer(ctx)
        for o in (*quick, *pixels, slow, big):
            o.release()


class _UnlockedGL:
    """The few GL entry points called through ctypes, which lets go of Python's lock while the call runs
    (moderngl holds it inside every call): None where no GL library can be found."""

    def __init__(self, lib: ctypes.CDLL):
        u, i, n = ctypes.c_uint, ctypes.c_int, None
        for name, args in (("glFinish", []), ("glGenerateMipmap", [u]), ("glUseProgram", [u]), ("glBindVertexArray", [u]),
                           ("glDrawArrays", [u, i, i]), ("glDrawElements", [u, i, u, ctypes.c_void_p])):
            fn = getattr(lib, name)  # (AttributeError where the library lacks it)
            fn.restype, fn.argtypes = n, args
            setattr(self, name[2:].lower(), fn)


_unlocked_gl: _UnlockedGL | None | bool = False  # False: not looked for yet


def unlocked_gl() -> _UnlockedGL | None:
    """GL functions that run without Python's lock (:class:`_UnlockedGL`), for the thread's current context;
    None where no GL library is found."""
    global _unlocked_gl
    if _unlocked_gl is False:
        _unlocked_gl = None
        names = {"linux": ("libGL.so.1", "libOpenGL.so.0"), "darwin": ("/System/Library/Frameworks/OpenGL.framework/OpenGL",),
                 "win32": ("opengl32",)}
        for name in names.get("linux" if sys.platform.startswith("linux") else sys.platform, ()):
            try:
                _unlocked_gl = _UnlockedGL(ctypes.CDLL(name))  # (CDLL: its calls release the interpreter lock)
            except (OSError, AttributeError):
                continue
            break
    return _unlocked_gl


def finish_unlocked(ctx: moderngl.Context) -> None:
    """Wait until the GL has drawn everything asked of it, letting other Python threads run meanwhile.

    moderngl holds Python's global interpreter lock inside every call, and a read-back waits there until
    software GL has rasterised the frame: ~10-20 ms of a drag frame during which the editor's own thread
    could not handle a slider move or paint. glFinish called through ctypes waits with the lock released,
    so the read-back that follows finds the frame done. Where no GL library can be found (or on a context
    that is not this thread's current one) this is ``ctx.finish()``."""
    gl = unlocked_gl()
    if gl is not None:
        gl.finish()
    else:
        ctx.finish()
