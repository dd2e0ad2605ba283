"""Climate of coastal Nghệ An as smooth functions of simulated time: seasonal means and daily shapes.

Figures from shared/reference/nghe-an-facts.md 'Weather and water' and 'Air quality' unless marked est.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from ioc.clock import VN_TZ

# Quỳnh Lưu station monthly mean temperature, Jan..Dec (°C) - sourced.
MONTHLY_TEMP_C = (17.6, 18.5, 20.4, 24.0, 27.3, 29.4, 29.2, 28.3, 27.0, 25.0, 22.1, 18.7)
# Diurnal temperature half-range (°C): est., overcast drizzly winters, sunny summers.
DIURNAL_HALF_RANGE_C = (2.5, 2.3, 2.5, 3.2, 3.8, 4.0, 4.0, 3.6, 3.2, 3.0, 2.8, 2.6)
# Relative humidity monthly means (0..1): ≈0.90 Feb-Mar, ≈0.70 Jun-Jul (facts, est.).
MONTHLY_RH = (0.87, 0.90, 0.90, 0.87, 0.80, 0.72, 0.70, 0.78, 0.85, 0.86, 0.85, 0.85)
# Rain, mm per month: 1,600-2,000 mm/yr with 80-85% in May-Oct, peak Sep-Oct (facts; split est.).
MONTHLY_RAIN_MM = (45, 35, 40, 55, 130, 115, 125, 230, 450, 420, 150, 60)
# Fraction of hours with rain: est., winter drizzle is frequent but light.
MONTHLY_WET_FRACTION = (0.14, 0.16, 0.15, 0.08, 0.08, 0.07, 0.07, 0.10, 0.17, 0.17, 0.12, 0.10)
# Mean sea-level pressure (hPa): est., Asian winter high vs summer monsoon low.
MONTHLY_PRESSURE_HPA = (
    1019.5,
    1017.5,
    1015.0,
    1012.0,
    1008.5,
    1005.0,
    1004.5,
    1005.5,
    1009.0,
    1013.5,
    1017.0,
    1019.5,
)
# Urban-background PM2.5 monthly mean (µg/m³): est. 15-35 summer, 30-70 winter, worst Sep-Mar (facts).
MONTHLY_PM25 = (50, 46, 42, 33, 24, 19, 17, 19, 26, 35, 44, 50)
# Gió Lào (hot dry south-west foehn) season May-Aug, 20-70 days a year (facts).
GIO_LAO_MONTHS = (5, 6, 7, 8)
# North-east monsoon Oct-Apr with ~30 cold surges a year (facts).
NE_MONSOON_MONTHS = (10, 11, 12, 1, 2, 3, 4)


def local_time(t_ms: int) -> datetime:
    return datetime.fromtimestamp(t_ms / 1000, VN_TZ)


def local_hour(t_ms: int) -> float:
    """Hour of day in Vietnam time, fractional."""
    return ((t_ms / 3_600_000) + 7) % 24


def seasonal(table: tuple[float, ...], t_ms: int) -> float:
    """A monthly table read as mid-month values, interpolated linearly by day so the year has no steps."""
    dt = local_time(t_ms)
    year_start = datetime(dt.year, 1, 1, tzinfo=VN_TZ)
    doy = (dt - year_start).total_seconds() / 86400.0
    pos = doy / 365.25 * 12 - 0.5  # months since mid-January
    lo = math.floor(pos)
    frac = pos - lo
    return float(table[lo % 12] * (1 - frac) + table[(lo + 1) % 12] * frac)


def month(t_ms: int) -> int:
    return local_time(t_ms).month


def diurnal_cos(hour: float, peak_hour: float) -> float:
    """cos shape in [-1, 1] peaking at peak_hour."""
    return math.cos(2 * math.pi * (hour - peak_hour) / 24)


def bump(hour: float, centre: float, width_h: float) -> float:
    """A Gaussian bump in [0, 1] around centre (wrapping at midnight)."""
    d = min(abs(hour - centre), 24 - abs(hour - centre))
    return math.exp(-0.5 * (d / width_h) ** 2)


def rush_hours(hour: float) -> float:
    """Traffic-driven emission shape in [0, 1]: peaks 06:30-08:30 and 16:30-18:30 (facts 'Traffic')."""
    return max(bump(hour, 7.5, 0.9), bump(hour, 17.5, 1.0), 0.45 * bump(hour, 12.2, 1.0))


def ar1(state: np.ndarray, dt_s: float, tau_s: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """One exact step of a stationary Ornstein-Uhlenbeck process with std `sigma` and time constant tau."""
    phi = math.exp(-dt_s / tau_s)
    return state * phi + sigma * math.sqrt(1 - phi * phi) * rng.standard_normal(state.shape)
