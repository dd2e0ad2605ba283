"""Rate-of-change and anomaly measures, alone and as alert rules with their dead bands, against
hand-computed values."""

from __future__ import annotations

from typing import Any

import pytest

from processors.alerts import AlertBook
from processors.detectors import DropAnomaly, RiseRate

M = 60_000
STREET = [0.2, 0.4, 0.7]  # Nguyễn Văn Cừ: one alert step = 0.2 m
COAST = [2.8, 3.2, 3.6]  # Cửa Lò: one step = 0.4 m


def test_rise_rate_over_a_sliding_event_time_window() -> None:
    rise = RiseRate("level", 30 * M)
    assert rise({"id": "g", "t": 0, "level": 0.0}) == 0.0
    assert rise({"id": "g", "t": 10 * M, "level": 0.1}) == pytest.approx(0.1)
    assert rise({"id": "g", "t": 20 * M, "level": 0.25}) == pytest.approx(0.25)  # since t=0
    assert rise({"id": "g", "t": 20 * M, "level": 0.25}) == pytest.approx(0.25)  # the same reading again
    assert rise({"id": "g", "t": 25 * M, "level": 0.45}) == pytest.approx(0.45)
    assert rise({"id": "g", "t": 55 * M, "level": 0.45}) == 0.0  # window 25..55 min: no rise left
    assert rise({"id": "other", "t": 55 * M, "level": 9.0}) == 0.0  # per entity
    assert rise({"id": "g", "t": 56 * M, "level": float("nan")}) is None


def test_drop_anomaly_against_an_exponentially_weighted_baseline() -> None:
    slow = DropAnomaly("speed", 0.1, warmup=6, sd_floor=2.0)
    for k in range(6):
        assert slow({"id": "d", "t": k, "speed": 40.0}) is None  # learning: mean 40, variance 0
    assert slow({"id": "d", "t": 6, "speed": 30.0}) == 5.0  # (40 − 30) / max(0, 2) sd below
    assert slow({"id": "d", "t": 6, "speed": 30.0}) == 5.0  # seen: not learnt twice
    # Learnt 30: mean 40 + 0.1·(−10) = 39, variance 0.9·(0 + 0.1·100) = 9, sd 3.
    assert slow({"id": "d", "t": 7, "speed": 27.0}) == pytest.approx(4.0)  # (39 − 27) / 3
    assert slow({"id": "d", "t": 8, "speed": None}) is None  # no vehicles, no speed: no verdict


def water(t: int, level: float, gauge: str, levels: list[float]) -> dict[str, Any]:
    status = ("normal", "alert1", "alert2", "alert3")[sum(level >= x for x in levels)]
    item = {"id": gauge, "t": t, "currentLevel": level, "levels": levels, "status": status}
    return {"kind": "water", "final": True, "items": [item]}


def rising(book: AlertBook) -> list[tuple[str, str, str]]:
    return [(d["entity"], d["severity"], d["status"]) for d in book.drain() if d["rule"] == "flood-rising"]


def test_rising_water_alerts_in_the_gauges_own_steps_so_the_tide_does_not() -> None:
    book = AlertBook()
    for k, level in enumerate([0.00, 0.05, 0.10, 0.19]):  # +0.19 m in 30 min at a street: 0.95 step
        book.observe(water(k * 10 * M, level, "WL-VIN-NVC", STREET))
    for k in range(7):  # spring tide at the coast: 0.16 m per 30 min for 1 h, 0.4 steps
        book.observe(water(k * 10 * M, 2.0 + 0.16 * k / 3, "WL-CL-PORT", COAST))
    assert book.drain() == []
    book.observe(water(40 * M, 0.35, "WL-VIN-NVC", STREET))  # +0.30 m since 10 min: 1.5 steps
    assert rising(book) == [("WL-VIN-NVC", "medium", "raised")]
    book.observe(water(60 * M, 0.35, "WL-VIN-NVC", STREET))  # +0.16 m since 30 min: 0.8 step, in the band
    book.observe(water(70 * M, 0.35, "WL-VIN-NVC", STREET))  # window 40..70: no rise, past the clear line
    book.observe(water(75 * M, 0.38, "WL-VIN-NVC", STREET))  # 0.15 step: still under half a step
    assert rising(book) == []  # not for the 10 minutes of the clear hold yet
    book.observe(water(80 * M, 0.38, "WL-VIN-NVC", STREET))  # 10 min under half a step since 70
    assert rising(book) == [("WL-VIN-NVC", "medium", "cleared")]


def traffic(t: int, speed: float, final: bool) -> dict[str, Any]:
    item = {"id": "TD-HM-02-A1", "t": t, "speed": speed, "level": 0}
    return {"kind": "traffic", "final": final, "items": [item]}


def test_speed_anomaly_judges_closed_windows_only_and_clears_within_two_sd() -> None:
    book = AlertBook()
    for k in range(6):
        book.observe(traffic(k * 5 * M, 40.0, final=True))
    book.observe(traffic(30 * M, 10.0, final=False))  # an open window: partial, never judged
    assert book.drain() == []
    book.observe(traffic(30 * M, 30.0, final=True))  # 5 sd below
    (doc,) = book.drain()
    assert (doc["rule"], doc["subCategory"], doc["severity"]) == ("traffic-anomaly", "hazardOnRoad", "medium")
    book.observe(traffic(35 * M, 33.0, final=True))  # (39 − 33) / 3 = 2 sd below: at the clear line
    assert book.drain() == []  # one window: not for the clear hold (5 min) yet
    # Learnt 33: mean 38.4, variance 0.9·(9 + 0.1·36) = 11.34. (38.4 − 31) / 3.37 = 2.2 sd: in the dead band,
    # where a condition that ended stays ended, so the hold runs on.
    book.observe(traffic(40 * M, 31.0, final=True))
    (doc,) = book.drain()
    assert doc["status"] == "cleared" and doc["history"][-1]["at"] == 40 * M
