"""Sunrise and sunset at Vinh against the table in the reference facts (NOAA formula, ±2 min)."""

from __future__ import annotations

from datetime import date

import pytest

from ioc.sun import sunrise_sunset

# nghe-an-facts.md, 'Street lighting': local time (UTC+7) at Vinh, 18.67 N 105.68 E.
FACTS = [
    (date(2025, 1, 1), "06:29", "17:31"),
    (date(2025, 3, 1), "06:18", "18:03"),
    (date(2025, 5, 1), "05:30", "18:19"),
    (date(2025, 6, 15), "05:20", "18:35"),
    (date(2025, 8, 1), "05:34", "18:33"),
    (date(2025, 10, 1), "05:47", "17:46"),
    (date(2025, 12, 1), "06:14", "17:20"),
]


def minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


@pytest.mark.parametrize(("day", "rise", "set_"), FACTS, ids=[str(d) for d, _, _ in FACTS])
def test_sunrise_and_sunset_match_the_published_table(day: date, rise: str, set_: str) -> None:
    got_rise, got_set = sunrise_sunset(day)
    assert abs(got_rise - minutes(rise)) <= 3
    assert abs(got_set - minutes(set_)) <= 3


def test_days_are_longest_in_june_and_shortest_in_december() -> None:
    length = {m: (lambda rs: rs[1] - rs[0])(sunrise_sunset(date(2025, m, 21))) for m in (3, 6, 9, 12)}
    assert length[6] > length[3] > length[12] and length[6] > length[9] > length[12]
    assert 12.9 * 60 < length[6] < 13.4 * 60  # 18.7 N: about 13 h 10 min at the solstice
