"""core.concurrent: pieces run at once, results in order, errors raised on the caller's thread."""

import threading
import time

import pytest

from super_gui.core.concurrent import Later, together


def test_together_runs_the_pieces_at_once_and_returns_them_in_order():
    names: list[str] = []
    barrier = threading.Barrier(3, timeout=10)  # only passes when all three run at the same time

    def piece(k: int):
        def run():
            names.append(threading.current_thread().name)
            barrier.wait()
            return k * k
        return run

    assert together(piece(1), piece(2), piece(3)) == [1, 4, 9]
    assert threading.current_thread().name in names  # (the last one on the caller's thread)
    assert together() == []


def test_the_first_error_is_raised_after_every_piece_has_ended():
    ended: list[str] = []

    def slow():
        time.sleep(0.2)
        ended.append("slow")
        return 1

    def bad():
        raise ValueError("broken piece")

    with pytest.raises(ValueError, match="broken piece"):
        together(slow, bad)
    assert ended == ["slow"]
    with pytest.raises(ValueError, match="broken piece"):
        together(bad, slow)
    assert ended == ["slow", "slow"]


def test_later_hands_over_its_result_or_its_error():
    assert Later(lambda: "done").result() == "done"
    with pytest.raises(KeyError):
        Later(lambda: {}["missing"]).result()


def test_scipy_blas_runs_on_the_calling_thread_after_the_limit():
    import ctypes
    from pathlib import Path

    import numpy as np
    import scipy
    from scipy.interpolate import LinearNDInterpolator

    from super_gui.core.concurrent import single_threaded_scipy_blas

    libs = sorted(Path(scipy.__file__).resolve().parent.parent.glob("scipy.libs/*openblas*"))
    if not libs:
        pytest.skip("SciPy without a bundled OpenBLAS (it shares another BLAS, which is left alone)")
    get = getattr(ctypes.CDLL(str(libs[0])), "scipy_openblas_get_num_threads", None)
    if get is None:
        pytest.skip("SciPy's OpenBLAS does not say its thread count")
    rng = np.random.default_rng(3)
    pts, z = rng.uniform(0, 50, (200, 2)), rng.uniform(0, 1, 200)
    jj, ii = np.meshgrid(np.arange(50.0), np.arange(50.0))
    before = LinearNDInterpolator(pts, z)(jj, ii)
    assert single_threaded_scipy_blas() is True
    assert get() == 1
    assert np.array_equal(LinearNDInterpolator(pts, z)(jj, ii), before, equal_nan=True)  # the same interpolation



def test_numpy_blas_alone_within_and_as_before_after():
    import numpy as np

    from super_gui.core.concurrent import _numpy_openblas, numpy_blas_alone

    if _numpy_openblas() is None:
        pytest.skip("NumPy without a bundled OpenBLAS that says its thread count")
    get, _ = _numpy_openblas()
    rng = np.random.default_rng(5)
    a, b = rng.uniform(-1, 1, (900, 3, 3)), rng.uniform(-1, 1, (900, 3, 2))
    before, count = np.linalg.solve(a, b), get()
    with numpy_blas_alone():
        assert get() == 1
        alone = np.linalg.solve(a, b)
    assert get() == count
    assert np.array_equal(alone, before)  # the same solves


def test_the_command_line_and_the_editor_run_numpys_blas_on_one_thread():
    # Every NumPy product here is small: a BLAS worker per core only spins beside the photo's work. The
    # command line (which opens the editor too) and the editor's head start limit it before anything else.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from super_gui.core.concurrent import _numpy_openblas\n"
        "lib = _numpy_openblas()\n"
        "if lib is None: print('none'); sys.exit()\n"
        "before = lib[0]()\n"
        "from super_gui import cli\n"
        "try:\n"
        "    cli.main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(before, lib[0]())\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=True).stdout.split()
    if out == ["none"]:
        pytest.skip("NumPy without a bundled OpenBLAS that says its thread count")
    before, after = map(int, out[-2:])
    if before == 1:
        pytest.skip("one core: NumPy's BLAS is on one thread already")
    assert after == 1
