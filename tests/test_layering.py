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


BACKEND_WORDS = ("mirror", "twin", "landmark", "eg3d")


def test_the_renderer_and_its_shaders_name_no_backend():
    """The renderer draws what any backend hands over (the types of core.generated) and knows none of
    them: no backend's own words anywhere in its code or its shaders (case-insensitive)."""
    found = []
    for folder in (ROOT / "super_gui" / "render", ROOT / "resources" / "shaders"):
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            for number, line in enumerate(path.read_bytes().decode("utf-8", "replace").lower().splitlines(), 1):
                found += [f"{path.relative_to(ROOT)}:{number}: {word}" for word in BACKEND_WORDS if word in line]
    assert not found, "\n".join(found)
