"""The program's entry point, for ``python main.py`` and the installed ``super-gui`` command (the desktop
entry's): a photo's decode and fit begin before anything heavy is imported (:mod:`super_gui.app.headstart`;
on Linux in a forked child, which needs NumPy and Qt not yet loaded), then the command line runs
(:func:`super_gui.cli.main`: the editor, or ``analyze``/``edit``/``undistort``). Imports only the standard
library at its top. No Qt.
"""

import os
import sys


def main() -> int:
    # NumPy's OpenBLAS on one thread from its start, before the head start loads NumPy (cli._main sets one
    # thread at run time too): with a worker per core, the worker spins for ~0.1 s of CPU as NumPy loads,
    # beside the editor's start-up. Every NumPy product here is small.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from super_gui.app.headstart import begin_for_argv

    begin_for_argv(sys.argv[1:])  # `... PHOTO`: the photo's decode and fit begin now, beside the imports
    from super_gui.cli import main as cli_main

    return cli_main()
