"""OpenGL contexts for the renderer: a standalone EGL context where EGL exists (Linux, also headless),
else the platform default (macOS, Windows). One context per thread that renders (GL is thread-affine);
no Qt here."""

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
    raise RuntimeError("No OpenGL 3.3 context could be created (" + "; ".join(errors) + "). On Debian/Ubuntu: apt-get install libegl1 libgl1 libgl1-mesa-dri")


def thread_context() -> moderngl.Context:
    """This thread's shared context, created on first use."""
    ctx = getattr(_local, "ctx", None)
    if ctx is None:
        ctx = _local.ctx = create_context()
    return ctx


def renderer_name(ctx: moderngl.Context) -> str:
    return f"{ctx.info.get('GL_RENDERER', '?')} (OpenGL {ctx.version_code / 100:.1f})"


def bind_home_framebuffer(ctx: moderngl.Context) -> None:
    """Bind a tiny framebuffer that lives as long as the context. Call it before releasing a bound
    framebuffer: moderngl restores the previous binding when it creates a framebuffer, and restoring a
    deleted one fails (GL_INVALID_OPERATION) on the next scene's first render."""
    if ctx.screen is not None:
        ctx.screen.use()
        return
    # Kept in the context's own user-data slot, so it goes when the context goes.
    if not isinstance(ctx.extra, dict):
        ctx.extra = {}
    home = ctx.extra.get("home_framebuffer")
    if home is None:
        home = ctx.extra["home_framebuffer"] = ctx.simple_framebuffer((1, 1))
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
