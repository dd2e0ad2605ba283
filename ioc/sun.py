"""Sunrise and sunset by NOAA's solar calculator equations (the facts' source for Vinh's table, ±2 min)."""

from __future__ import annotations

import math
from datetime import date
from functools import lru_cache

from ioc.clock import local_day_minute

VINH = (18.67, 105.68)  # facts 'Street lighting': the latitude/longitude the sunrise table was computed for
VN_UTC_OFFSET_H = 7
ZENITH_DEG = 90.833  # sun's centre 50' below the horizon: refraction plus the solar disc's radius


def _julian_day(d: date) -> float:
    # Julian day at local noon of that date (the spreadsheet evaluates there).
    a = (14 - d.month) // 12
    y = d.year + 4800 - a
    m = d.month + 12 * a - 3
    jdn = d.day + (153 * m + 2) // 5 + 365 * y + y // 4 - y // 100 + y // 400 - 32045
    return jdn + (12 - VN_UTC_OFFSET_H) / 24 - 0.5


@lru_cache(maxsize=4096)
def sunrise_sunset(d: date, lat: float = VINH[0], lon: float = VINH[1]) -> tuple[float, float]:
    """(sunrise, sunset) in minutes after local midnight, Vietnam time (UTC+7)."""
    jc = (_julian_day(d) - 2451545.0) / 36525.0
    mean_long = (280.46646 + jc * (36000.76983 + jc * 0.0003032)) % 360
    mean_anom = 357.52911 + jc * (35999.05029 - 0.0001537 * jc)
    ecc = 0.016708634 - jc * (0.000042037 + 0.0000001267 * jc)
    m = math.radians(mean_anom)
    centre = (
        math.sin(m) * (1.914602 - jc * (0.004817 + 0.000014 * jc))
        + math.sin(2 * m) * (0.019993 - 0.000101 * jc)
        + math.sin(3 * m) * 0.000289
    )
    omega = math.radians(125.04 - 1934.136 * jc)
    app_long = mean_long + centre - 0.00569 - 0.00478 * math.sin(omega)
    obliq = 23 + (26 + (21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813))) / 60) / 60
    obliq_corr = math.radians(obliq + 0.00256 * math.cos(omega))
    decl = math.asin(math.sin(obliq_corr) * math.sin(math.radians(app_long)))
    y = math.tan(obliq_corr / 2) ** 2
    l0 = math.radians(mean_long)
    eq_time = 4 * math.degrees(
        y * math.sin(2 * l0)
        - 2 * ecc * math.sin(m)
        + 4 * ecc * y * math.sin(m) * math.cos(2 * l0)
        - 0.5 * y * y * math.sin(4 * l0)
        - 1.25 * ecc * ecc * math.sin(2 * m)
    )
    phi = math.radians(lat)
    cos_ha = math.cos(math.radians(ZENITH_DEG)) / (math.cos(phi) * math.cos(decl)) - math.tan(phi) * math.tan(
        decl
    )
    ha = math.degrees(math.acos(max(-1.0, min(1.0, cos_ha))))
    noon = 720 - 4 * lon - eq_time + VN_UTC_OFFSET_H * 60
    return noon - 4 * ha, noon + 4 * ha


SWITCH_MARGIN_MIN = 15.0  # around sunset/sunrise, cabinets' lux sensors and clocks legitimately disagree


def lights_expected(t_ms: int, margin_min: float = SWITCH_MARGIN_MIN) -> bool | None:
    """Whether street lights should be on at Vinh at t (epoch ms): True after dusk, False by day, None in
    the margin around sunset and sunrise when either is acceptable."""
    day, minute = local_day_minute(t_ms)
    rise, set_ = sunrise_sunset(day)
    if abs(minute - set_) < margin_min or abs(minute - rise) < margin_min:
        return None
    return minute > set_ or minute < rise
