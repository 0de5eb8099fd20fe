"""The editor takes the head start begun for the photo it opens (app.headstart): its decode and its fit, not
done again; an error in it reaches the user as the dialog's sentence."""

from __future__ import annotations

from tests.gui.conftest import WAIT_MS, wait_ready


def test_the_window_takes_the_head_starts_photo_and_fit(qtbot, window, grace_jpg, monkeypatch):
    import super_gui.core.image_io as image_io
    from super_gui.app.headstart import HeadStart

    head = HeadStart(grace_jpg)
    head.fit_with_landmark()
    faces, prepared = head.fitted()  # (done before the window asks: the window must not redo it)

    def no_second_decode(*a, **k):
        raise AssertionError("decoded again")

    monkeypatch.setattr(image_io, "load_photo", no_second_decode)
    window.session.head_start = head
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    assert window.session.current is prepared and window.session.faces is faces
    assert window.session.head_start is None  # (taken once)


def test_a_head_start_for_another_file_is_not_used(qtbot, window, grace_jpg, astronaut_jpg):
    from super_gui.app.headstart import HeadStart

    head = HeadStart(astronaut_jpg)
    window.session.head_start = head
    window.open_photo(grace_jpg)
    wait_ready(qtbot, window)
    assert window.session.loaded.path == grace_jpg and window.session.current.photo.path.name == grace_jpg.name
    head.wait()


def test_a_broken_photo_in_the_head_start_is_a_dialog_sentence(qtbot, window, dialogs, tmp_path):
    from super_gui.app.headstart import HeadStart

    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg at all")
    head = HeadStart(bad)
    head.fit_with_landmark()
    window.session.head_start = head
    window.open_photo(bad)
    qtbot.waitUntil(lambda: len(dialogs) > 0, timeout=WAIT_MS)
    title, message = dialogs[0]
    assert title == "Cannot open the photo" and "broken.jpg" in message and "Traceback" not in message
    head.wait()

