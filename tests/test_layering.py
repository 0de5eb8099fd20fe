"""The import-linter contracts in pyproject.toml hold: the core, the application, the backends, the renderer
and the CLI run without Qt, and the layers (cli -> gui | cli_edit -> app -> render | inversion -> core ->
errors) import only downward."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is a test dependency"
    r = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
