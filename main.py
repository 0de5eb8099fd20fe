"""Entry point: `python main.py` opens the editor, `python main.py analyze|edit|undistort ...` is the CLI."""

import sys

from super_gui.cli import main

if __name__ == "__main__":
    sys.exit(main())
