"""The registry of inversion backends: the one module that knows them all by name.

:mod:`super_gui.inversion.base` defines the interface and knows no backend; each backend imports the
interface; this module imports the backends, so there is no import cycle. A new backend is added to
:data:`BACKENDS`.
"""

from __future__ import annotations

import importlib
import inspect

from super_gui.errors import UserInputError
from super_gui.inversion.base import InversionBackend

# name -> "module:class"; the first is the default. Imported when first asked for: the eg3d backend
# brings torch, which the landmark path never needs.
BACKENDS: dict[str, str] = {
    "landmark": "super_gui.inversion.landmark:LandmarkBackend",
    "eg3d": "super_gui.inversion.eg3d.backend:EG3DBackend",
}


def backend_class(name: str) -> type:
    """The class of the backend called ``name``."""
    try:
        where = BACKENDS[name]
    except KeyError:
        raise UserInputError(f"Unknown inversion backend {name!r}; available: {', '.join(BACKENDS)}.") from None
    module, _, cls = where.partition(":")
    return getattr(importlib.import_module(module), cls)


def backend(name: str = "landmark", **options) -> InversionBackend:
    """The backend called ``name``, made with ``options`` (keyword arguments of its constructor: a
    checkpoint path, a device...; the landmark backend takes none). An unknown name or option is the
    user's mistake, refused with a plain message naming it."""
    cls = backend_class(name)
    params = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    known = [k for k, p in params.items() if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    unknown = [k for k in options if k not in known]
    if unknown and not takes_any:
        which = ("options " if len(unknown) > 1 else "option ") + ", ".join(repr(k) for k in unknown)
        offered = f"its options: {', '.join(known)}" if known else "it takes none"
        raise UserInputError(f"The {name!r} inversion backend has no {which} ({offered}).")
    return cls(**options)
