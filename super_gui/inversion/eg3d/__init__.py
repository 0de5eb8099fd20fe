"""The ``eg3d`` backend's building blocks (SUPER's inversion into NVIDIA's EG3D, issue 11), in pure PyTorch.

Being built: the checkpoint loader (never executes code stored in a pickle), the tri-plane generator with
EG3D's parameter names and its volume renderer, the 25-number camera. Not registered in
:mod:`super_gui.inversion.backends` until the inversion itself is there: nothing here is selectable yet.
Must not import Qt, the renderer or the application layer.
"""
