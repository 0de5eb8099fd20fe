"""Face analysis on real photos that packages ship, and on photos made from them."""

import cv2
import numpy as np
import pytest

from super_gui.core.face import IRIS_A, IRIS_B, analyze_faces
from super_gui.errors import FaceAnalysisError
from tests.conftest import three_faces


def test_astronaut_one_face_in_full_resolution_pixels(astronaut_rgb):
    fa = analyze_faces(astronaut_rgb)
    assert len(fa.faces) == 1 and fa.chosen == 0
    f = fa.face
    assert f.landmarks.shape == (478, 3)
    # Eileen Collins' face sits left of centre in the upper half of the 512 px photo.
    x0, y0, x1, y1 = f.bbox
    assert 150 < x0 < x1 < 300 and 50 < y0 < y1 < 220
    assert 35 < f.eye_distance_px < 55
    assert f.iris_left[0] < f.iris_right[0]
    assert fa.person_mask.dtype == np.float32 and fa.person_mask.max() > 0.9


def test_landmarks_map_back_to_full_resolution(astronaut_rgb):
    """Analysis runs on a downscaled copy; landmarks of a 4x upscaled photo are 4x the originals."""
    big = cv2.resize(astronaut_rgb, (2048, 2048), interpolation=cv2.INTER_CUBIC)
    small_face = analyze_faces(astronaut_rgb).face
    big_face = analyze_faces(big).face
    err = np.abs((big_face.landmarks[:, :2] + 0.5) / 4 - 0.5 - small_face.landmarks[:, :2])
    assert np.median(err) < 1.5
    assert big_face.eye_distance_px == pytest.approx(4 * small_face.eye_distance_px, rel=0.05)


def test_three_faces_sorted_left_to_right_largest_chosen(grace_rgb):
    img = three_faces(grace_rgb)
    fa = analyze_faces(img)
    assert len(fa.faces) == 3
    xs = [f.eye_midpoint_px[0] for f in fa.faces]
    assert xs == sorted(xs)
    assert fa.chosen == 1  # the middle copy is the largest
    assert fa.ambiguous  # but the others are nearly as big: the user should say which
    assert "0 (left" in fa.describe_faces() and "2 (right" in fa.describe_faces()
    picked = analyze_faces(img, face_index=2)
    assert picked.chosen == 2 and not picked.ambiguous
    assert picked.face.eye_midpoint_px[0] > 2 * grace_rgb.shape[1]
    with pytest.raises(FaceAnalysisError, match="has 3 faces; face index 3 does not exist"):
        analyze_faces(img, face_index=3)


def test_no_face():
    from skimage import data

    with pytest.raises(FaceAnalysisError, match="no face"):
        analyze_faces(np.ascontiguousarray(data.coffee()), name="coffee.png")


def test_face_cut_off_by_border(astronaut_rgb):
    with pytest.raises(FaceAnalysisError, match="cut off by the image border"):
        analyze_faces(np.ascontiguousarray(astronaut_rgb[:170]), name="crop.png")


def test_face_too_small(astronaut_rgb):
    tiny = cv2.resize(astronaut_rgb, (200, 200), interpolation=cv2.INTER_AREA)
    with pytest.raises(FaceAnalysisError, match="too small"):
        analyze_faces(tiny, name="tiny.png")


def test_iris_landmarks_are_the_pupils(grace_rgb):
    f = analyze_faces(grace_rgb).face
    # The iris centres lie between the eye corners of their eye.
    for iris, corners in ((IRIS_A, (33, 133)), (IRIS_B, (362, 263))):
        a, b = f.landmarks[corners[0], 0], f.landmarks[corners[1], 0]
        assert min(a, b) < f.landmarks[iris, 0] < max(a, b)


def test_mediapipe_import_leaves_out_what_super_gui_never_uses():
    """The graphs are built without importing matplotlib (MediaPipe's drawing helpers) or the Tasks API;
    those still load, whole, when something asks for them (a fresh process: the test session may have them)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from super_gui.core.face import warm_up\n"
        "warm_up()\n"
        "assert 'matplotlib' not in sys.modules and 'mediapipe.tasks.python.vision' not in sys.modules\n"
        "assert 'Holistic' not in vars(sys.modules['mediapipe.python.solutions.holistic'])  # (not run yet)\n"
        "import mediapipe as mp\n"
        "assert callable(mp.solutions.drawing_utils.draw_landmarks) and 'matplotlib' in sys.modules\n"
        "assert mp.solutions.drawing_styles.get_default_face_mesh_contours_style()\n"
        "assert mp.solutions.pose.PoseLandmark.NOSE == 0 and mp.solutions.holistic.Holistic\n"
        "assert mp.tasks.vision.FaceLandmarker and mp.tasks.BaseOptions\n"
        "from mediapipe.tasks.python import audio\n"
        "from mediapipe.python.solutions import hands\n"
        "assert audio.AudioClassifier and hands.HandLandmark and mp.solutions.hands is hands\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_the_analysis_copy_made_ahead_is_taken_once_and_changes_nothing(astronaut_rgb, monkeypatch):
    import threading

    import super_gui.core.face as face

    big = cv2.resize(astronaut_rgb, (2048, 1536), interpolation=cv2.INTER_CUBIC)
    expected = analyze_faces(big)
    made = []
    real = face._downscale
    monkeypatch.setattr(face, "_downscale", lambda rgb8, side: made.append(rgb8) or real(rgb8, side))
    make = face.downscale_ahead(big)
    later = threading.Timer(0.2, make)  # (made on another thread, after the analysis has begun waiting for it)
    later.start()
    got = analyze_faces(big)
    later.join()
    assert len(made) == 1  # the one made ahead, taken
    assert np.array_equal(got.face.landmarks, expected.face.landmarks)
    assert np.array_equal(got.person_mask, expected.person_mask)
    analyze_faces(big)
    assert len(made) == 2  # once: the next analysis makes its own
    face.downscale_ahead(big.copy())()  # another array's copy is not taken
    analyze_faces(big)
    assert len(made) == 4
