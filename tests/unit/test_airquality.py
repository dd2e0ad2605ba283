"""Hourly event-time buckets and the VN_AQI computed from them, against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from ioc.clock import HOUR_MS
from ioc.contract import Frame
from processors.airquality import HOURS_KEPT, AirQualityGroup

H0 = 490_000 * HOUR_MS  # an hour boundary in 2025


def frame(t: int, pm25: list[float], ids: list[str] | None = None, seq: int = 0) -> Frame:
    ids = ids or ["A", "B"]
    cols = {
        "id": np.array(ids),
        "dateObserved": np.full(len(ids), t, dtype=np.int64),
        "pm25": np.array(pm25, dtype=float),
        "no2": np.full(len(ids), np.nan),
    }
    return Frame("AirQualityObserved", "g", seq, t, cols)


def test_hourly_means_by_event_time() -> None:
    g = AirQualityGroup(["A", "B"])
    g.add(frame(H0 + 60_000, [10.0, 40.0]))
    g.add(frame(H0 + 120_000, [30.0, np.nan]))  # B's analyser missed a minute: not a zero
    g.add(frame(H0 + HOUR_MS + 60_000, [50.0, 50.0]))
    means = g.hourly_means(H0 // HOUR_MS + 1, 2)["pm25"]
    assert means.tolist() == [[50.0, 20.0], [50.0, 40.0]]


def test_frames_may_list_sensors_in_any_order() -> None:
    g = AirQualityGroup(["A", "B"])
    g.add(frame(H0, [5.0, 7.0], ids=["B", "A"]))
    assert g.hourly_means(H0 // HOUR_MS, 1)["pm25"][:, 0].tolist() == [7.0, 5.0]


def test_constant_concentration_gives_the_table_value() -> None:
    g = AirQualityGroup(["A", "B"])
    for h in range(12):
        g.add(frame(H0 + h * HOUR_MS, [37.5, 80.0]))
    result = g.aqi()
    # PM2.5 37.5 lies halfway between 25 (I=50) and 50 (I=100): 75. 80 µg/m³ is the I=150 breakpoint.
    assert result.aqi.tolist() == [75.0, 150.0]


def test_ring_forgets_hours_that_left_it_and_ignores_too_old_readings() -> None:
    g = AirQualityGroup(["A", "B"])
    g.add(frame(H0, [100.0, 100.0]))
    g.add(frame(H0 + HOURS_KEPT * HOUR_MS, [10.0, 10.0]))  # same slot, newer hour
    assert g.add(frame(H0 + 5, [999.0, 999.0])) == 0  # its hour left the ring
    newest = H0 // HOUR_MS + HOURS_KEPT
    assert g.hourly_means(newest, 1)["pm25"][:, 0].tolist() == [10.0, 10.0]
    assert np.isnan(g.hourly_means(H0 // HOUR_MS, 1)["pm25"]).all()


def test_snapshot_restores_the_same_state() -> None:
    g = AirQualityGroup(["A", "B"])
    for h in range(3):
        g.add(frame(H0 + h * HOUR_MS, [20.0 + h, 30.0]))
    back = AirQualityGroup.restore(g.snapshot())
    assert back.aqi().aqi.tolist() == g.aqi().aqi.tolist()
    assert np.array_equal(back.counts, g.counts)
    assert back.last[0, 0] == pytest.approx(22.0)


def test_daily_index_of_a_local_day_reproduces_the_decisions_worked_example() -> None:
    from ioc.clock import parse_start
    from processors.environment import local_day_start_hour

    day = parse_start("2025-10-14T00:00") // HOUR_MS  # midnight in Vinh = 17:00 UTC the day before
    assert local_day_start_hour(day + 23) == day == local_day_start_hour(day)
    assert local_day_start_hour(day - 1) == day - 24
    # Section 2.3c: PM2.5 24 h mean 55.7, O3 max 1 h 114.6 and max 8 h 89.3, NO2 max 1 h 130.8 → AQI^d 110.
    o3 = [89.3] * 8 + [50.0] * 8 + [114.6] + [50.0] * 7  # any 8 h holding the 114.6 averages 58.1
    no2 = [60.0] * 24
    no2[13] = 130.8
    g = AirQualityGroup(["A"])
    for h in range(24):
        t = (day + h) * HOUR_MS + 30 * 60_000
        cols = {
            "id": np.array(["A"]),
            "dateObserved": np.array([t]),
            "pm25": np.array([55.7]),
            "o3": np.array([o3[h]]),
            "no2": np.array([no2[h]]),
        }
        g.add(Frame("AirQualityObserved", "g", h, t, cols))
    result, hours = g.daily(day)
    assert result.sub["o3"][0] == pytest.approx(44.65, abs=0.01)
    assert result.sub["no2"][0] == pytest.approx(65.4, abs=0.01)
    assert result.sub["pm25"][0] == pytest.approx(109.5, abs=0.01)
    assert result.aqi.tolist() == [110.0] and hours.tolist() == [24]
    assert result.dominant() == ["pm25"]
    # The next day holds no data yet: no index, zero hours.
    partial, hours = g.daily(day + 24)
    assert np.isnan(partial.aqi[0]) and hours.tolist() == [0]
