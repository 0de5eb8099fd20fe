"""Every file one run writes, planned and checked before any work, then written all together or not at all.

:func:`plan_outputs` lists the paths a run will write (the image, its sidecar ``OUT.jpg.json``, a ``--json``
report, a mesh and, for OBJ, its material and texture, named after the mesh) and refuses, with one plain
sentence, a path that is an input (the same name, the same file through a hard link or a symbolic link), a
path that another output of the run also writes, a symbolic link (unless ``overwrite``: then the link itself
is replaced), a folder or a special file, an unsupported suffix, or a folder that is missing or not writable.
:meth:`OutputPlan.writing` then writes every file to a private temporary folder beside its target and renames
them all into place once all are complete; if any write or rename fails (or the run is interrupted), the
files already renamed are taken back (a replaced file gets its old bytes back) and the temporary folder is
removed, and the message names the user's path, never a temporary one.

What this module must not do: import Qt or the pixel code; follow a symbolic link at an output path (only the
folders above it are resolved); let ``overwrite`` cover anything but the image over its own input.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from super_gui.core.atomic import set_new_file_mode
from super_gui.errors import UserInputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")
MESH_SUFFIXES = (".glb", ".obj", ".ply")
TEMP_PREFIX = ".super_gui.part-"  # the private temporary folder of one run, beside its outputs (+ "PID-")

Pathish = str | os.PathLike


def shown(path: Pathish | str) -> str:
    """``path`` for a message or a printed line: control characters (a newline, an escape sequence), bidi
    overrides and undecodable bytes escaped, so a file name can never forge or hide text on a terminal."""
    text = os.fspath(path)
    if text.isprintable() and text.isascii():
        return text
    out = []
    for ch in text:
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:  # an undecodable byte of the file name (surrogateescape)
            out.append(f"\\x{o - 0xDC00:02x}")
        elif ch == "\\" or ch.isprintable() and unicodedata.category(ch) not in ("Cf", "Zl", "Zp"):
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def sidecar_name(image: Pathish) -> Path:
    """``portrait.jpg`` -> ``portrait.jpg.json``."""
    p = Path(image)
    return p.with_name(p.name + ".json")


def mesh_files(mesh: Pathish) -> list[tuple[str, Path]]:
    """(role, path) of every file a mesh export writes: ``head.obj`` also writes ``head.mtl`` and
    ``head_texture.png``; GLB and PLY are one file."""
    p = Path(mesh)
    files = [("mesh", p)]
    if p.suffix.lower() == ".obj":
        files += [("mesh material", p.with_name(p.stem + ".mtl")), ("mesh texture", p.with_name(p.stem + "_texture.png"))]
    return files


@dataclass(frozen=True)
class Output:
    """One file of a run: ``path`` is absolute, its folders resolved but not its own name (a link there is
    replaced, never followed); ``given`` is the user's spelling, for messages."""

    role: str  # "image", "sidecar", "report", "mesh", "mesh material", "mesh texture"
    path: Path
    given: str

    @property
    def shown(self) -> str:
        return shown(self.given)


@dataclass(frozen=True)
class OutputPlan:
    """The checked outputs of one run and the inputs they must never touch."""

    outputs: tuple[Output, ...]
    inputs: tuple[Path, ...]

    def get(self, role: str) -> Output | None:
        return next((o for o in self.outputs if o.role == role), None)

    def path(self, role: str) -> Path | None:
        o = self.get(role)
        return None if o is None else o.path

    def existing(self) -> list[Output]:
        """The outputs that will replace a file already there (for a caller that asks first)."""
        return [o for o in self.outputs if os.path.lexists(o.path)]

    @contextmanager
    def writing(self) -> Iterator["Writing"]:
        """Write the run's files: ``with plan.writing() as w: with w.file("image") as tmp: ...``. On a
        clean exit every written file is renamed into place; on any exception none of them is left."""
        w = Writing(self)
        try:
            yield w
            w.commit()
        finally:
            w.cleanup()


def plan_outputs(
    photo: Pathish | None,
    *,
    image: Pathish | None = None,
    sidecar: bool = True,
    report: Pathish | None = None,
    mesh: Pathish | None = None,
    overwrite: bool = False,
    other_inputs: Iterable[Pathish] = (),
) -> OutputPlan:
    """Check every path a run will write; :class:`UserInputError` with one sentence for the first refusal.

    ``photo`` is the run's input (``overwrite`` lets the image, and only the image, replace it);
    ``other_inputs`` are files the run reads too (the rest of a batch), never written whatever ``overwrite``
    says. ``sidecar`` adds ``IMAGE.json`` beside the image. Nothing is written, nothing slow is done.
    """
    inputs = tuple(Path(p) for p in ([photo] if photo is not None else []) + list(other_inputs))
    own = Path(photo) if photo is not None else None
    wanted: list[tuple[str, Pathish]] = []
    if image is not None:
        if Path(image).suffix.lower() not in IMAGE_SUFFIXES:
            raise UserInputError(f"Cannot write {shown(Path(image).name or image)}: use .jpg, .jpeg, .png, .tif or .tiff.")
        wanted.append(("image", image))
        if sidecar:
            wanted.append(("sidecar", _sidecar_given(image)))
    if mesh is not None:
        if Path(mesh).suffix.lower() not in MESH_SUFFIXES:
            raise UserInputError(f"Cannot write a mesh as {shown(Path(mesh).name or mesh)}: use a .glb, .obj or .ply file name.")
        wanted += [(role, _sibling_given(mesh, p)) for role, p in mesh_files(mesh)]
    if report is not None:
        wanted.append(("report", report))
    outputs: list[Output] = []
    for role, given in wanted:
        o = _check_one(role, given, overwrite)
        for inp in inputs:
            if _same_entry(o.path, inp):
                if role == "image" and overwrite and own is not None and _same_entry(o.path, own):
                    continue
                if role == "image" and own is not None and _same_entry(o.path, own):
                    raise UserInputError(f"Refusing to overwrite the input photo {shown(o.path.name)}; "
                                         "choose another output name or pass --overwrite.")
                raise UserInputError(f"Refusing to write the {role} {o.shown} over the input {shown(inp)}; "
                                     "choose another name.")
        for earlier in outputs:
            if _same_entry(o.path, earlier.path):
                raise UserInputError(f"The {earlier.role} and the {role} would both be written to {o.shown}; "
                                     "give them different names.")
        outputs.append(o)
    return OutputPlan(tuple(outputs), inputs)


# --- writing ---------------------------------------------------------------------------------------------------


class Writing:
    """The temporary files of one :class:`OutputPlan` being written (see :meth:`OutputPlan.writing`)."""

    def __init__(self, plan: OutputPlan):
        self.plan = plan
        self._folders: dict[Path, Path] = {}  # target folder -> private temporary folder in it

    def temp(self, role: str) -> Path:
        """Where to write ``role``'s file now: a private folder beside the target, under the target's own
        name (so encoders that read the suffix, and their messages, see the user's name)."""
        o = self.plan.get(role)
        if o is None:
            raise KeyError(f"{role} is not part of this run's plan")
        folder = o.path.parent
        if folder not in self._folders:
            # Named after the process, so that a batch can clean up after a worker that was killed
            self._folders[folder] = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=folder))
        return self._folders[folder] / o.path.name

    @contextmanager
    def file(self, role: str) -> Iterator[Path]:
        """``temp(role)``; a file-system error while writing it becomes a sentence naming the user's file."""
        o = self.plan.get(role)
        tmp = self.temp(role)
        try:
            yield tmp
        except OSError as e:
            if e.errno is None:  # an encoder's complaint, not the file system's: a bug
                raise
            raise UserInputError(f"Cannot write {o.shown}: {_reason(e)}.") from None

    def commit(self) -> None:
        """Rename every written file into place; on any failure take back the ones already renamed."""
        done: list[tuple[Output, Path | None]] = []
        try:
            written = [(o, self._folders[o.path.parent] / o.path.name) for o in self.plan.outputs
                       if o.path.parent in self._folders and (self._folders[o.path.parent] / o.path.name).exists()]
            for o, tmp in written:
                set_new_file_mode(tmp, o.path)
                with open(tmp, "rb") as f:
                    os.fsync(f.fileno())
            for o, tmp in written:
                backup = None
                if os.path.lexists(o.path):
                    backup = tmp.with_name(".backup-" + o.path.name)
                    try:
                        os.link(o.path, backup, follow_symlinks=False)
                    except OSError:
                        backup = None  # a file system without hard links: the old file cannot be given back
                try:
                    os.replace(tmp, o.path)
                except OSError as e:
                    raise UserInputError(f"Cannot write {o.shown}: {_reason(e)}.") from None
                done.append((o, backup))
        except BaseException:
            for o, backup in reversed(done):
                try:
                    if backup is not None:
                        os.replace(backup, o.path)
                    else:
                        os.unlink(o.path)
                except OSError:
                    pass
            raise
        for folder in {o.path.parent for o, _ in done}:
            _fsync_folder(folder)

    def cleanup(self) -> None:
        for tmpdir in self._folders.values():
            shutil.rmtree(tmpdir, ignore_errors=True)
        self._folders.clear()


# --- helpers -------------------------------------------------------------------------------------------------


def _sidecar_given(image: Pathish) -> str:
    text = os.fspath(image)
    return text + ".json"


def _sibling_given(mesh: Pathish, path: Path) -> str:
    text = os.fspath(mesh)
    return text[: len(text) - len(Path(text).name)] + path.name


def _absolute(given: Pathish) -> Path:
    """``given`` with its folders resolved (links to folders followed) and its own name kept as it is."""
    p = Path(given)
    return p.parent.resolve() / p.name


def _check_one(role: str, given: Pathish, overwrite: bool) -> Output:
    text = os.fspath(given)
    name = Path(text).name
    label = shown(text)
    if name in ("", ".", "..") or text.endswith(("/", os.sep)):
        raise UserInputError(f"Cannot write {label}: it is a folder.")
    folder = Path(text).parent.resolve()
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise UserInputError(f"Cannot write {label}: the folder {shown(folder)} {what}.")
    path = folder / name
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise UserInputError(f"Cannot write {label}: {_reason(e)}.") from None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            if not overwrite:
                raise UserInputError(f"Refusing to write through the symbolic link {label} (it points to "
                                     f"{shown(os.readlink(path))}); choose another name, or pass --overwrite to "
                                     "replace the link itself.")
        elif stat.S_ISDIR(st.st_mode):
            raise UserInputError(f"Cannot write {label}: it is a folder.")
        elif not stat.S_ISREG(st.st_mode):
            raise UserInputError(f"Cannot write {label}: it is not a regular file.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserInputError(f"Cannot write {label}: the folder {shown(folder)} is not writable.")
    return Output(role, path, text)


def _same_entry(path: Path, other: Path) -> bool:
    """Whether writing ``path`` (absolute, its own name unresolved) would touch the file ``other``: the same
    name, the file ``other`` links to, or the same file under another name (a hard or a symbolic link)."""
    try:
        if path == _absolute(other) or path == Path(other).resolve():
            return True
        if os.path.normcase(str(path)) == os.path.normcase(str(_absolute(other))):
            return True
        return os.path.exists(path) and os.path.exists(other) and os.path.samefile(path, other)
    except (OSError, RuntimeError):
        return False


def _reason(e: OSError) -> str:
    return (e.strerror or str(e)).rstrip(".").lower()


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
