"""Face analysis: MediaPipe Face Mesh landmarks and person segmentation, in full-resolution pixels.

MediaPipe runs on a copy downscaled to ``ANALYSIS_LONG_SIDE`` (its detector works on a 128 px copy and
the mesh on a 192 px crop anyway, so more pixels only cost time); the landmarks are mapped back to the
full-resolution photo. Uses only the legacy ``mp.solutions`` API, whose models ship inside the
mediapipe 0.10.21 wheel (nothing is downloaded).

Must not: import Qt, touch files, or keep a reference to the photo.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import sys
import threading
import time
import types
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from super_gui.errors import FaceAnalysisError

os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ logging: errors only
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ANALYSIS_LONG_SIDE = 1280
MAX_FACES = 8
MIN_EYE_DISTANCE_PX = 40.0  # iris centres; about 60 px across the outer eye corners
IRIS_A, IRIS_B = 468, 473  # iris centres (refined landmarks)
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)  # clockwise
AMBIGUOUS_SIZE_RATIO = 0.75  # a face at least this big next to the largest makes the default choice unsafe
NOSE_TIP = 1
CHIN = 152


@dataclass(frozen=True)
class Face:
    """One detected face in full-resolution pixel coordinates.

    ``landmarks``: (478, 3) float64: x, y in pixels of the (oriented) photo; z is MediaPipe's relative
    depth in the same pixel scale (negative toward the camera, zero near the face centre).
    """

    landmarks: np.ndarray

    @property
    def iris_left(self) -> np.ndarray:
        """(2,) the iris centre on the image's left."""
        a, b = self.landmarks[IRIS_A, :2], self.landmarks[IRIS_B, :2]
        return a if a[0] <= b[0] else b

    @property
    def iris_right(self) -> np.ndarray:
        a, b = self.landmarks[IRIS_A, :2], self.landmarks[IRIS_B, :2]
        return b if a[0] <= b[0] else a

    @property
    def eye_midpoint_px(self) -> np.ndarray:
        """(2,) pixel position of E (the midpoint of the two iris centres)."""
        return (self.landmarks[IRIS_A, :2] + self.landmarks[IRIS_B, :2]) / 2.0

    @property
    def eye_distance_px(self) -> float:
        return float(np.linalg.norm(self.landmarks[IRIS_A, :2] - self.landmarks[IRIS_B, :2]))

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the face oval in pixels."""
        oval = self.landmarks[list(FACE_OVAL), :2]
        return float(oval[:, 0].min()), float(oval[:, 1].min()), float(oval[:, 0].max()), float(oval[:, 1].max())

    @property
    def oval_px(self) -> np.ndarray:
        """(36, 2) face-oval polygon in pixels (for outlining faces in the editor)."""
        return self.landmarks[list(FACE_OVAL), :2].copy()


@dataclass(frozen=True)
class FaceAnalysis:
    """All faces of a photo (left to right) and the person mask.

    ``person_mask``: (h, w) float32 in [0, 1] at ``mask_scale`` of the photo's size (the analysis copy),
    resize it with :func:`person_mask_at`.
    """

    faces: tuple[Face, ...]
    chosen: int
    person_mask: np.ndarray
    image_size: tuple[int, int]  # (width, height) of the full-resolution photo
    timings_s: dict[str, float] = field(default_factory=dict)
    chosen_by_user: bool = False
    problems: tuple[str | None, ...] = ()  # per face: why it cannot be edited (cut off, too small), or None

    @property
    def face(self) -> Face:
        return self.faces[self.chosen]

    @property
    def ambiguous(self) -> bool:
        """Several faces of similar size and none asked for: which one to edit is the user's call."""
        if self.chosen_by_user or len(self.faces) < 2:
            return False
        sizes = sorted((f.eye_distance_px for i, f in enumerate(self.faces) if self.usable(i)), reverse=True)
        return len(sizes) > 1 and sizes[1] >= AMBIGUOUS_SIZE_RATIO * sizes[0]

    def usable(self, index: int) -> bool:
        """The face can be edited (whole in the picture, large enough); see ``problems``."""
        return not self.problems or self.problems[index] is None

    @property
    def usable_indices(self) -> tuple[int, ...]:
        """The faces that can be edited, from the left."""
        return tuple(i for i in range(len(self.faces)) if self.usable(i))

    def choose(self, index: int, name: str = "The photo") -> "FaceAnalysis":
        """These faces with face ``index`` as the edited one, as :func:`analyze_faces` would have chosen it
        when asked for it (the same refusals, in the same words; ``name`` is the photo's)."""
        if not 0 <= index < len(self.faces):
            raise FaceAnalysisError(_no_such_face(name, len(self.faces), index))
        if not self.usable(index):
            raise FaceAnalysisError(self.problems[index])
        return dataclasses.replace(self, chosen=index, chosen_by_user=True)

    def describe_faces(self, editable_only: bool = False) -> str:
        """'0 (left, pupils 67 px apart), 1 (centre, 84 px apart), 2 (right, 70 px apart, cannot be edited)'
        for messages; ``editable_only`` lists the faces that can be edited and counts the others."""
        w = self.image_size[0]
        parts, others = [], 0
        for i, f in enumerate(self.faces):
            if editable_only and not self.usable(i):
                others += 1
                continue
            x = f.eye_midpoint_px[0] / max(1, w)
            where = "left" if x < 1 / 3 else "right" if x > 2 / 3 else "centre"
            parts.append(f"{i} ({where}, pupils {f.eye_distance_px:.0f} px apart{'' if self.usable(i) else ', cannot be edited'})")
        if others:
            parts.append(f"and {others} more that cannot be edited (cut off by the frame or too small)")
        return ", ".join(parts)

    def ambiguity(self, name: str) -> str:
        """The sentence asking which face to edit, for a photo called ``name`` (see ``ambiguous``)."""
        n = sum(self.usable(i) for i in range(len(self.faces)))
        return f"{name} has {n} faces of similar size that can be edited ({self.describe_faces(editable_only=True)})"


_lock = threading.Lock()
_models: dict[str, object] = {}


def _mp_models():
    """Face detector, Face Mesh and Selfie Segmentation graphs, built once per process (they are not
    thread-safe: callers hold ``_lock``)."""
    if not _models:
        # Built on a thread of its own: importing MediaPipe keeps an exception for good (an optional audio
        # library missing), and with it every frame of the stack it was raised in. On the caller's stack
        # that would keep the caller's arrays alive for the life of the process (a 96 MP 16-bit photo's
        # 8-bit copy, 274 MB, and a batch's first photo).
        failed: list[BaseException] = []

        def build() -> None:
            try:
                _build_models()
            except BaseException as e:  # raised again below, on the caller's thread
                failed.append(e)

        try:
            builder = threading.Thread(target=build, name="mediapipe-graphs")
            builder.start()
            builder.join()
        except RuntimeError:  # no thread to be had (e.g. under a tight memory limit): build here
            build()
        if failed:
            raise failed[0]
    return _models["detector"], _models["mesh"], _models["seg"]


# What ``import mediapipe`` runs and super_gui never calls: the drawing helpers (they import matplotlib.pyplot),
# the other solutions and the Tasks API: ~0.6 s of the ~0.8 s that import takes. They load on first use instead.
# (module name, file under the mediapipe package; a package's file is its __init__.py)
_UNUSED_MEDIAPIPE = tuple((f"mediapipe.python.solutions.{m}", f"python/solutions/{m}.py")
                          for m in ("drawing_utils", "drawing_styles", "hands", "holistic", "objectron", "pose")) + (
    ("mediapipe.tasks", "tasks/__init__.py"), ("mediapipe.tasks.python", "tasks/python/__init__.py"))


class _LoadedOnFirstUse(types.ModuleType):
    """A module whose code runs when one of its names is first asked for (the import system's own look-ups,
    ``__spec__``, ``__path__`` and the like, find them set already and do not run it)."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        self.__class__ = types.ModuleType  # a plain module from now on (and while its code runs)
        self.__spec__.loader.exec_module(self)
        return getattr(self, name)


def import_mediapipe():
    """``import mediapipe``, with the parts super_gui never uses (:data:`_UNUSED_MEDIAPIPE`) loaded on first
    use rather than at import, so ``mp.solutions.drawing_utils`` and the rest still work when asked for. Falls
    back to the plain import for any file not where mediapipe 0.10.21 keeps it."""
    if "mediapipe" not in sys.modules:
        spec = importlib.util.find_spec("mediapipe")  # (finds the package without importing it)
        root = Path(spec.submodule_search_locations[0]) if spec is not None and spec.submodule_search_locations else None
        for name, file in _UNUSED_MEDIAPIPE if root is not None else ():
            path = root / file
            if name in sys.modules or not path.is_file():
                continue
            package = [str(path.parent)] if path.name == "__init__.py" else None
            module = _LoadedOnFirstUse(name)
            module.__spec__ = importlib.util.spec_from_file_location(name, path, submodule_search_locations=package)
            module.__loader__, module.__file__ = module.__spec__.loader, str(path)
            if package is not None:
                module.__path__ = package
            sys.modules[name] = module
    import mediapipe as mp

    for name, _ in _UNUSED_MEDIAPIPE:  # (the import found them in sys.modules, so it did not bind them)
        parent, _, short = name.rpartition(".")
        module, outer = sys.modules.get(name), sys.modules.get(parent)
        if module is not None and outer is not None and short not in vars(outer):
            setattr(outer, short, module)
    return mp


def _build_models() -> None:
    mp = import_mediapipe()  # slow import (~0.25 s): only when a photo is analysed

    # The full-range detector finds small faces too (group photos); Face Mesh then runs on a crop
    # around each detection, where its own short-range detector sees one large face.
    models = {"detector": mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5),
              "mesh": mp.solutions.face_mesh.FaceMesh(
                  static_image_mode=True, refine_landmarks=True, max_num_faces=1, min_detection_confidence=0.5),
              "seg": mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)}
    _models.update(models)


def warm_up() -> None:
    """Build the MediaPipe graphs ahead of time (the editor does this while the window opens)."""
    with _lock:
        _mp_models()


class _Ahead:
    """An analysis copy made ahead (:func:`downscale_ahead`): of the array ``ref`` names, ready once ``done``."""

    def __init__(self, rgb8: np.ndarray):
        self.ref, self.done, self.small = weakref.ref(rgb8), threading.Event(), None


_ahead: _Ahead | None = None
_ahead_lock = threading.Lock()


def downscale_ahead(rgb8: np.ndarray) -> Callable[[], None]:
    """Say that :func:`detect_faces`' copy of ``rgb8`` at the analysis scale will be made ahead, for the next
    :func:`detect_faces` of this very array (which waits for it rather than making its own); returns the
    function that makes it (call it next, on the thread that does). One copy is kept, with a weak reference
    to ``rgb8`` (never the photo). The editor's head start makes it once the photo is decoded, while
    MediaPipe's graphs are most often still being built on its other thread: ~40 ms on an idle 2-core
    machine (12 MP), twice that at start-up, out of the way to the faces. The same call, the same copy."""
    global _ahead
    h, w = rgb8.shape[:2]
    if min(1.0, ANALYSIS_LONG_SIDE / max(h, w)) >= 1.0:
        return lambda: None  # (the copy would be the photo itself)
    slot = _Ahead(rgb8)
    with _ahead_lock:
        _ahead = slot

    def make() -> None:
        try:
            slot.small = _downscale(rgb8, ANALYSIS_LONG_SIDE)
        finally:
            slot.done.set()

    return make


def _analysis_copy(rgb8: np.ndarray) -> tuple[np.ndarray, float]:
    """``_downscale(rgb8, ANALYSIS_LONG_SIDE)``: the one made ahead for this array when there is one (waited for
    while it is being made), else made now."""
    global _ahead
    with _ahead_lock:
        slot, _ahead = _ahead, None
    if slot is not None and slot.ref() is rgb8:
        slot.done.wait()
        if slot.small is not None:
            return slot.small
    return _downscale(rgb8, ANALYSIS_LONG_SIDE)


def _downscale(rgb8: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    h, w = rgb8.shape[:2]
    s = min(1.0, long_side / max(h, w))
    if s >= 1.0:
        return np.ascontiguousarray(rgb8), 1.0
    small = cv2.resize(rgb8, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return small, s


def _tiles(w: int, h: int) -> list[tuple[int, int, int, int]]:
    """Square tiles (x, y, size, size) covering the image with half-tile overlap: the detector squeezes
    its input to 192 px, so a wide group photo is looked at one square at a time, plus once whole."""
    side = min(w, h)
    tiles = [(0, 0, w, h)]
    if max(w, h) > 1.3 * side:
        step = side // 2
        xs = list(range(0, max(1, w - side + 1), step)) + [w - side]
        ys = list(range(0, max(1, h - side + 1), step)) + [h - side]
        tiles += [(x, y, side, side) for y in sorted(set(ys)) for x in sorted(set(xs))]
    return tiles


def _detect_boxes(detector, img: np.ndarray) -> list[np.ndarray]:
    """Face boxes (x0, y0, x1, y1) in ``img`` pixels, duplicates across tiles merged."""
    h, w = img.shape[:2]
    boxes: list[tuple[float, np.ndarray]] = []
    for x, y, tw, th in _tiles(w, h):
        res = detector.process(np.ascontiguousarray(img[y : y + th, x : x + tw]))
        for det in res.detections or []:
            bb = det.location_data.relative_bounding_box
            box = np.array([x + bb.xmin * tw, y + bb.ymin * th, x + (bb.xmin + bb.width) * tw, y + (bb.ymin + bb.height) * th])
            boxes.append((float(det.score[0]), box))
    kept: list[np.ndarray] = []
    for _, box in sorted(boxes, key=lambda sb: -sb[0]):
        if all(_iou(box, k) < 0.3 for k in kept):
            kept.append(box)
    return kept


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _mesh_in_box(mesh, img: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """Face Mesh on a square crop around ``box`` (twice its size, padded with edge pixels where it leaves
    the image, so a face near the border keeps its context). Returns (478, 3) in ``img`` pixels."""
    h, w = img.shape[:2]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = int(round(2.0 * max(box[2] - box[0], box[3] - box[1])))
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    pad = max(0, -x0, -y0, x0 + side - w, y0 + side - h)
    src = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE) if pad else img
    crop = np.ascontiguousarray(src[y0 + pad : y0 + pad + side, x0 + pad : x0 + pad + side])
    res = mesh.process(crop)
    if not res.multi_face_landmarks:
        return None
    a = np.array([(p.x, p.y, p.z) for p in res.multi_face_landmarks[0].landmark], dtype=np.float64) * side
    # MediaPipe measures from the crop's edge; pixel centres sit at whole numbers.
    a[:, 0] += x0 - 0.5
    a[:, 1] += y0 - 0.5
    return a


def detect_faces(rgb8: np.ndarray) -> tuple[list[Face], np.ndarray, dict[str, float]]:
    """Detect faces, their landmarks and the person mask. rgb8: (H, W, 3) uint8. Returns the faces
    (unsorted, full-resolution pixels), the person mask at the analysis scale, and timings."""
    timings: dict[str, float] = {}
    h, w = rgb8.shape[:2]
    t = time.perf_counter()
    small, _ = _analysis_copy(rgb8)
    sh, sw = small.shape[:2]
    sx, sy = w / sw, h / sh
    timings["downscale"] = time.perf_counter() - t
    faces: list[Face] = []
    with _lock:
        detector, mesh, seg = _mp_models()
        t = time.perf_counter()
        boxes = _detect_boxes(detector, small)
        timings["detection"] = time.perf_counter() - t
        t = time.perf_counter()
        for box in boxes:
            a = _mesh_in_box(mesh, small, box)
            if a is None:
                continue
            # Analysis pixels -> full-resolution pixels (z is scaled like x).
            a[:, 0] = (a[:, 0] + 0.5) * sx - 0.5
            a[:, 1] = (a[:, 1] + 0.5) * sy - 0.5
            a[:, 2] *= sx
            face = Face(a)
            if all(_iou(np.array(face.bbox), np.array(f.bbox)) < 0.3 for f in faces):
                faces.append(face)
        timings["landmarks"] = time.perf_counter() - t
        t = time.perf_counter()
        mask = seg.process(small).segmentation_mask
        timings["segmentation"] = time.perf_counter() - t
    return faces, np.asarray(mask, dtype=np.float32), timings


def analyze_faces(rgb8: np.ndarray, face_index: int | None = None, *, name: str = "The photo") -> FaceAnalysis:
    """Find the faces of a photo and pick the one to edit.

    rgb8: (H, W, 3) uint8, orientation applied. ``face_index`` counts faces from the left, from 0; by
    default the largest face is chosen. Raises :class:`FaceAnalysisError` with a specific message when
    there is no usable face.
    """
    if rgb8.ndim != 3 or rgb8.shape[2] != 3 or rgb8.dtype != np.uint8:
        raise ValueError("rgb8 must be (H, W, 3) uint8")
    h, w = rgb8.shape[:2]
    faces, mask, timings = detect_faces(rgb8)
    if not faces:
        raise FaceAnalysisError(f"{name} shows no face super_gui can find; it needs a photo of a face seen from the front or side.")
    faces.sort(key=lambda f: float(f.landmarks[:, 0].mean()))
    if face_index is None:
        chosen = int(np.argmax([f.eye_distance_px for f in faces]))
    elif not 0 <= face_index < len(faces):
        raise FaceAnalysisError(_no_such_face(name, len(faces), face_index))
    else:
        chosen = face_index
    # Only the edited face must be whole and large enough: other people may be cut off by the frame.
    problems = tuple(face_problem(f, w, h, f"Face {i} of {name}" if len(faces) > 1 else f"The face in {name}")
                     for i, f in enumerate(faces))
    if face_index is None and problems[chosen] is not None and any(p is None for p in problems):
        chosen = max((i for i, p in enumerate(problems) if p is None), key=lambda i: faces[i].eye_distance_px)
    if problems[chosen] is not None:
        raise FaceAnalysisError(problems[chosen])
    return FaceAnalysis(tuple(faces), chosen, mask, (w, h), timings, chosen_by_user=face_index is not None, problems=problems)


def _no_such_face(name: str, n: int, face_index: int) -> str:
    return (f"{name} has {n} face{'s' if n != 1 else ''}; face index {face_index} does not exist "
            f"(choose 0{f' to {n - 1}' if n > 1 else ''}, counted from the left).")


def face_problem(face: Face, w: int, h: int, which: str) -> str | None:
    """Why ``face`` of a (w, h) photo cannot be edited (``which`` names it), or None when it can."""
    oval = face.oval_px
    x0, y0, x1, y1 = face.bbox
    margin = 0.02 * max(x1 - x0, y1 - y0)  # landmark jitter at a face touching the border
    outside = (oval[:, 0] < -margin) | (oval[:, 0] > w - 1 + margin) | (oval[:, 1] < -margin) | (oval[:, 1] > h - 1 + margin)
    if outside.any():
        return f"{which} is cut off by the image border; super_gui needs the whole face in the picture."
    if face.eye_distance_px < MIN_EYE_DISTANCE_PX:
        return (f"{which} is too small: its pupils are {face.eye_distance_px:.0f} px apart and super_gui needs at least "
                f"{MIN_EYE_DISTANCE_PX:.0f} px (about 60 px across the eyes); use a larger photo or a closer shot.")
    return None


def person_mask_at(analysis: FaceAnalysis, width: int, height: int) -> np.ndarray:
    """The person mask resized to (height, width), float32 in [0, 1]."""
    return cv2.resize(analysis.person_mask, (width, height), interpolation=cv2.INTER_LINEAR)
