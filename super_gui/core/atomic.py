"""Write files so that a reader never sees a half-written one: temporary file in the same folder,
flushed, then renamed over the target (atomic on POSIX and Windows for same-volume renames).

What this module must not do: leave a temporary file behind when the write fails or is interrupted; create
files with other permissions than the umask gives new files (the temporary file itself is 0600); write
through a symbolic link at the target (the rename replaces the link itself).
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def umask() -> int:
    """The process umask, read without changing it (os.umask would race with other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def new_file_mode(target: str | os.PathLike) -> int:
    """The permissions a file written at ``target`` gets: those of the regular file it replaces, else the
    usual ones for a new file (0666 less the umask). A symbolic link at ``target`` does not count."""
    try:
        st = os.lstat(target)
        if stat.S_ISREG(st.st_mode):
            return st.st_mode & 0o777
    except OSError:
        pass
    return 0o666 & ~umask()


def set_new_file_mode(tmp: str | os.PathLike, target: str | os.PathLike) -> None:
    """Give the temporary file ``tmp`` the permissions :func:`new_file_mode` chooses for ``target``."""
    try:
        os.chmod(tmp, new_file_mode(target))
    except OSError:
        pass  # permissions are a nicety; the file is written


@contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success rename it to ``target``, else delete it.

    The temporary name is hidden (leading dot), contains ``.part-`` and keeps the target's suffix
    (``suffix`` overrides it) so encoders that pick a format from the name still work. The file gets the
    permissions of the file it replaces, or the umask's.
    """
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.part-", suffix=suffix if suffix is not None else target.suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        set_new_file_mode(tmp_path, target)
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def json_bytes(obj: object, **dumps_kw) -> bytes:
    """``obj`` as indented UTF-8 JSON text. Text that cannot be UTF-8 (a file name with undecodable bytes
    reaches Python as lone surrogates) is written with ``\\u`` escapes instead of failing."""
    kw = {"indent": 2, **dumps_kw}
    try:
        return (json.dumps(obj, **kw) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(obj, **{**kw, "ensure_ascii": True}) + "\n").encode("utf-8")


def write_json_atomic(target: str | os.PathLike, obj: object) -> None:
    write_bytes_atomic(target, json_bytes(obj))
