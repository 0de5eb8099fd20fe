"""The application layer: the orchestration shared by the CLI and the editor.

:mod:`~super_gui.app.pipeline` runs load -> analyze -> invert -> mesh once per photo and render -> blend for
every view; :mod:`~super_gui.app.edit` writes one finished edit (image, mesh, sidecar). This is the one
layer that knows both an inversion backend (:mod:`super_gui.inversion`) and the renderer
(:mod:`super_gui.render`) and wires them together.

It must not import Qt or the editor (:mod:`super_gui.gui`) nor the CLI: those sit above it. It must not
hold an algorithm of its own (depth, blending, shading): those belong to the core, a backend or the
renderer. Enforced by the import-linter contracts in pyproject.toml.
"""
