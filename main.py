"""Entry point: `python main.py` opens the editor, `python main.py analyze|edit|undistort ...` is the CLI."""

import os
import sys

if __name__ == "__main__":
    # NumPy's OpenBLAS on one thread from its start, before the head start's threads load NumPy (cli._main
    # sets one thread at run time, for the console script too): with a worker per core, the worker spins for
    # ~0.1 s of CPU as NumPy loads, beside the editor's start-up. Every NumPy product here is small.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from super_gui.app.headstart import begin_for_argv

    begin_for_argv(sys.argv[1:])  # `main.py PHOTO`: the photo's decode and fit begin now, beside the imports
    from super_gui.cli import main

    sys.exit(main())
else:
    from super_gui.cli import main
