"""SciPy's Delaunay triangulation (``scipy.spatial.Delaunay``) without the rest of ``scipy.spatial``.

Importing the ``scipy.spatial`` package imports everything in it (k-d trees, distances, rotations, and with
them ``scipy.sparse`` and ``scipy.special``): ~0.4-0.9 s of Python's lock on a 2-core laptop, on the landmark
fit's way to the editor's first preview, where nothing but the triangulation is used. The triangulation is
the package's Qhull module alone (an extension module that needs only NumPy and ``scipy.linalg``'s LAPACK),
so :func:`delaunay_class` loads that module from SciPy's own folder under its own name, without running the
package's ``__init__``; the LAPACK it takes its functions from (``scipy.linalg.cython_lapack``, another
extension module) is loaded the same way, without ``scipy.linalg``'s ``__init__`` (~0.1 s more of Python's
lock on an idle machine: the whole of ``scipy.linalg``, with ``scipy._lib``'s docstring parsing, NumPy's
testing module and ``unittest``), unless ``scipy.linalg`` is imported already. It is the very class
``scipy.spatial.Delaunay`` is: a later ``import scipy.spatial`` finds the module loaded and takes it
(``scipy.spatial.Delaunay is delaunay_class()``). Where the package is already imported, or the module
cannot be loaded alone (another SciPy's layout), it is ``from scipy.spatial import Delaunay``. No Qt.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
from pathlib import Path

_NAME = "scipy.spatial._qhull"
_LAPACK = "scipy.linalg.cython_lapack"
_lock = threading.Lock()


def delaunay_class() -> type:
    """``scipy.spatial.Delaunay``, imported without the rest of ``scipy.spatial`` where it can be."""
    with _lock:
        module = sys.modules.get(_NAME)
        if module is None and "scipy.spatial" not in sys.modules:
            module = _load_alone()
        if module is not None and hasattr(module, "Delaunay"):
            return module.Delaunay
    from scipy.spatial import Delaunay

    return Delaunay


def _load_alone():
    """The Qhull extension module loaded from SciPy's folder (and registered under its name), or None."""
    try:
        import scipy

        root = Path(scipy.__file__).parent
        if _LAPACK not in sys.modules and "scipy.linalg" not in sys.modules:
            _load_extension(_LAPACK, root / "linalg" / "cython_lapack")  # (None: Qhull's own import finds it)
        return _load_extension(_NAME, root / "spatial" / "_qhull")
    except Exception:  # noqa: BLE001 - any other layout: the package import, as before
        return None


def _load_extension(name: str, stem: Path):
    """The extension module ``stem`` + a suffix this Python loads, run and registered as ``name``; None when
    there is no such file."""
    spec = None
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if stem.with_name(stem.name + suffix).is_file():
            spec = importlib.util.spec_from_file_location(name, stem.with_name(stem.name + suffix))
            break
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
