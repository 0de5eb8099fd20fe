"""SciPy's Delaunay triangulation (``scipy.spatial.Delaunay``) without the rest of ``scipy.spatial``.

Importing the ``scipy.spatial`` package imports everything in it (k-d trees, distances, rotations, and with
them ``scipy.sparse`` and ``scipy.special``): ~0.4-0.9 s of Python's lock on a 2-core laptop, on the landmark
fit's way to the editor's first preview, where nothing but the triangulation is used. The triangulation is
the package's Qhull module alone (an extension module that needs only NumPy and ``scipy.linalg``'s LAPACK),
so :func:`delaunay_class` loads that module from SciPy's own folder under its own name, without running the
package's ``__init__``. It is the very class ``scipy.spatial.Delaunay`` is: a later ``import scipy.spatial``
finds the module loaded and takes it (``scipy.spatial.Delaunay is delaunay_class()``). Where the package is
already imported, or the module cannot be loaded alone (another SciPy's layout), it is
``from scipy.spatial import Delaunay``. No Qt.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
from pathlib import Path

_NAME = "scipy.spatial._qhull"
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

        folder = Path(scipy.__file__).parent / "spatial"
        spec = None
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            if (folder / f"_qhull{suffix}").is_file():
                spec = importlib.util.spec_from_file_location(_NAME, folder / f"_qhull{suffix}")
                break
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        sys.modules[_NAME] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(_NAME, None)
            raise
        return module
    except Exception:  # noqa: BLE001 - any other layout: the package import, as before
        return None
