"""A partition is read again from 0 only when it is past its end for sure: the same position and high
watermark at PAST_END_CHECKS checks in a row (a fetch's high watermark can stand below the position for a
moment under load)."""

from __future__ import annotations

from processors.worker import PAST_END_CHECKS, PastEnd


def test_a_moment_past_the_end_under_load_is_not_confirmed() -> None:
    watch = PastEnd()
    assert watch.confirmed({"raw.lighting:4": (1200, 1100)}) == []
    assert watch.confirmed({}) == []  # the next fetch put the high watermark right
    assert watch.confirmed({"raw.lighting:4": (1300, 1250)}) == []  # moved on: a new moment, counted anew
    assert watch.confirmed({"raw.lighting:4": (1400, 1350)}) == []


def test_a_partition_standing_past_its_end_is_confirmed_once() -> None:
    watch = PastEnd()
    lost = {"raw.traffic:0": (5000, 0)}  # a new broker's empty partition under an old commit
    found = [watch.confirmed(lost) for _ in range(PAST_END_CHECKS)]
    assert found[:-1] == [[]] * (PAST_END_CHECKS - 1) and found[-1] == ["raw.traffic:0"]
    assert watch.confirmed(lost) == []  # counted afresh after it was sent back (it is read from 0 now)
