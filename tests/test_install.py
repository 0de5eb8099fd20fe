"""super_gui installed as an application, not run from the checkout (issue 10, item 13).

The package is built into a wheel and installed (``pip install .`` in its two steps: build the wheel, install
it) into a fresh virtual environment in a temporary folder; then its ``super-gui`` command analyses and
undistorts a photo, run from a folder outside the checkout. That proves the wheel carries its shaders and
face template and finds them where it is installed.

Installing the dependencies from PyPI would take minutes and need the network, so the fresh environment
borrows the already-installed dependencies of the environment running the tests through a ``.pth`` file.
That file names only the site-packages folder: ``.pth`` files inside a folder it names are not processed,
so the editable install's finder (which maps ``super_gui`` to the checkout) is never installed there, and the
test checks that ``super_gui`` is imported from the fresh environment and that the checkout is not on its path.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Not part of the package; the copy the wheel is built from leaves them out (and the build's own junk).
_NOT_BUILT_FROM = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".pytest_cache",
                   ".import_linter_cache", "tests", "bench", "docs", "out")


def _run(cmd: list[str], timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}"
    return r


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment with super_gui installed from a wheel; returns its folder."""
    tmp = tmp_path_factory.mktemp("install")
    venv = tmp / "venv"
    r = subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        pytest.skip(f"cannot create a virtual environment here ({r.stderr.strip()[-300:]})")
    vpy = venv / "bin" / "python"

    # Build the wheel from a copy of the source, so the build never writes into the checkout.
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*_NOT_BUILT_FROM))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", tmp / "dist", src], timeout=180)
    (wheel,) = (tmp / "dist").glob("super_gui-*.whl")
    # Install it with this pip run by the fresh environment's interpreter (`pip --python`): the fresh
    # environment sees only itself, so pip never touches the tests' own environment.
    _run([*pip, "--python", vpy, "install", "--no-deps", "--no-index", wheel], timeout=180)

    # Then lend it the dependencies (appended to sys.path, after its own site-packages).
    site = Path(_run([vpy, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    lent = dict.fromkeys(sysconfig.get_path(k) for k in ("purelib", "platlib"))
    assert not any(Path(p).resolve() == ROOT for p in lent)
    (site / "_super_gui_test_dependencies.pth").write_text("".join(f"{p}\n" for p in lent))
    return venv


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "WAYLAND_DISPLAY", "DISPLAY")}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp / "config"), PYTHONDONTWRITEBYTECODE="1")
    return env


def test_the_wheel_runs_super_gui_outside_the_checkout(installed, astronaut_jpg, tmp_path):
    venv = installed
    work = tmp_path / "elsewhere"
    work.mkdir()
    assert not work.resolve().is_relative_to(ROOT) and not astronaut_jpg.resolve().is_relative_to(ROOT)
    env = _env(tmp_path)

    # super_gui comes from the fresh environment; the checkout is not on the path.
    probe = _run([venv / "bin" / "python", "-c", "import sys, super_gui; print(super_gui.__file__); print('\\n'.join(sys.path))"],
                 cwd=work, env=env).stdout
    module, *path = probe.splitlines()
    assert Path(module).resolve().is_relative_to(venv.resolve()), module
    assert not any(p and Path(p).resolve() in (ROOT, ROOT / "super_gui") for p in path), path

    exe = venv / "bin" / "super-gui"
    assert exe.is_file(), "no super-gui entry point"
    assert "analyze" in _run([exe, "--help"], cwd=work, env=env).stdout

    # analyze: the face template (head pose).
    out = _run([exe, "analyze", astronaut_jpg], cwd=work, env=env).stdout
    assert "faces:            1" in out and "head pose:" in out, out

    # undistort: the renderer's shaders (EGL, offscreen).
    result = work / "undistorted.jpg"
    _run([exe, "undistort", astronaut_jpg, "-o", result], cwd=work, env=env, timeout=180)
    from PIL import Image

    with Image.open(result) as im:
        assert im.size == (512, 512)
    assert Path(f"{result}.json").is_file()

    # The resources were found in the installed package, and every module and resource of the checkout is there.
    where = _run([venv / "bin" / "python", "-c", "from super_gui.core.resources import resource_path as r; "
                  "print(r('shaders')); print(r('face_template.npz'))"], cwd=work, env=env).stdout.split()
    assert all(Path(p).resolve().is_relative_to(venv.resolve()) and Path(p).exists() for p in where), where
    installed_pkg = Path(module).parent
    code = {f for f in _files(installed_pkg) if f.endswith(".py") and not f.startswith("resources/")}
    assert code == {f for f in _files(ROOT / "super_gui") if f.endswith(".py")}, \
        "modules missing from (or extra in) the wheel: see [tool.setuptools] packages in pyproject.toml"
    shipped = {f.removeprefix("resources/") for f in _files(installed_pkg) if f.startswith("resources/")}
    missing = _files(ROOT / "resources") - shipped
    assert not missing, f"resources not in the wheel (see [tool.setuptools.package-data]): {sorted(missing)}"


def test_the_packages_listed_in_pyproject_are_the_packages_on_disk():
    """``[tool.setuptools] packages`` is an explicit list (one entry maps to ``resources/``): a new
    subpackage must be added there, or the wheel would miss it."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "super_gui").rglob("__init__.py")}
    assert set(cfg["packages"]) == on_disk | {"super_gui.resources"}
    assert cfg["package-dir"] == {"super_gui.resources": "resources"}


def test_the_desktop_file_starts_the_installed_command():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "resources" / "super-gui.desktop")
    d = entry["Desktop Entry"]
    assert d["Type"] == "Application" and d["Exec"].split()[0] == "super-gui" and "%f" in d["Exec"]
    assert {"image/jpeg", "image/png", "image/tiff", "image/heic"} <= set(d["MimeType"].rstrip(";").split(";"))
    assert (ROOT / "resources" / f"{d['Icon']}.svg").is_file()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["super-gui"] == "super_gui.launch:main"  # (main.py's: the head start begins first)
