"""core.concurrent: pieces run at once, results in order, errors raised on the caller's thread."""

import threading
import time

import pytest

from super_gui.core.concurrent import Later, together


def test_together_runs_the_pieces_at_once_and_returns_them_in_order():
    names: list[str] = []
    barrier = threading.Barrier(3, timeout=10)  # only passes when all three run at the same time

    def piece(k: int):
        def run():
            names.append(threading.current_thread().name)
            barrier.wait()
            return k * k
        return run

    assert together(piece(1), piece(2), piece(3)) == [1, 4, 9]
    assert threading.current_thread().name in names  # (the last one on the caller's thread)
    assert together() == []


def test_the_first_error_is_raised_after_every_piece_has_ended():
    ended: list[str] = []

    def slow():
        time.sleep(0.2)
        ended.append("slow")
        return 1

    def bad():
        raise ValueError("broken piece")

    with pytest.raises(ValueError, match="broken piece"):
        together(slow, bad)
    assert ended == ["slow"]
    with pytest.raises(ValueError, match="broken piece"):
        together(bad, slow)
    assert ended == ["slow", "slow"]


def test_later_hands_over_its_result_or_its_error():
    assert Later(lambda: "done").result() == "done"
    with pytest.raises(KeyError):
        Later(lambda: {}["missing"]).result()
