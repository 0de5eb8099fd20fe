"""Rendering several edited faces of one photo into one image.

:class:`FaceRenderers` keeps a :class:`~super_gui.app.pipeline.PortraitRenderer` per fitted face (made when
the face is first drawn; the photo at each scale is shared) on the thread that owns the GL context.
:meth:`FaceRenderers.render` draws a list of (face, view) edits: one edited face is exactly the single-face
render; several are each rendered in their own window and laid from the farthest face to the nearest
(:func:`~super_gui.core.paste.paste_over`: nearer faces cover farther ones where they overlap), and every
pixel outside all edited regions is the input's, bit for bit. In previews the faces other than the first
(the one whose sliders move) are settled renders kept from frame to frame. No Qt.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Sequence

from super_gui.app.pipeline import PREVIEW_LONG_SIDE, PortraitRenderer, Prepared, Rendered
from super_gui.core.camera import View
from super_gui.core.paste import paste_over

Edit = tuple[Prepared, View]  # a fitted face and the view it is edited with


def edited(edits: Sequence[Edit]) -> list[Edit]:
    """The edits that change their face (not the photo as taken)."""
    return [(p, v) for p, v in edits if not v.is_identity(p.analysis.focal.focal_35mm)]


def farthest_first(edits: Sequence[Edit]) -> list[Edit]:
    """``edits`` in the order they are laid: from the farthest face (capture distance of its eyes) to the
    nearest; faces at the same distance from the left."""
    return sorted(edits, key=lambda e: (-e[0].analysis.distance_m, e[0].analysis.faces.chosen))


class FaceRenderers:
    """The renderers of the faces of one photo. Create and use on the thread that owns ``ctx``."""

    def __init__(self, ctx=None, preview_long_side: int = PREVIEW_LONG_SIDE):
        from super_gui.render.context import thread_context

        self.ctx = ctx or thread_context()
        self.preview_long_side = preview_long_side
        self._photo = None
        self._base: dict = {}
        self._renderers: dict[int, tuple[Prepared, PortraitRenderer]] = {}
        # The other faces' settled preview windows, by (face, view): a drag of one face renders only that face
        self._windows: dict[tuple[int, View], tuple] = {}

    def renderer(self, prepared: Prepared) -> PortraitRenderer:
        """The renderer of ``prepared`` (made on first use; a face of another photo releases the others)."""
        if self._photo is not prepared.photo:
            self.release()
            self._photo, self._base = prepared.photo, {}
        known = self._renderers.get(id(prepared))
        if known is not None and known[0] is prepared:
            return known[1]
        r = PortraitRenderer(prepared, ctx=self.ctx, preview_long_side=self.preview_long_side, base_cache=self._base)
        self._renderers[id(prepared)] = (prepared, r)
        return r

    def keep_only(self, prepared: Sequence[Prepared]) -> None:
        """Release the renderers of every face not in ``prepared`` (faces no longer edited, or fitted again)."""
        keep = {id(p) for p in prepared}
        for key in [k for k in self._renderers if k not in keep]:
            self._renderers.pop(key)[1].release()
        for key in [k for k in self._windows if k[0] not in keep]:
            del self._windows[key]

    def render(self, edits: Sequence[Edit], *, full: bool = False, draft: bool = False, draft_ratio: float = 1.0) -> Rendered:
        """The photo with every face of ``edits`` (the first: the primary face, whose view the result names)
        in its view, at preview scale or at full resolution (``full``); ``draft`` and ``draft_ratio`` as
        :meth:`PortraitRenderer.render` (several edited faces: drag frames at the preview's resolution, where
        the other faces' settled windows are kept). Renderers of faces not in ``edits`` are released."""
        primary, view = edits[0]
        changed = edited(edits)
        self.keep_only([primary, *(p for p, _ in changed)])
        if len(changed) <= 1:  # one face: the single-face render itself
            p, v = changed[0] if changed else edits[0]
            out = self.renderer(p).render(v, full=full, draft=draft, draft_ratio=draft_ratio)
            return out if out.view == view else dataclasses.replace(out, view=view)
        t0 = time.perf_counter()
        scale = 1.0 if full else self.renderer(primary).preview_scale
        base = self.renderer(primary).base_image(scale, full)
        image = base.copy()
        timings: dict[str, float] = {"faces": float(len(changed))}
        moved = None  # a drag frame: the primary face's window, the only one that changes from frame to frame
        for p, v in farthest_first(changed):
            window = self._window(p, v, full, draft, primary=p is primary)
            if window is None:
                continue
            crop, (ox, oy), t = window
            if draft and p is primary:
                moved = (ox / scale, oy / scale, crop.shape[1] / scale, crop.shape[0] / scale)
            for k, s in t.items():
                timings[k] = timings.get(k, 0.0) + s
            t = time.perf_counter()
            paste_over(image, base, crop, ox, oy)
            timings["paste"] = timings.get("paste", 0.0) + time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
        return Rendered(image, scale, view, timings, window=moved)

    def _window(self, p: Prepared, v: View, full: bool, draft: bool, primary: bool):
        """Face ``p``'s rendered window for ``v``. The other faces' (not the primary's) preview windows are
        settled renders kept from frame to frame: while the primary face's slider moves, only it is drawn."""
        if primary or full:
            return self.renderer(p).render_window(v, full=full, draft=draft)
        key = (id(p), v)
        if key not in self._windows:
            for k in [k for k in self._windows if k[0] == id(p)]:  # one view per face
                del self._windows[k]
            window = self.renderer(p).render_window(v)
            self._windows[key] = window if window is None else (window[0], window[1], {})
        return self._windows[key]

    def release_full_resolution(self) -> None:
        """Free the full-resolution textures a stopped render left uploaded (a finished full-resolution render
        frees its own; :func:`super_gui.render.tiles.cancellable`). Photos no larger than the preview keep theirs."""
        for _, r in self._renderers.values():
            if r.preview_scale != 1.0 and r.scene.has_scale(1.0):
                r.scene.release_scale(1.0)

    def release(self) -> None:
        for _, r in self._renderers.values():
            r.release()
        self._renderers.clear()
        self._windows.clear()
