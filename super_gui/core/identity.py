"""How well an edit keeps the person's identity: the distance between face embeddings of the original
and of an edited view (dlib's ResNet face-recognition model, 128-d; by dlib's convention a distance
below 0.6 is the same person).

The models come from the ``face-recognition-models`` package (dlib_face_recognition_resnet_model_v1.dat
and shape_predictor_5_face_landmarks.dat); its files are found with ``importlib.util.find_spec`` and the
package itself is never imported (it imports ``pkg_resources`` at import time). ``dlib`` is the prebuilt
``dlib-bin`` wheel. Either may be missing: :func:`identity_model` then raises
:class:`IdentityUnavailable` with one sentence, and callers hide the readout.

The face box comes from the project's own analysis, not dlib's detector: the face oval's landmarks,
found on the mesh (:func:`oval_points`), projected into the view (:func:`face_box`). The face is cropped
and scaled to ``FACE_BOX_PX`` before dlib sees it, so a 12 MP photo costs what a thumbnail does:
~100 ms an embedding on one CPU core (the ResNet on dlib's 150 px aligned chip; dlib-bin has no BLAS).

Must not import Qt, the renderer or the inversion backends (import-linter contract in pyproject.toml).
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import cv2
import numpy as np

from super_gui.core.camera import VirtualCamera
from super_gui.core.face import FACE_OVAL
from super_gui.core.mesh import SKIRT_QUALITY, PersonMesh

SAME_PERSON = 0.6  # dlib's threshold: below it, the same person
DRIFTING = 0.4  # at or above it the edit is visibly moving away from the person (re-renders of a photo by
# itself score 0.0-0.35 over the sliders' supported ranges on the sample photos; other photos of the same
# person typically 0.3-0.5)
FACE_BOX_PX = 160  # the face box's side in the crop dlib sees (its aligned chip is 150 px)
BOX_SIDE = 0.94  # dlib's detector box is a square ~0.94 x sqrt(oval width x height), on the oval's centre
MODEL_FILES = ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")
INSTALL_HINT = "pip install dlib-bin face-recognition-models"


class IdentityUnavailable(RuntimeError):
    """The face-recognition model cannot be used here (one sentence for the status bar or log)."""


def model_folder() -> Path:
    """The folder holding the face-recognition-models files, without importing that package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None:
        raise IdentityUnavailable(f"Identity readout off: the face-recognition models are not installed ({INSTALL_HINT}).")
    roots = list(spec.submodule_search_locations or []) or ([str(Path(spec.origin).parent)] if spec.origin else [])
    for root in roots:
        folder = Path(root) / "models"
        if all((folder / f).is_file() for f in MODEL_FILES):
            return folder
    raise IdentityUnavailable("Identity readout off: the face-recognition-models package has no model files.")


class IdentityModel:
    """dlib's 5-point shape predictor and face-recognition ResNet, loaded once (~0.2 s). dlib's objects
    are not documented as thread-safe: one lock serialises their use."""

    def __init__(self, folder: Path):
        try:
            import dlib
        except ImportError as e:
            raise IdentityUnavailable(f"Identity readout off: dlib is not installed ({INSTALL_HINT}).") from e
        try:
            self._shape = dlib.shape_predictor(str(folder / MODEL_FILES[0]))
            self._net = dlib.face_recognition_model_v1(str(folder / MODEL_FILES[1]))
        except RuntimeError as e:
            raise IdentityUnavailable(f"Identity readout off: the face-recognition model could not be loaded ({e}).") from e
        self._rect = dlib.rectangle
        self._lock = threading.Lock()

    def embedding(self, rgb8: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        """(128,) float64 embedding of the face in ``rgb8`` ((H, W, 3) uint8) inside ``box`` (x0, y0, x1, y1
        in its pixels: the face oval's bounding box, see :func:`face_box`)."""
        crop, rect = _face_crop(rgb8, box)
        with self._lock:
            shape = self._shape(crop, self._rect(*rect))
            return np.asarray(self._net.compute_face_descriptor(crop, shape), dtype=np.float64)


_model: IdentityModel | None = None
_model_error: IdentityUnavailable | None = None
_model_lock = threading.Lock()


def identity_model() -> IdentityModel:
    """The shared model (loaded on first use); raises :class:`IdentityUnavailable` (every time, cheaply,
    once it has failed) where dlib or the model files are missing."""
    global _model, _model_error
    with _model_lock:
        if _model is None and _model_error is None:
            try:
                _model = IdentityModel(model_folder())
            except IdentityUnavailable as e:
                _model_error = e
        if _model_error is not None:
            raise _model_error
        return _model


def identity_available() -> str | None:
    """None when the model can be had, else the sentence saying why not (cheap: nothing is loaded)."""
    if importlib.util.find_spec("dlib") is None:
        return f"Identity readout off: dlib is not installed ({INSTALL_HINT})."
    try:
        model_folder()
    except IdentityUnavailable as e:
        return str(e)
    return None


def _face_crop(rgb8: np.ndarray, box: tuple[float, float, float, float]) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A contiguous crop around ``box`` scaled so the face box is FACE_BOX_PX wide, and the dlib-style
    square (left, top, right, bottom) in the crop's pixels."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    side = BOX_SIDE * float(np.sqrt(max(x1 - x0, 1.0) * max(y1 - y0, 1.0)))
    h, w = rgb8.shape[:2]
    half = 1.1 * side  # room for the chip's padding around the aligned face
    X0, Y0 = int(max(0, np.floor(cx - half))), int(max(0, np.floor(cy - half)))
    X1, Y1 = int(min(w, np.ceil(cx + half))), int(min(h, np.ceil(cy + half)))
    if X1 - X0 < 8 or Y1 - Y0 < 8:
        raise ValueError("the face box lies outside the image")
    s = FACE_BOX_PX / side
    crop = rgb8[Y0:Y1, X0:X1]
    size = (max(1, round((X1 - X0) * s)), max(1, round((Y1 - Y0) * s)))
    crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if s < 1.0 else cv2.INTER_LINEAR)
    r = (round((cx - side / 2 - X0) * s), round((cy - side / 2 - Y0) * s), round((cx + side / 2 - X0) * s), round((cy + side / 2 - Y0) * s))
    return np.ascontiguousarray(crop), r


def oval_points(mesh: PersonMesh, landmarks_px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The face oval on the mesh: for each FACE_OVAL landmark ((478, >=2) full-resolution pixels), the
    photographed mesh vertex nearest to it: (K, 3) capture camera space positions and (K,) head weights."""
    from scipy.spatial import cKDTree

    seen = np.nonzero(mesh.quality > SKIRT_QUALITY + 0.5)[0]
    _, nearest = cKDTree(mesh.source_px[seen]).query(np.asarray(landmarks_px)[list(FACE_OVAL), :2])
    idx = seen[nearest]
    return mesh.positions[idx].astype(np.float64), mesh.head_weight[idx].astype(np.float64)


def face_box(points: np.ndarray, head_weight: np.ndarray, camera: VirtualCamera, scale: float = 1.0) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) bounding box, in pixels of an image at ``scale`` of the photo, of the face oval
    (:func:`oval_points`) seen by ``camera``."""
    px = camera.project(points, head_weight) * scale
    return float(px[:, 0].min()), float(px[:, 1].min()), float(px[:, 0].max()), float(px[:, 1].max())


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two embeddings (dlib: < 0.6 is the same person)."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def identity_verdict(distance: float) -> str:
    """How a person would put ``distance``: the same person, drifting, or not the same face."""
    if distance < DRIFTING:
        return "same person"
    return "drifting" if distance < SAME_PERSON else "not the same face"


def identity_text(distance: float) -> str:
    """The status bar's words, e.g. ``Identity 0.21 (same person)``."""
    return f"Identity {distance:.2f} ({identity_verdict(distance)})"
