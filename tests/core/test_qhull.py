"""core.qhull: SciPy's Delaunay loaded without the rest of scipy.spatial (in a fresh interpreter, where
nothing has imported the package yet) is the package's own class, triangulates as it does, and leaves the
package whole for whoever imports it later."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from scipy.spatial import ConvexHull, Delaunay

from super_gui.core.qhull import delaunay_class

FRESH = """
import json, sys
import numpy as np
from super_gui.core.qhull import delaunay_class
D = delaunay_class()
alone = "scipy.spatial" not in sys.modules and "scipy.spatial._qhull" in sys.modules
no_linalg = "scipy.linalg" not in sys.modules
pts = np.random.default_rng(7).uniform(0, 100, (300, 2))
tri = D(pts)
simplices, transform = tri.simplices.tolist(), tri.transform.tobytes().hex()
import scipy.spatial
from scipy.spatial import _qhull
import scipy.linalg
from scipy.linalg import cython_lapack
lapack = cython_lapack is sys.modules["scipy.linalg.cython_lapack"] and float(scipy.linalg.solve([[2.0]], [4.0])[0]) == 2.0
print(json.dumps({"alone": alone, "no_linalg": no_linalg, "lapack": lapack, "same_class": scipy.spatial.Delaunay is D, "module": _qhull.Delaunay is D,
                  "simplices": simplices, "transform": transform,
                  "hull": len(scipy.spatial.ConvexHull(pts).vertices), "kdtree": int(scipy.spatial.cKDTree(pts).query(pts[0])[1])}))
"""


def test_loaded_alone_it_is_scipys_delaunay_and_the_package_still_imports_whole():
    out = subprocess.run([sys.executable, "-c", FRESH], capture_output=True, text=True, check=True, timeout=120)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["alone"]  # loaded without the package
    assert got["no_linalg"] and got["lapack"]  # ... and without scipy.linalg's, which still imports whole later
    assert got["same_class"] and got["module"]  # the package, imported afterwards, took the same module
    pts = np.random.default_rng(7).uniform(0, 100, (300, 2))
    expected = Delaunay(pts)
    assert got["simplices"] == expected.simplices.tolist()
    assert got["transform"] == expected.transform.tobytes().hex()
    assert got["hull"] == len(ConvexHull(pts).vertices)  # (the rest of the package works as ever)
    assert got["kdtree"] == 0


def test_with_the_package_imported_it_is_the_packages_class():
    assert delaunay_class() is Delaunay
