"""The data files super_gui ships beside its code: the GLSL shaders and the face template.

They live in the repository's top-level ``resources/`` folder, which pyproject.toml installs as the package
``super_gui.resources``; ``importlib.resources`` finds it wherever super_gui is imported from (a checkout
with the editable install of ``.ci/setup``, or an installed wheel). Only a checkout that was never installed
falls back to the folder beside the package.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

PACKAGE = "super_gui.resources"


def resource_path(*parts: str) -> Path:
    """The file or folder ``resources/<parts...>`` on disk, e.g. ``resource_path("shaders", "screen.vert")``.

    super_gui is always installed unpacked (a wheel or an editable install, never a zip), so its resources
    are plain files: a ``Path`` that numpy, OpenCV and ``open`` all take.
    """
    try:
        root = files(PACKAGE)
    except ModuleNotFoundError:
        # A checkout run without being installed (or an editable install made before resources/ became a
        # package): the folder beside the package. Installed, super_gui always has super_gui.resources.
        root = Path(__file__).resolve().parents[2] / "resources"
    return Path(os.fspath(root.joinpath(*parts)))
