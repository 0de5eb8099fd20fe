"""core.outputs without the pipeline: the all-or-nothing commit and the escaping of names (fast)."""

from __future__ import annotations

import os

import pytest

from super_gui.core import outputs
from super_gui.core.outputs import plan_outputs, shown
from super_gui.errors import UserInputError


def test_a_failed_rename_takes_back_the_files_already_renamed(tmp_path, monkeypatch):
    photo = tmp_path / "in.jpg"
    photo.write_bytes(b"photo")
    old = tmp_path / "out.jpg"
    old.write_bytes(b"the previous export")
    plan = plan_outputs(photo, image=old, report=tmp_path / "r.json")
    real_replace = os.replace

    def fail_on_report(src, dst):
        if str(dst).endswith("r.json"):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(outputs.os, "replace", fail_on_report)
    with pytest.raises(UserInputError, match=r"^Cannot write .*r\.json: no space left on device\.$"):
        with plan.writing() as w:
            for role in ("image", "sidecar", "report"):
                with w.file(role) as tmp:
                    tmp.write_bytes(role.encode())
    assert old.read_bytes() == b"the previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jpg", "out.jpg"]


def test_an_interrupt_while_writing_leaves_nothing(tmp_path):
    plan = plan_outputs(None, image=tmp_path / "a.png", mesh=tmp_path / "m.obj")
    with pytest.raises(KeyboardInterrupt):
        with plan.writing() as w:
            with w.file("image") as tmp:
                tmp.write_bytes(b"x")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_names_are_escaped_for_terminals():
    assert shown("a\nb.jpg") == "a\\nb.jpg"
    assert shown("\x1b[2Jx.jpg") == "\\x1b[2Jx.jpg"
    assert shown("evil\u202egpj.exe") == "evil\\u202egpj.exe"
    assert shown(os.fsdecode(b"caf\xe9.jpg")) == "caf\\xe9.jpg"
    assert shown("Zoë 写真.jpg") == "Zoë 写真.jpg"
