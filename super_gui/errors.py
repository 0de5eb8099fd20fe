"""Errors the user can act on.

Anything raised as a :class:`UserInputError` carries one plain sentence meant for the person at the
keyboard: the CLI prints it on stderr and exits with status 2, the GUI shows it in a dialog. Any other
exception is a bug in super_gui (exit status 1).
"""


class UserInputError(ValueError):
    """Bad input the user can fix (unreadable file, no face, impossible parameter)."""


class ImageLoadError(UserInputError):
    """The file is not an image super_gui can read, or it is refused (too big, truncated)."""


class FaceAnalysisError(UserInputError):
    """No usable face: none found, cut off by the border, too small, or the asked face does not exist."""


class RenderingUnavailable(UserInputError):
    """No OpenGL 3.3 context can be made on this machine (no GL drivers, or not enough memory for software GL):
    the machine's to fix, not a bug."""


class Cancelled(Exception):
    """Raised by long-running work when its caller asked it to stop."""
