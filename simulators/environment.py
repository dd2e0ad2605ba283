"""Environment sensors: air quality (six VN_AQI pollutants), weather and water levels, all stations per step.

Every parameter is from shared/reference/nghe-an-facts.md or marked est.; see simulators/climate.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ioc.city import City, Sensor
from ioc.contract import Frame
from simulators import climate
from simulators.overrides import Overrides, lookup

POLLUTANTS = ("pm25", "pm10", "no2", "o3", "co", "so2")

# Site multipliers per pollutant and traffic weight: est. from station type (traffic sites carry more
# NO2/CO and titrate O3; the port and the cement zone carry SO2 and coarse dust).
SITES: dict[str, dict[str, float]] = {
    "urban traffic": {
        "pm": 1.15,
        "no2": 1.3,
        "co": 1.3,
        "so2": 1.0,
        "o3": 0.85,
        "traffic": 1.0,
        "coarse": 1.7,
    },
    "urban background": {
        "pm": 0.95,
        "no2": 0.8,
        "co": 0.8,
        "so2": 0.9,
        "o3": 1.1,
        "traffic": 0.4,
        "coarse": 1.6,
    },
    "roadside heavy traffic": {
        "pm": 1.35,
        "no2": 1.6,
        "co": 1.6,
        "so2": 1.2,
        "o3": 0.75,
        "traffic": 1.3,
        "coarse": 1.9,
    },
    "coastal background": {
        "pm": 0.7,
        "no2": 0.5,
        "co": 0.6,
        "so2": 0.8,
        "o3": 1.15,
        "traffic": 0.3,
        "coarse": 1.8,
    },
    "port": {"pm": 1.0, "no2": 1.0, "co": 1.0, "so2": 1.8, "o3": 1.0, "traffic": 0.6, "coarse": 1.9},
    "industrial": {"pm": 1.4, "no2": 1.1, "co": 1.2, "so2": 3.0, "o3": 0.9, "traffic": 0.5, "coarse": 2.3},
}
# Typical levels at a background site, µg/m³ (est.): NO2, O3 (daily mean), CO, SO2.
BASE_NO2, BASE_O3, BASE_CO, BASE_SO2 = 28.0, 48.0, 750.0, 8.0
# Mean wind speed by area, m/s (est.: the coast is windier).
BASE_WIND = {"vinh": 2.0, "cua-lo": 3.2, "hoang-mai": 2.4}
# Tide constituents at Cửa Lò (amplitude m, speed °/h, phase rad): irregular diurnal tide with a
# 2-2.5 m spring range and <1 m at neaps from the K1/O1 beat (facts; amplitudes and phases est.).
TIDE = ((0.55, 15.0411, 0.3), (0.52, 13.9430, 1.2), (0.18, 28.9841, 0.8), (0.06, 30.0, 2.1))
TIDE_MSL_M = 1.6  # mean level above the tide gauge datum (est.)
EPOCH_2000_MS = 946_684_800_000
RAIN_SPELL_PERSISTENCE = 0.75  # P(next hour wet | wet), est.
GIO_LAO_START_P, GIO_LAO_END_P = 0.12, 0.33  # per day: ~27% of May-Aug days ≈ 33 days/yr (facts: 20-70)
COLD_SURGE_START_P = 0.14  # per NE-monsoon day ≈ 30 surges/yr (facts)
RIVER_M_PER_MM = 0.005  # river rise per mm of basin rain before recession (est.)
STREET_DRAIN_MM_H = 10.0
STREET_PONDING = 2.5


@dataclass
class EnvironmentParams:
    """What a scenario stage may change, per urban area (names as in simulators/scenario.py)."""

    pm_factor: float = 1.0
    gas_factor: float = 1.0
    rain_mm_h: float = 0.0  # forced extra rain (typhoon bands)
    wind_ms: float | None = None  # forced wind speed
    wind_dir: float | None = None
    temp_offset_c: float = 0.0
    rh_offset: float = 0.0
    gio_lao: bool | None = None  # force the foehn on or off
    surge_m: float = 0.0  # storm surge on tide and river gauges
    pressure_offset_hpa: float = 0.0


@dataclass
class _Weather:
    """Per-area weather state (one weather station per area)."""

    temp_anom: np.ndarray
    wind_log: np.ndarray
    dir_anom: np.ndarray
    pressure_anom: np.ndarray
    wet: np.ndarray
    rain_rate: np.ndarray


@dataclass
class _Episodes:
    gio_lao: bool = False
    cold_surge_c: float = 0.0
    day: int = -1


@dataclass
class EnvironmentModel:
    """Steps all environment stations of the city together; `step(t)` returns this tick's frames."""

    city: City
    rng: np.random.Generator
    tick_ms: int = 60_000
    domain: str = "environment"
    scales_with_rate: bool = True
    params: dict[str, EnvironmentParams] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.areas = list(self.city.areas)
        self.set_overrides({})
        self.aq = list(self.city.sensors_of("AirQualityObserved"))
        self.wx = list(self.city.sensors_of("WeatherObserved"))
        self.wl = list(self.city.sensors_of("FloodMonitoring"))
        self._aq_area = np.array([self.areas.index(s.area) for s in self.aq])
        self._site = {k: np.array([SITES[s.props["site"]][k] for s in self.aq]) for k in SITES["industrial"]}
        self._analysers = np.array(
            [[p in s.props.get("analysers", POLLUTANTS) for p in POLLUTANTS] for s in self.aq]
        )
        n_areas = len(self.areas)
        self._local = np.zeros((len(self.aq), len(POLLUTANTS)))
        self._regional = np.zeros(n_areas)
        z = np.zeros(n_areas)
        self._wx = _Weather(z.copy(), z.copy(), z.copy(), z.copy(), np.zeros(n_areas, bool), z.copy())
        self._episodes = _Episodes()
        self._basin = np.zeros(len(self.wl))  # river storage (m) or street ponding (m)
        self._last_ms: int | None = None
        self._seq: dict[tuple[str, str], int] = {}

    # -- scenario hooks ---------------------------------------------------------------------------------

    def set_overrides(self, overrides: Overrides) -> None:
        names = EnvironmentParams.__dataclass_fields__
        self.params = {
            a: EnvironmentParams(
                **{k: lookup(overrides, (a,), k, getattr(EnvironmentParams, k)) for k in names}
            )
            for a in self.areas
        }

    def targets(self) -> set[str]:
        return set(self.areas)

    def readings_per_tick(self) -> float:
        return float(len(self.aq) + len(self.wx) + len(self.wl))

    # -- public ---------------------------------------------------------------------------------------

    def step(self, t_ms: int) -> list[Frame]:
        dt_s = self.tick_ms / 1000 if self._last_ms is None else max((t_ms - self._last_ms) / 1000, 1.0)
        self._last_ms = t_ms
        self._advance_episodes(t_ms)
        weather = self._weather(t_ms, dt_s)
        conc = self._air_quality(t_ms, dt_s, weather)
        levels = self._water(t_ms, dt_s, weather)
        return [
            *self._aq_frames(t_ms, conc, weather),
            *self._wx_frames(t_ms, weather),
            *self._wl_frames(t_ms, levels),
        ]

    # -- episodes (day-scale Markov chains) -----------------------------------------------------------

    def _advance_episodes(self, t_ms: int) -> None:
        day = (t_ms + 7 * 3_600_000) // 86_400_000
        ep = self._episodes
        if ep.day == day:
            return
        days = 1 if ep.day < 0 else int(day - ep.day)
        ep.day = int(day)
        m = climate.month(t_ms)
        for _ in range(min(days, 30)):
            if m in climate.GIO_LAO_MONTHS:
                ep.gio_lao = self.rng.random() < (1 - GIO_LAO_END_P if ep.gio_lao else GIO_LAO_START_P)
            else:
                ep.gio_lao = False
            if m in climate.NE_MONSOON_MONTHS and self.rng.random() < COLD_SURGE_START_P:
                ep.cold_surge_c += float(self.rng.uniform(5, 10))

    def _gio_lao(self, area: str) -> bool:
        forced = self.params[area].gio_lao
        return self._episodes.gio_lao if forced is None else forced

    # -- weather --------------------------------------------------------------------------------------

    def _weather(self, t_ms: int, dt_s: float) -> dict[str, np.ndarray]:
        w, rng = self._wx, self.rng
        hour = climate.local_hour(t_ms)
        w.temp_anom = climate.ar1(w.temp_anom, dt_s, 36 * 3600, 1.2, rng)
        w.wind_log = climate.ar1(w.wind_log, dt_s, 6 * 3600, 0.35, rng)
        w.dir_anom = climate.ar1(w.dir_anom, dt_s, 4 * 3600, 25.0, rng)
        w.pressure_anom = climate.ar1(w.pressure_anom, dt_s, 48 * 3600, 2.0, rng)
        self._episodes.cold_surge_c *= math.exp(-dt_s / (2.5 * 86400))
        self._rain(t_ms, dt_s)
        rows = [self._area_weather(i, a, t_ms, hour, dt_s) for i, a in enumerate(self.areas)]
        return {k: np.array([r[k] for r in rows]) for k in rows[0]}

    def _rain(self, t_ms: int, dt_s: float) -> None:
        w, rng = self._wx, self.rng
        p_wet = climate.seasonal(climate.MONTHLY_WET_FRACTION, t_ms)
        stay = RAIN_SPELL_PERSISTENCE
        start = p_wet * (1 - stay) / (1 - p_wet)
        hours = dt_s / 3600
        p_start, p_end = 1 - (1 - start) ** hours, 1 - stay**hours
        u = rng.random(len(self.areas))
        new_wet = np.where(w.wet, u >= p_end, u < p_start)
        mean_rate = climate.seasonal(climate.MONTHLY_RAIN_MM, t_ms) / (30.4 * 24 * p_wet)
        fresh = new_wet & (~w.wet | (rng.random(len(self.areas)) < hours))  # new rate each spell / ~hourly
        w.rain_rate = np.where(
            fresh, rng.exponential(mean_rate, len(self.areas)), np.where(new_wet, w.rain_rate, 0.0)
        )
        w.wet = new_wet

    def _area_weather(self, i: int, area: str, t_ms: int, hour: float, dt_s: float) -> dict[str, float]:
        w, p, ep = self._wx, self.params[area], self._episodes
        coastal = area == "cua-lo"
        half_range = climate.seasonal(climate.DIURNAL_HALF_RANGE_C, t_ms) * (0.75 if coastal else 1.0)
        foehn = self._gio_lao(area)
        temp = (
            climate.seasonal(climate.MONTHLY_TEMP_C, t_ms)
            + half_range * _daily_shape(hour)
            + w.temp_anom[i]
            - ep.cold_surge_c
            + (3.5 + 2.5 * max(0.0, _daily_shape(hour))) * foehn * (0.6 if coastal else 1.0)
            + p.temp_offset_c
        )
        rain_mm_h = float(w.rain_rate[i]) + p.rain_mm_h
        rh = (
            climate.seasonal(climate.MONTHLY_RH, t_ms)
            - 0.035 * half_range * _daily_shape(hour)
            + (0.08 if rain_mm_h > 0 else 0.0)
            + 0.03 * min(ep.cold_surge_c, 8) / 8
            - (0.3 if foehn else 0.0)
            + p.rh_offset
        )
        wind = BASE_WIND[area] * math.exp(float(w.wind_log[i])) * (1 + 0.3 * max(0.0, _daily_shape(hour)))
        wind += 0.35 * ep.cold_surge_c + (3.0 if foehn else 0.0)
        base_dir = 225.0 if foehn else (45.0 if climate.month(t_ms) in climate.NE_MONSOON_MONTHS else 140.0)
        pressure = (
            climate.seasonal(climate.MONTHLY_PRESSURE_HPA, t_ms)
            + 1.2 * math.cos(4 * math.pi * (hour - 10) / 24)
            + float(w.pressure_anom[i])
            + 0.6 * ep.cold_surge_c
            + p.pressure_offset_hpa
        )
        return {
            "temperature": temp,
            "relativeHumidity": min(max(rh, 0.2), 1.0),
            "precipitation": rain_mm_h * dt_s / 3600,
            "rain_mm_h": rain_mm_h,
            "windSpeed": max(p.wind_ms if p.wind_ms is not None else wind, 0.0),
            "windDirection": (p.wind_dir if p.wind_dir is not None else base_dir + float(w.dir_anom[i]))
            % 360,
            "atmosphericPressure": pressure,
        }

    # -- air quality ----------------------------------------------------------------------------------

    def _air_quality(self, t_ms: int, dt_s: float, weather: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rng = self.rng
        self._regional = climate.ar1(self._regional, dt_s, 18 * 3600, 0.35, rng)
        self._local = climate.ar1(self._local, dt_s, 2 * 3600, 0.22, rng)
        hour = climate.local_hour(t_ms)
        a = self._aq_area
        site = self._site
        rush = climate.rush_hours(hour)
        pm_month = climate.seasonal(climate.MONTHLY_PM25, t_ms)
        dirty_season = 0.8 + 0.4 * pm_month / 50  # gases follow the same winter inversion season
        wind = weather["windSpeed"][a]
        dispersion = np.clip((2.0 / np.maximum(wind, 0.5)) ** 0.4, 0.5, 1.6)
        washout = np.exp(-0.06 * weather["rain_mm_h"][a])
        foehn = np.array([self._gio_lao(s.area) for s in self.aq], dtype=float)
        pm_factor = np.array([self.params[s.area].pm_factor for s in self.aq])
        gas_factor = np.array([self.params[s.area].gas_factor for s in self.aq])
        noise = np.exp(self._regional[a][:, None] + self._local)
        night = 0.5 + 0.5 * climate.diurnal_cos(hour, 3.0)  # shallow night boundary layer traps emissions
        pm_shape = 1 + 0.30 * climate.diurnal_cos(hour, 3.0) + 0.15 * site["traffic"] * rush
        pm25 = (
            pm_month
            * site["pm"]
            * pm_shape
            * noise[:, 0]
            * dispersion
            * washout
            * pm_factor
            * (1 + 0.1 * foehn)
        )
        pm10 = pm25 * site["coarse"] * np.exp(0.5 * self._local[:, 1]) * (1 + 0.25 * foehn)
        no2_shape = 0.55 + 0.35 * night + 0.8 * site["traffic"] * rush
        no2 = BASE_NO2 * site["no2"] * dirty_season * no2_shape * noise[:, 2] * dispersion * gas_factor
        sun = max(0.0, math.sin(math.pi * (hour - 7.5) / 13)) if 7.5 <= hour <= 20.5 else 0.0
        o3_season = 0.8 + 0.4 * (climate.seasonal(climate.MONTHLY_TEMP_C, t_ms) - 17) / 12
        o3 = (
            BASE_O3
            * site["o3"]
            * (0.35 + 1.3 * sun)
            * o3_season
            * noise[:, 3]
            * (1 + 0.3 * foehn)
            * gas_factor
        )
        co_shape = 0.6 + 0.3 * night + 0.9 * site["traffic"] * rush
        co = BASE_CO * site["co"] * dirty_season * co_shape * noise[:, 4] * dispersion * gas_factor
        so2 = BASE_SO2 * site["so2"] * noise[:, 5] * dispersion * gas_factor
        out = dict(zip(POLLUTANTS, (pm25, pm10, no2, o3, co, so2), strict=True))
        return {p: np.where(self._analysers[:, k], out[p], np.nan) for k, p in enumerate(POLLUTANTS)}

    # -- water ----------------------------------------------------------------------------------------

    def _water(self, t_ms: int, dt_s: float, weather: dict[str, np.ndarray]) -> np.ndarray:
        tide = _tide(t_ms)
        rain = {a: float(weather["rain_mm_h"][i]) for i, a in enumerate(self.areas)}
        river_high = False
        levels = np.zeros(len(self.wl))
        for k, s in enumerate(self.wl):
            surge = self.params[s.area].surge_m
            kind = s.props["kind"]
            if kind == "tide":
                levels[k] = TIDE_MSL_M + tide * (0.95 if s.id.endswith("CH") else 1.0) + surge
                continue
            if kind == "river":
                # Basin storage: 939 mm in 3 days (Oct 2019) lifts the river ~2.5 m, past alert 2 (k, τ est.).
                basin_rain = rain[s.area] if s.area == "hoang-mai" else max(rain["vinh"], rain["cua-lo"])
                self._basin[k] = (
                    self._basin[k] * math.exp(-dt_s / (36 * 3600)) + RIVER_M_PER_MM * basin_rain * dt_s / 3600
                )
                base = 0.9 if s.area == "vinh" else 0.7
                levels[k] = base + 0.45 * tide + self._basin[k] + 0.8 * surge
                river_high = river_high or (s.area == "vinh" and levels[k] > s.props["levels"][0])
        for k, s in enumerate(self.wl):
            if s.props["kind"] == "street":
                levels[k] = self._street(k, rain[s.area] * s.props.get("ponding", 1.0), dt_s, river_high)
        return levels

    def _street(self, k: int, rain_mm_h: float, dt_s: float, river_high: bool) -> float:
        # Vinh's drains take ~10 mm/h (est.); the excess ponds 2.5x at the low spot, which 45 mm/h of excess
        # rain with outfalls blocked by a high river (τ 6 h instead of 1.5 h) lifts to ~0.5 m: the 0.3-0.7 m
        # streets of Oct 2019 (facts). Factor and time constants est.
        tau = (6.0 if river_high else 1.5) * 3600
        excess = max(rain_mm_h - STREET_DRAIN_MM_H, 0.0)
        self._basin[k] = self._basin[k] * math.exp(-dt_s / tau) + STREET_PONDING * excess / 1000 * dt_s / 3600
        return float(self._basin[k])

    # -- frames ---------------------------------------------------------------------------------------

    def _next_seq(self, type_: str, group: str) -> int:
        key = (type_, group)
        self._seq[key] = self._seq.get(key, -1) + 1
        return self._seq[key]

    def _frames(
        self, type_: str, t_ms: int, sensors: list[Sensor], cols: dict[str, np.ndarray]
    ) -> list[Frame]:
        frames = []
        for area in self.areas:
            idx = np.array([i for i, s in enumerate(sensors) if s.area == area])
            if len(idx) == 0:
                continue
            group = sensors[idx[0]].group
            frame_cols: dict[str, object] = {
                "id": [sensors[i].id for i in idx],
                "dateObserved": np.full(len(idx), t_ms, dtype=np.int64),
            }
            frame_cols.update({k: v[idx] for k, v in cols.items()})
            frames.append(Frame(type_, group, self._next_seq(type_, group), t_ms, frame_cols, "sim"))
        return frames

    def _aq_frames(
        self, t_ms: int, conc: dict[str, np.ndarray], weather: dict[str, np.ndarray]
    ) -> list[Frame]:
        n = len(self.aq)
        a = self._aq_area
        noise = 1 + 0.03 * self.rng.standard_normal((len(POLLUTANTS), n))  # analyser noise ±3 %
        cols = {
            p: np.round(np.maximum(conc[p] * noise[k], 0.0), 0 if p == "co" else 1)
            for k, p in enumerate(POLLUTANTS)
        }
        cols["temperature"] = np.round(weather["temperature"][a] + 0.3 * self.rng.standard_normal(n), 1)
        cols["relativeHumidity"] = np.round(np.clip(weather["relativeHumidity"][a], 0, 1), 3)
        return self._frames("AirQualityObserved", t_ms, self.aq, cols)

    def _wx_frames(self, t_ms: int, weather: dict[str, np.ndarray]) -> list[Frame]:
        area_of = np.array([self.areas.index(s.area) for s in self.wx])
        cols = {
            "temperature": np.round(weather["temperature"][area_of], 1),
            "relativeHumidity": np.round(weather["relativeHumidity"][area_of], 3),
            "precipitation": np.round(weather["precipitation"][area_of], 1),
            "windSpeed": np.round(weather["windSpeed"][area_of], 1),
            "windDirection": np.round(weather["windDirection"][area_of], 0),
            "atmosphericPressure": np.round(weather["atmosphericPressure"][area_of], 1),
        }
        return self._frames("WeatherObserved", t_ms, self.wx, cols)

    def _wl_frames(self, t_ms: int, levels: np.ndarray) -> list[Frame]:
        noisy = levels + 0.01 * self.rng.standard_normal(len(levels))
        return self._frames(
            "FloodMonitoring", t_ms, self.wl, {"currentLevel": np.round(np.clip(noisy, 0, 19.9), 2)}
        )


def _daily_shape(hour: float) -> float:
    """Temperature's daily shape in [-1, 1]: minimum at 05:30, maximum at 14:30, slow evening cooling."""
    if 5.5 <= hour <= 14.5:
        return -math.cos(math.pi * (hour - 5.5) / 9)
    since_peak = (hour - 14.5) % 24
    return math.cos(math.pi * since_peak / 15)


def _tide(t_ms: int) -> float:
    hours = (t_ms - EPOCH_2000_MS) / 3_600_000
    return sum(a * math.cos(math.radians(speed * hours) + phase) for a, speed, phase in TIDE)
