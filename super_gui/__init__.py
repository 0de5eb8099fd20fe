"""super_gui: re-photograph the head in a close-up selfie from a virtual camera (SUPER method)."""

__version__ = "0.1.0"
