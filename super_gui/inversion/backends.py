"""The registry of inversion backends: the one module that knows them all by name.

:mod:`super_gui.inversion.base` defines the interface and knows no backend; each backend imports the
interface; this module imports the backends, so there is no import cycle. A new backend is added to
:data:`BACKENDS`.
"""

from __future__ import annotations

from super_gui.errors import UserInputError
from super_gui.inversion.base import InversionBackend
from super_gui.inversion.landmark import LandmarkBackend

BACKENDS: dict[str, type] = {"landmark": LandmarkBackend}  # name -> backend class; the first is the default


def backend(name: str = "landmark") -> InversionBackend:
    """The backend called ``name``."""
    try:
        return BACKENDS[name]()
    except KeyError:
        raise UserInputError(f"Unknown inversion backend {name!r}; available: {', '.join(BACKENDS)}.") from None
