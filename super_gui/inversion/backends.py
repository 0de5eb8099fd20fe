"""The registry of inversion backends: the one module that knows them all by name.

:mod:`super_gui.inversion.base` defines the interface and knows no backend; each backend imports the
interface; this module imports the backends, so there is no import cycle. A new backend is added to
:data:`BACKENDS`.
"""

from __future__ import annotations

import inspect

from super_gui.errors import UserInputError
from super_gui.inversion.base import InversionBackend
from super_gui.inversion.landmark import LandmarkBackend

BACKENDS: dict[str, type] = {"landmark": LandmarkBackend}  # name -> backend class; the first is the default


def backend(name: str = "landmark", **options) -> InversionBackend:
    """The backend called ``name``, made with ``options`` (keyword arguments of its constructor: a
    checkpoint path, a device...; the landmark backend takes none). An unknown name or option is the
    user's mistake, refused with a plain message naming it."""
    try:
        cls = BACKENDS[name]
    except KeyError:
        raise UserInputError(f"Unknown inversion backend {name!r}; available: {', '.join(BACKENDS)}.") from None
    params = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    known = [k for k, p in params.items() if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    unknown = [k for k in options if k not in known]
    if unknown and not takes_any:
        which = ("options " if len(unknown) > 1 else "option ") + ", ".join(repr(k) for k in unknown)
        offered = f"its options: {', '.join(known)}" if known else "it takes none"
        raise UserInputError(f"The {name!r} inversion backend has no {which} ({offered}).")
    return cls(**options)
