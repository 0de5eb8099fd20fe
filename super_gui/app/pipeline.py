"""The whole edit, shared by the CLI and the editor: load -> analyze -> invert -> mesh, once per photo
(:func:`prepare`), then render -> blend for every view (:class:`PortraitRenderer`).

``prepare`` is plain CPU work with progress and cancellation (the editor runs it in a worker thread).
``PortraitRenderer`` owns the GL scene: it must be created and used on one thread (the one that owns the
context); it uploads textures once and re-uses them for every view. No Qt.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from super_gui.core.analysis import PhotoAnalysis, analyze_photo, no_progress
from super_gui.core.camera import View, VirtualCamera, virtual_camera
from super_gui.core.concurrent import Later
from super_gui.core.coverage import HeadCoverage, SupportedRanges, head_coverage, supported_ranges
from super_gui.core.generated import GeneratedView
from super_gui.core.image_io import Photo
from super_gui.core.mesh import PersonMesh, build_mesh
from super_gui.app.drafts import DraftPace, draft_meshes
from super_gui.core.strips import preview_uint8, strips, to_uint8_strips
from super_gui.errors import Cancelled, FaceAnalysisError, UserInputError
from super_gui.inversion.backends import backend
from super_gui.inversion.base import Inversion

Progress = Callable[[float, str], None]
PREVIEW_LONG_SIDE = 1024
YAW_RANGE = (-30.0, 30.0)
PITCH_RANGE = (-20.0, 20.0)
MAX_FOCAL_MM = 200.0


@dataclass(frozen=True)
class Prepared:
    """Everything about one photo that does not depend on the view."""

    photo: Photo
    analysis: PhotoAnalysis
    inversion: Inversion
    mesh: PersonMesh
    timings_s: dict = field(default_factory=dict)
    head: HeadCoverage | None = None  # the head's triangles for core.coverage.view_coverage
    supported: SupportedRanges | None = None  # the slider ranges this photo supports
    backend_options: dict = field(default_factory=dict)  # what the inversion backend was made with (the sidecar records it)
    # (h, w) float32 on the working grid: where the edit may touch the photo as it was (:func:`edit_reach`),
    # made with the fit, beside the coverage (None: the renderer makes it)
    edit_reach: np.ndarray | None = None

    def camera(self, view: View) -> VirtualCamera:
        """The virtual camera for ``view`` of this photo."""
        return view_camera(self.analysis, view)


def view_camera(analysis: PhotoAnalysis, view: View) -> VirtualCamera:
    """The virtual camera for ``view`` of the analysed photo."""
    a = analysis
    return virtual_camera(a.intrinsics, a.focal.focal_35mm, a.eye_midpoint, a.face_rotation, view)


def check_view(view: View, capture_focal_35mm: float) -> None:
    """Refuse views outside what the editor offers (its sliders' ranges), with a plain message."""
    if not YAW_RANGE[0] <= view.yaw_deg <= YAW_RANGE[1]:
        raise UserInputError(f"Yaw {view.yaw_deg:g} deg is outside the supported range ({YAW_RANGE[0]:g} to {YAW_RANGE[1]:g} deg).")
    if not PITCH_RANGE[0] <= view.pitch_deg <= PITCH_RANGE[1]:
        raise UserInputError(f"Pitch {view.pitch_deg:g} deg is outside the supported range ({PITCH_RANGE[0]:g} to {PITCH_RANGE[1]:g} deg).")
    if view.focal_35mm is not None and not (min(10.0, capture_focal_35mm) <= view.focal_35mm <= max(MAX_FOCAL_MM, capture_focal_35mm)):
        raise UserInputError(f"A focal length of {view.focal_35mm:g} mm is outside the supported range (10 to {MAX_FOCAL_MM:g} mm).")


def prepare(
    photo: Photo,
    *,
    face_index: int | None = None,
    capture_focal_35mm: float | None = None,
    distance_cm: float | None = None,
    backend_name: str = "landmark",
    backend_options: dict | None = None,
    progress: Progress = no_progress,
    is_cancelled: Callable[[], bool] = lambda: False,
) -> Prepared:
    """Analyse and invert ``photo`` and build its mesh (the slow, once-per-photo part), with the inversion
    backend ``backend_name`` made with ``backend_options`` (its constructor's keyword arguments; an
    unknown backend or option is a :class:`~super_gui.errors.UserInputError`)."""
    timings: dict[str, float] = {}
    inverter = backend(backend_name, **(backend_options or {}))  # (a mistake in the options: refused before the work)
    t = time.perf_counter()
    analysis = analyze_photo(
        photo,
        face_index=face_index,
        capture_focal_35mm=capture_focal_35mm,
        distance_cm=distance_cm,
        progress=lambda f, m: progress(0.4 * f, m),
        is_cancelled=is_cancelled,
    )
    timings["analysis"] = time.perf_counter() - t
    return fit_face(photo, analysis, inverter, timings, backend_options, progress, is_cancelled)


def fit_face(photo: Photo, analysis: PhotoAnalysis, inverter, timings: dict[str, float], backend_options: dict | None,
             progress: Progress = no_progress, is_cancelled: Callable[[], bool] = lambda: False) -> Prepared:
    """The analysed face ``analysis.faces.chosen`` of ``photo`` inverted with ``inverter`` (a backend made
    with ``backend_options``), its mesh built and its supported ranges measured (``timings`` gets the
    stages); progress runs from 0.4 to 1."""
    built: dict = {}

    def build(depth) -> None:  # (on a thread of its own, while the backend makes its textures)
        t0 = time.perf_counter()
        built["mesh"] = (depth, build_mesh(depth, analysis.intrinsics))
        timings["mesh"] = time.perf_counter() - t0

    later: list[Later] = []
    early = {"depth_ready": lambda depth: later.append(Later(lambda: build(depth), "mesh"))} if _takes_depth_ready(inverter) else {}
    t = time.perf_counter()
    try:
        inv = inverter.invert(photo, analysis, lambda f, m: progress(0.4 + 0.5 * f, m), is_cancelled, **early)
    finally:
        for piece in later:
            piece.result()
    timings["inversion"] = time.perf_counter() - t
    if is_cancelled():
        raise Cancelled()
    depth, mesh = built.get("mesh", (None, None))
    if depth is not inv.depth:  # (a backend that hands over no depth early, or another one)
        build(inv.depth)
        mesh = built["mesh"][1]
    if len(mesh.positions) == 0:  # the person segmentation found no one around this face (GL cannot draw nothing)
        faces = analysis.faces
        which = f"face {faces.chosen} of {photo.path.name}" if len(faces.faces) > 1 else f"the face in {photo.path.name}"
        raise FaceAnalysisError(f"super_gui cannot tell the person of {which} from the background; "
                                "try a photo where the person fills more of the frame.")
    t = time.perf_counter()
    reach = Later(lambda: edit_reach(inv, analysis), "edit reach")  # (~20 ms, beside the coverage; the renderer's)
    # What the photo can support, once per photo (~10-20 ms): the editor marks it on the sliders.
    head = head_coverage(mesh, analysis.intrinsics)
    supported = supported_ranges(head, lambda v: view_camera(analysis, v), analysis.focal.focal_35mm,
                                 YAW_RANGE, PITCH_RANGE, MAX_FOCAL_MM)
    timings["coverage"] = time.perf_counter() - t
    progress(1.0, "Ready")
    return Prepared(photo, analysis, inv, mesh, timings, head=head, supported=supported,
                    backend_options=dict(backend_options or {}), edit_reach=reach.result())


def _takes_depth_ready(inverter) -> bool:
    """The backend's ``invert`` takes ``depth_ready`` (the landmark backend's: the mesh is built beside its textures)."""
    try:
        return "depth_ready" in inspect.signature(inverter.invert).parameters
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class Rendered:
    """A finished view: ``image`` (H, W, 3) in the photo's dtype, at ``scale`` of the photo's size."""

    image: np.ndarray
    scale: float
    view: View
    timings_s: dict
    # (x, y, w, h) in photo pixels: the only part where ``image`` differs from the base image it was laid
    # on (None: anywhere). Consecutive drag frames differ only inside their two windows.
    window: tuple[float, float, float, float] | None = None


def edit_reach(inv: Inversion, analysis: PhotoAnalysis) -> np.ndarray:
    """(h, w) float32 on ``inv``'s working grid: where the edit may touch the photo as it was (the head,
    grown by 0.12 eye distances and feathered; exactly 0 beyond)."""
    d = inv.depth
    return _soft_reach(d.edit_weight, d.person, 0.12 * analysis.faces.face.eye_distance_px * d.grid.scale)


def _soft_reach(edit_weight: np.ndarray, person: np.ndarray, grow_px: float) -> np.ndarray:
    """(h, w) float32: where the edit may touch the original photo (the head as it was), grown by
    ``grow_px`` and feathered; exactly 0 beyond."""
    region = ((edit_weight > 1e-3) & (person > 0.05)).astype(np.uint8)
    r = max(1, int(round(grow_px)))
    grown = cv2.dilate(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    soft = cv2.GaussianBlur(grown.astype(np.float32), (0, 0), max(0.5, r / 2.0))
    return np.where(grown > 0, np.maximum(soft, region), 0.0).astype(np.float32)


def _paste(image: np.ndarray, crop: np.ndarray, ox: int, oy: int) -> None:
    """Paste the rendered window ``crop`` ((h, w, 4) uint8, alpha = paste weight) into ``image`` at
    (``ox``, ``oy``), in place, a band of rows at a time (no full-size temporaries at 100 MP)."""
    h, w = crop.shape[:2]
    region = image[oy : oy + h, ox : ox + w]
    if image.dtype == np.uint8:
        # The GPU copied the photo's own texels wherever the paste weight is 0. (cv2 writes into the
        # strided region in place, ~20x faster than numpy's channel-dropping assignment.)
        if not np.may_share_memory(cv2.cvtColor(crop, cv2.COLOR_RGBA2RGB, dst=region), region):
            region[...] = crop[..., :3]  # (cv2 would only allocate for a view it cannot write to)
        return
    # 16-bit: the head is blended in 8 bits on the GPU; every other pixel keeps its 16 bits.
    for rows in strips(h, w):
        c = crop[rows]
        touched = c[..., 3] > 0
        region[rows][touched] = c[..., :3][touched].astype(np.uint16) * 257


def preview_scale(width: int, height: int, long_side: int = PREVIEW_LONG_SIDE) -> float:
    """Preview pixels per photo pixel: the long side down to ``long_side``, never enlarged."""
    return min(1.0, long_side / max(width, height))



class PortraitRenderer:
    """Renders views of a prepared photo. Create and use on the thread that owns ``ctx``."""

    def __init__(self, prepared: Prepared, ctx=None, preview_long_side: int = PREVIEW_LONG_SIDE,
                 base_cache: dict | None = None):
        from super_gui.render.context import thread_context
        from super_gui.render.scene import PortraitScene, SceneInputs

        self.prepared = prepared
        self.ctx = ctx or thread_context()
        inv = prepared.inversion
        d = inv.depth
        g = d.grid
        reach = prepared.edit_reach
        inputs = SceneInputs(
            mesh=prepared.mesh,
            work_rect=(float(g.x0), float(g.y0), float(g.x1 - g.x0), float(g.y1 - g.y0)),
            generated=inv.generated,
            plate=inv.plate,
            edit_old=edit_reach(inv, prepared.analysis) if reach is None else reach,
        )
        self.scene = PortraitScene(self.ctx, inputs)
        self._settled_moving = self._moving(prepared.mesh)
        self._plate_reach = self._reach(inv.plate[..., 3], g)
        self._draft_moving = None  # the same of the drag frame's mesh (a quarter of the vertices)
        self.preview_scale = preview_scale(prepared.photo.width, prepared.photo.height, preview_long_side)
        # The photo at each scale; the renderers of a group photo's faces share one (base_cache)
        self._base: dict[tuple[float, bool], np.ndarray] = {} if base_cache is None else base_cache
        self._generated: tuple[View, GeneratedView | None] | None = None  # the last view asked of the backend
        self._draft = None  # render.draft.DraftPainter, made on the first drag
        self._draft_bases: dict[tuple[int, int], np.ndarray] = {}  # the preview at drag frame sizes
        self.pace = DraftPace()
        self._ensure_scale(self.preview_scale)

    def output_size(self, scale: float) -> tuple[int, int]:
        p = self.prepared.photo
        return (p.width, p.height) if scale == 1.0 else (max(1, round(p.width * scale)), max(1, round(p.height * scale)))

    def base_image(self, scale: float, full: bool = False) -> np.ndarray:
        """The photo at ``scale`` ((H, W, 3): the photo's own dtype for full-resolution output, uint8 for
        previews, even when a small photo's preview scale is 1)."""
        key = (scale, full)
        if key not in self._base:
            p = self.prepared.photo
            if full:
                self._base[key] = p.rgb
            elif scale == 1.0:
                self._base[key] = to_uint8_strips(p.rgb)
            else:
                self._base[key] = preview_uint8(p, self.output_size(scale))  # (the editor's load job made it)
        return self._base[key]

    def _ensure_scale(self, scale: float) -> None:
        """Upload the photo crop for ``scale`` once (full resolution only when first exported)."""
        if self.scene.has_scale(scale):
            return
        inv = self.prepared.inversion
        g = inv.depth.grid
        W, H = self.output_size(scale)
        ox, oy = int(np.floor(g.x0 * scale)), int(np.floor(g.y0 * scale))
        ex, ey = min(W, int(np.ceil(g.x1 * scale))), min(H, int(np.ceil(g.y1 * scale)))
        preview = scale == self.preview_scale
        if scale == 1.0 and not preview:
            # the photo's own pixels, made 8-bit a band at a time, and the matte's rows for each band
            rgb, matte = inv.texture_source, inv.matte_rows
        else:
            rgb = inv.texture_source if scale == 1.0 else self.base_image(scale)[oy:ey, ox:ex]
            matte = inv.matte_at(W, H, (ox, oy, ex, ey))
        rect = (ox / scale, oy / scale, (ex - ox) / scale, (ey - oy) / scale)
        # (rgb, matte) is uploaded a band at a time: at 100 MP the crop as one RGBA array would be ~340 MB.
        # (The drag frames' backdrop is not made here: prepare_drafts, once the first preview is shown.)
        self.scene.upload_scale(scale, np.dstack([to_uint8_strips(rgb), matte]) if preview else (rgb, matte), rect, (ox, oy))

    @staticmethod
    def _moving(mesh: PersonMesh) -> tuple[np.ndarray, ...]:
        """Positions, source pixels, head and edit weights of ``mesh``'s vertices the edit moves."""
        moving = mesh.edit_weight > 1e-3
        return (mesh.positions[moving].astype(np.float64), mesh.source_px[moving].astype(np.float64),
                mesh.head_weight[moving].astype(np.float64), mesh.edit_weight[moving].astype(np.float64)[:, None])

    @staticmethod
    def _reach(alpha: np.ndarray, g) -> np.ndarray:
        """(0 or 2, 2) full-resolution pixels: the corners of the box where the background plate's ``alpha``
        (on the working grid ``g``) is above 0 (a pixel beyond, each side)."""
        rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
        if len(rows) == 0:
            return np.zeros((0, 2))
        xs, ys = g.to_full_res(np.array([cols[0] - 1.0, cols[-1] + 1.0]), np.array([rows[0] - 1.0, rows[-1] + 1.0]))
        return np.stack([xs, ys], axis=1)

    def _moved_points(self, camera: VirtualCamera, draft: bool = False) -> np.ndarray:
        """(N, 2) full-resolution pixels: where the moving vertices were and where they go (``draft``: of
        the drag frame's mesh, whose outline keeps within a lattice step of the settled mesh's, well inside
        the windows' margin), and the corners of the background plate's reach: where the matte is soft far
        from the head (dark hair against a dark background), the plate shows beyond the moving vertices,
        and a window that cut it off left a straight seam in the picture."""
        pos, src, head, edit = self._draft_moving if draft else self._settled_moving
        new = camera.project(pos, head)
        new = src + (new - src) * edit
        return np.concatenate([new, src, self._plate_reach])

    def _view_window(self, camera: VirtualCamera, scale: float) -> tuple[int, int, int, int]:
        """(x, y, w, h) in output pixels of the scale's photo crop: where the head was and where it goes,
        with room for the blur and the feathered paste edge."""
        pts = self._moved_points(camera)
        margin = 0.3 * self.prepared.analysis.faces.face.eye_distance_px
        rx, ry, rw, rh = self.scene.rect(scale)
        w, h = self.scene.size(scale)
        x0 = int(np.clip(np.floor((pts[:, 0].min() - margin + 0.5 - rx) * scale), 0, w - 1))
        y0 = int(np.clip(np.floor((pts[:, 1].min() - margin + 0.5 - ry) * scale), 0, h - 1))
        x1 = int(np.clip(np.ceil((pts[:, 0].max() + margin + 0.5 - rx) * scale), x0 + 1, w))
        y1 = int(np.clip(np.ceil((pts[:, 1].max() + margin + 0.5 - ry) * scale), y0 + 1, h))
        return x0, y0, x1 - x0, y1 - y0

    def camera(self, view: View) -> VirtualCamera:
        return self.prepared.camera(view)

    # -- drag frames ------------------------------------------------------------------------------

    def draft_painter(self):
        """The drag frames' painter (render.draft), with its coarser meshes: made on the first drag."""
        if self._draft is None:
            from super_gui.render.draft import DraftPainter

            mesh, visibility = draft_meshes(self.prepared.inversion.depth, self.prepared.analysis.intrinsics)
            self._draft = DraftPainter(self.scene, mesh, visibility, self.scene.textures(self.preview_scale))
            self._draft_moving = self._moving(mesh)
        return self._draft

    def prepare_drafts(self) -> None:
        """Make what the first drag frame needs (the painter and its meshes, the backdrop: ~0.1 s at 12 MP),
        so that a photo's first preview does not wait for it and its first drag does not either (the render
        thread calls this when it has nothing else to do)."""
        self.draft_painter()
        self.scene.backdrop(self.scene.textures(self.preview_scale))

    def draft_size(self, ratio: float) -> tuple[int, int]:
        """A drag frame's size at ``ratio`` of the preview's resolution."""
        w, h = self.output_size(self.preview_scale)
        return (w, h) if ratio >= 1.0 else (max(1, round(w * ratio)), max(1, round(h * ratio)))

    def draft_base(self, ratio: float) -> np.ndarray:
        """The photo as a drag frame at ``ratio`` shows it: the preview itself, or the preview resampled
        bilinearly at each smaller pixel's centre, as the GPU samples it inside the frame's window."""
        size = self.draft_size(ratio)
        base = self.base_image(self.preview_scale)
        if size == (base.shape[1], base.shape[0]):
            return base
        if size not in self._draft_bases:
            while len(self._draft_bases) >= 4:  # (a drag settles on one or two sizes)
                del self._draft_bases[next(iter(self._draft_bases))]
            self._draft_bases[size] = cv2.resize(base, size, interpolation=cv2.INTER_LINEAR)
        return self._draft_bases[size]

    def _draft_window(self, camera: VirtualCamera, ratio: float, timings: dict):
        """A drag frame's window (as :meth:`render_window`) at ``ratio`` of the preview's resolution."""
        t = time.perf_counter()
        painter = self.draft_painter()
        timings["draft_meshes"] = time.perf_counter() - t  # (the first drag's)
        t = time.perf_counter()
        scale = self.preview_scale
        st = self.scene.textures(scale)
        (pw, ph), (dw, dh) = self.output_size(scale), self.draft_size(ratio)
        kx, ky = scale * dw / pw, scale * dh / ph  # drag frame pixels per full-resolution pixel
        ox, oy = self.scene.origin(scale)
        cw, ch = self.scene.size(scale)
        pts = self._moved_points(camera, draft=True)
        margin = 0.3 * self.prepared.analysis.faces.face.eye_distance_px
        # the window, in drag frame pixels: inside the photo crop, around where the head was and goes
        lo_x, hi_x = int(np.floor(ox * dw / pw)), min(dw, int(np.ceil((ox + cw) * dw / pw)))
        lo_y, hi_y = int(np.floor(oy * dh / ph)), min(dh, int(np.ceil((oy + ch) * dh / ph)))
        x0 = int(np.clip(np.floor((pts[:, 0].min() - margin + 0.5) * kx), lo_x, hi_x - 1))
        y0 = int(np.clip(np.floor((pts[:, 1].min() - margin + 0.5) * ky), lo_y, hi_y - 1))
        x1 = int(np.clip(np.ceil((pts[:, 0].max() + margin + 0.5) * kx), x0 + 1, hi_x))
        y1 = int(np.clip(np.ceil((pts[:, 1].max() + margin + 0.5) * ky), y0 + 1, hi_y))
        rect = (x0 / kx, y0 / ky, (x1 - x0) / kx, (y1 - y0) / ky)
        crop = painter.render(camera, st, rect, (x1 - x0, y1 - y0), same_resolution=(dw, dh) == (pw, ph))
        timings["render"] = time.perf_counter() - t
        return crop, (x0, y0), timings

    def generated_view(self, view: View) -> GeneratedView | None:
        """The backend's own image of ``view`` (:meth:`Inversion.generate`), asked once per view: the last
        answer is kept, so a preview followed by an export of the same view generates once."""
        if self._generated is None or self._generated[0] != view:
            self._generated = (view, self.prepared.inversion.generate(view))
        return self._generated[1]

    def render(self, view: View, *, full: bool = False, draft: bool = False, draft_ratio: float = 1.0) -> Rendered:
        """The blended view at preview scale, or at full resolution (``full=True``). ``draft`` is the fast
        variant for frames shown while a slider moves (no pyramid blend, coarser meshes, and no image from
        the backend's generator: only settled frames ask for one, :meth:`generated_view`), drawn at
        ``draft_ratio`` of the preview's resolution at most (less while drag frames take longer than
        their budget: :class:`~super_gui.app.drafts.DraftPace`)."""
        t0 = time.perf_counter()
        if draft and not full:
            draft_ratio = self.pace.ratio(draft_ratio)
            base = self.draft_base(draft_ratio)
            scale = self.preview_scale * base.shape[1] / self.output_size(self.preview_scale)[0]
        else:
            scale = 1.0 if full else self.preview_scale
            base = self.base_image(scale, full)
        window = self.render_window(view, full=full, draft=draft, draft_ratio=draft_ratio)
        if window is None:
            return Rendered(base, scale, view, {"total": time.perf_counter() - t0})
        crop, (ox, oy), timings = window
        if draft and not full:
            self.pace.record(timings["render"], crop.shape[0] * crop.shape[1], draft_ratio)
            timings["ratio"] = draft_ratio
        t = time.perf_counter()
        image = base.copy()
        _paste(image, crop, ox, oy)
        timings["paste"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
        h, w = crop.shape[:2]
        return Rendered(image, scale, view, timings, window=(ox / scale, oy / scale, w / scale, h / scale))

    def render_window(self, view: View, *, full: bool = False, draft: bool = False, draft_ratio: float = 1.0
                      ) -> tuple[np.ndarray, tuple[int, int], dict] | None:
        """The rendered window of ``view`` ((h, w, 4) uint8, alpha = paste weight), where it goes in the
        image at its scale ((x, y) in output pixels; a drag frame's scale is ``draft_ratio`` of the
        preview's, :meth:`draft_base`) and the timings; None for the photo as taken."""
        scale = 1.0 if full else self.preview_scale
        a = self.prepared.analysis
        if view.is_identity(a.focal.focal_35mm):
            return None
        t = time.perf_counter()
        self._ensure_scale(scale)
        timings = {"upload": time.perf_counter() - t}
        camera = self.camera(view)
        if draft and not full:
            return self._draft_window(camera, draft_ratio, timings)
        window = self._view_window(camera, scale)
        t = time.perf_counter()
        generated = self.generated_view(view)
        timings["generate"] = time.perf_counter() - t
        crop, timings["render"] = self.scene.render(camera, scale, a.faces.face.eye_distance_px * scale, window,
                                                    generated=generated)
        ox, oy = self.scene.origin(scale)
        from super_gui.render.tiles import stoppable

        if full and scale != self.preview_scale and not stoppable():
            # The full-resolution textures go before the copy of the photo is made (at 100 MP the photo
            # texture alone is ~300 MB); a next export uploads them again. A big window is drawn in tiles
            # (render/scene.py), so GL never holds more than a tile's targets next to ``crop``. (After an
            # interactive close-up they stay for the next one: the render thread frees them once idle, and
            # freeing them here, ~0.25 s, would keep a slider move waiting.)
            self.scene.release_scale(scale)
        return crop, (ox + window[0], oy + window[1]), timings

    def release(self) -> None:
        if self._draft is not None:
            self._draft.release()
            self._draft = None
        self.scene.release()
