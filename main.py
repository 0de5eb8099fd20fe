"""Entry point: `python main.py` opens the editor, `python main.py analyze|edit|undistort ...` is the CLI."""

import sys

if __name__ == "__main__":
    from super_gui.launch import main  # (the installed `super-gui` command's entry point too)

    sys.exit(main())
else:
    from super_gui.cli import main
