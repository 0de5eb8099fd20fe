"""Entry point: `python main.py` opens the editor, `python main.py analyze|edit|undistort ...` is the CLI."""

import sys

if __name__ == "__main__":
    from super_gui.app.headstart import begin_for_argv

    begin_for_argv(sys.argv[1:])  # `main.py PHOTO`: the photo's decode and fit begin now, beside the imports
    from super_gui.cli import main

    sys.exit(main())
else:
    from super_gui.cli import main
