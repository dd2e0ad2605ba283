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
