"""super_gui's data files, installed as the package ``super_gui.resources`` (see pyproject.toml): the GLSL
shaders, the face template, the desktop entry and its icon. Read them through ``super_gui.core.resources``."""
