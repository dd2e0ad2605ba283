"""VN_AQI per Decision 1459/QĐ-TCMT (2019): breakpoints, NowCast, hourly and daily index, colour bands.

Source: the decision's text as transcribed in shared/reference/nghe-an-facts.md and
github qnguyenle075/hcmc-air-quality data/processed/qd_1459_vn_aqi.md (sections 2.2-2.3, Tables 1-2).
All concentrations in µg/m³. Functions take numpy arrays and work on whole stations at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INDEX_LEVELS = np.array([0, 50, 100, 150, 200, 300, 400, 500], dtype=np.float64)

# Table 2 (BP_i per pollutant). O3 8h has no breakpoints above I=300.
BREAKPOINTS: dict[str, np.ndarray] = {
    "o3": np.array([0, 160, 200, 300, 400, 800, 1000, 1200], dtype=np.float64),  # 1-hour
    "o3_8h": np.array([0, 100, 120, 170, 210, 400], dtype=np.float64),
    "co": np.array([0, 10000, 30000, 45000, 60000, 90000, 120000, 150000], dtype=np.float64),
    "so2": np.array([0, 125, 350, 550, 800, 1600, 2100, 2630], dtype=np.float64),
    "no2": np.array([0, 100, 200, 700, 1200, 2350, 3100, 3850], dtype=np.float64),
    "pm10": np.array([0, 50, 150, 250, 350, 420, 500, 600], dtype=np.float64),
    "pm25": np.array([0, 25, 50, 80, 150, 250, 350, 500], dtype=np.float64),
}
HOURLY_POLLUTANTS = ("pm25", "pm10", "o3", "no2", "co", "so2")
NOWCAST_HOURS = 12


@dataclass(frozen=True)
class Band:
    level: int
    lo: int
    hi: int
    name_vi: str
    name_en: str
    fiware: str  # AirQualityObserved airQualityLevel / KPI standing vocabulary
    rgb: tuple[int, int, int]

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)


# Table 1.
BANDS: tuple[Band, ...] = (
    Band(1, 0, 50, "Tốt", "Good", "good", (0, 228, 0)),
    Band(2, 51, 100, "Trung bình", "Moderate", "moderate", (255, 255, 0)),
    Band(3, 101, 150, "Kém", "Poor", "unhealthyForSensitive", (255, 126, 0)),
    Band(4, 151, 200, "Xấu", "Bad", "unhealthy", (255, 0, 0)),
    Band(5, 201, 300, "Rất xấu", "Very bad", "veryUnhealthy", (143, 63, 151)),
    Band(6, 301, 500, "Nguy hại", "Hazardous", "hazardous", (126, 0, 35)),
)


def band_of(aqi: int) -> Band:
    """The colour band of a rounded index value (values above 500 stay 'Nguy hại')."""
    for b in BANDS:
        if aqi <= b.hi:
            return b
    return BANDS[-1]


def round_index(x: np.ndarray) -> np.ndarray:
    """Round half up to an integer, as the decision rounds AQI values (NaN stays NaN)."""
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5)


def sub_index(pollutant: str, conc: np.ndarray) -> np.ndarray:
    """AQI_x = (I_{i+1} − I_i)/(BP_{i+1} − BP_i) × (C_x − BP_i) + I_i; capped at 500; NaN where no data.

    Concentrations above the top breakpoint are 500 ("≥" in Table 2). O3 8h above 400 µg/m³ gives NaN:
    the decision says to use the 1-hour value then.
    """
    bp = BREAKPOINTS[pollutant]
    levels = INDEX_LEVELS[: len(bp)]
    c = np.asarray(conc, dtype=np.float64)
    out = np.interp(c, bp, levels)
    if pollutant == "o3_8h":
        out = np.where(c > bp[-1], np.nan, out)
    else:
        out = np.where(c >= bp[-1], 500.0, out)
    return np.where(np.isnan(c) | (c < 0), np.nan, out)


def nowcast(hourly: np.ndarray) -> np.ndarray:
    """NowCast of 12 hourly means per row; column 0 is the current hour (c1), column 11 is c12.

    w* = Cmin/Cmax over the available hours, w = max(w*, 1/2); NowCast = Σ w^(i−1) c_i / Σ w^(i−1) with
    w^(i−1) = 0 for missing hours. Needs at least 2 of c1..c3, else NaN ("no data").
    The decision writes the w = 1/2 case as Σ (1/2)^i c_i; the normalised form above equals it to within
    2^-12 with all 12 hours present and is the only reading consistent with its missing-hour rule.
    """
    c = np.atleast_2d(np.asarray(hourly, dtype=np.float64))[:, :NOWCAST_HOURS]
    present = ~np.isnan(c)
    with np.errstate(invalid="ignore", divide="ignore"):
        cmin = np.nanmin(np.where(present, c, np.inf), axis=1)
        cmax = np.nanmax(np.where(present, c, -np.inf), axis=1)
        w = np.where(cmax > 0, cmin / cmax, 1.0)
    w = np.clip(w, 0.5, 1.0)
    powers = w[:, None] ** np.arange(c.shape[1])[None, :]
    weights = np.where(present, powers, 0.0)
    total = np.where(present, c, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = (weights * total).sum(axis=1) / weights.sum(axis=1)
    enough = present[:, :3].sum(axis=1) >= 2
    return np.where(enough, value, np.nan)


@dataclass(frozen=True)
class Result:
    """Per-station index with its sub-indices; `aqi` is NaN where PM10 and PM2.5 are both missing."""

    aqi: np.ndarray
    sub: dict[str, np.ndarray]

    def dominant(self) -> list[str | None]:
        names = list(self.sub)
        stacked = np.vstack([self.sub[k] for k in names])
        out: list[str | None] = []
        for col in stacked.T:
            out.append(None if np.all(np.isnan(col)) else names[int(np.nanargmax(col))])
        return out


def _combine(sub: dict[str, np.ndarray]) -> Result:
    stacked = np.vstack(list(sub.values()))
    worst = np.max(np.where(np.isnan(stacked), -np.inf, stacked), axis=0)
    has_pm = ~(np.isnan(sub["pm25"]) & np.isnan(sub["pm10"]))
    aqi = np.where(has_pm & np.isfinite(worst), round_index(worst), np.nan)
    return Result(aqi, sub)


def hourly(hourly_means: dict[str, np.ndarray]) -> Result:
    """AQI^h per station. `hourly_means[p]` has shape (stations, 12), column 0 the current hour.

    PM uses the NowCast of its 12 hours; O3 (1h table), NO2, CO and SO2 use the current hour's mean.
    """
    sub = {}
    for p in HOURLY_POLLUTANTS:
        series = np.atleast_2d(hourly_means[p])
        conc = nowcast(series) if p in ("pm25", "pm10") else series[:, 0]
        sub[p] = sub_index(p, conc)
    return _combine(sub)


def daily(
    pm25_24h: np.ndarray,
    pm10_24h: np.ndarray,
    o3_max_1h: np.ndarray,
    o3_max_8h: np.ndarray,
    no2_max_1h: np.ndarray,
    co_max_1h: np.ndarray,
    so2_max_1h: np.ndarray,
) -> Result:
    """AQI^d per station from the day's statistics (section 2.2.2).

    O3's daily sub-index is the larger of its 1-hour and 8-hour sub-indices; the 8-hour one is dropped
    when the 8-hour maximum exceeds 400 µg/m³.
    """
    o3 = np.fmax(sub_index("o3", o3_max_1h), sub_index("o3_8h", o3_max_8h))
    sub = {
        "pm25": sub_index("pm25", pm25_24h),
        "pm10": sub_index("pm10", pm10_24h),
        "o3": o3,
        "no2": sub_index("no2", no2_max_1h),
        "co": sub_index("co", co_max_1h),
        "so2": sub_index("so2", so2_max_1h),
    }
    return _combine(sub)


def max_8h_mean(hourly_series: np.ndarray) -> np.ndarray:
    """Largest mean of 8 consecutive hourly values per row, NaN-aware.

    A window needs 6 of its 8 hours (US EPA's 75% rule; the decision is silent on missing hours).
    """
    x = np.atleast_2d(np.asarray(hourly_series, dtype=np.float64))
    present = ~np.isnan(x)
    vals = np.where(present, x, 0.0)
    csum = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(vals, axis=1)], axis=1)
    ccnt = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(present, axis=1)], axis=1)
    s = csum[:, 8:] - csum[:, :-8]
    n = ccnt[:, 8:] - ccnt[:, :-8]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(n >= 6, s / n, np.nan)
    out = np.full(x.shape[0], np.nan)
    ok = ~np.all(np.isnan(means), axis=1)
    out[ok] = np.nanmax(means[ok], axis=1)
    return out
