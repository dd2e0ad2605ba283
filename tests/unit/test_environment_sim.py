"""The environment simulator: determinism, valid output, and the seasonal and daily shapes it must have."""

from __future__ import annotations

import numpy as np
import pytest

from ioc.city import City, load_city
from ioc.clock import parse_start
from ioc.contract import Frame, encode, parse
from simulators.domains import rng_for
from simulators.environment import EnvironmentModel
from tests.unit import simkit
from tests.unit.simkit import local_hours


@pytest.fixture(scope="module")
def city() -> City:
    return load_city()


def simulate(city: City, seed: int, start: str, hours: float, tick_ms: int = 600_000) -> list[Frame]:
    model = EnvironmentModel(city, rng_for(seed, "environment"), tick_ms=tick_ms)
    t0 = parse_start(start)
    frames: list[Frame] = []
    for t in range(t0, t0 + int(hours * 3_600_000), tick_ms):
        frames += model.step(t)
    return frames


def column(
    frames: list[Frame], type_: str, name: str, ids: set[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    t, v, _ = simkit.column([f for f in frames if f.type == type_], name, ids)
    return t, v.astype(float)


def test_every_frame_passes_the_contract(city: City) -> None:
    for f in simulate(city, 1, "2025-07-01T00:00", 24):
        frame, rejected = parse(encode(f), city.known)
        assert rejected == [], (f.type, [r.detail for r in rejected])
        assert frame is not None and frame.n == f.n


def test_winter_air_is_dirtier_than_summer_air(city: City) -> None:
    _, winter = column(simulate(city, 3, "2025-01-10T00:00", 24 * 7), "AirQualityObserved", "pm25")
    _, summer = column(simulate(city, 3, "2025-07-10T00:00", 24 * 7), "AirQualityObserved", "pm25")
    assert 30 <= np.nanmean(winter) <= 90  # facts: est. 30-70 in winter, spikes above 100
    assert 10 <= np.nanmean(summer) <= 40  # facts: est. 15-35 in summer
    assert np.nanmean(winter) > 1.6 * np.nanmean(summer)


def test_pm_is_highest_before_dawn_and_lowest_mid_afternoon(city: City) -> None:
    t, pm = column(
        simulate(city, 4, "2025-11-01T00:00", 24 * 14), "AirQualityObserved", "pm25", {"AQ-VIN-02"}
    )
    h = local_hours(t)
    night = pm[(h >= 2) & (h < 8)].mean()
    afternoon = pm[(h >= 13) & (h < 16)].mean()
    assert night > 1.4 * afternoon


def test_temperature_follows_quynh_luu_means(city: City) -> None:
    _, jan = column(
        simulate(city, 5, "2025-01-05T00:00", 24 * 20), "WeatherObserved", "temperature", {"WX-HM-01"}
    )
    _, jun = column(
        simulate(city, 5, "2025-06-05T00:00", 24 * 20), "WeatherObserved", "temperature", {"WX-HM-01"}
    )
    assert 12 <= jan.mean() <= 20  # Quỳnh Lưu January mean 17.6 °C, cold surges pull it down
    assert 27 <= jun.mean() <= 33  # June mean 29.4 °C, gió Lào days push it up


def test_ozone_peaks_in_the_afternoon(city: City) -> None:
    t, o3 = column(simulate(city, 6, "2025-05-01T00:00", 24 * 10), "AirQualityObserved", "o3", {"AQ-CL-01"})
    h = local_hours(t)
    assert o3[(h >= 12) & (h < 16)].mean() > 2 * o3[(h >= 0) & (h < 5)].mean()


def test_cua_lo_tide_has_a_spring_range_over_two_metres(city: City) -> None:
    _, level = column(
        simulate(city, 7, "2025-03-01T00:00", 24 * 30, tick_ms=900_000),
        "FloodMonitoring",
        "currentLevel",
        {"WL-CL-PORT"},
    )
    daily_range = np.ptp(level.reshape(30, -1), axis=1)
    assert daily_range.max() > 2.0  # facts: est. 2-2.5 m at springs
    assert daily_range.min() < 1.0  # and <1 m at neaps


def test_station_without_an_ozone_analyser_reports_null(city: City) -> None:
    frames = simulate(city, 8, "2025-03-01T00:00", 1)
    hm = next(f for f in frames if f.group == "aq.hoang-mai")
    row = hm.cols["id"].index("AQ-HM-02")
    assert np.isnan(hm.cols["o3"][row]) and not np.isnan(hm.cols["so2"][row])
