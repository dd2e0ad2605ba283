"""Environment indicators: VN_AQI per air-quality station, latest weather, water levels vs flood levels."""

from __future__ import annotations

from typing import Any

import numpy as np

from ioc import vn_aqi
from ioc.city import City
from ioc.clock import HOUR_MS
from ioc.contract import POLLUTANTS, Frame
from ioc.contract.documents import FLOOD_STATUSES, Kind
from processors.airquality import AirQualityGroup

WEATHER_FIELDS = (
    "temperature",
    "relativeHumidity",
    "precipitation",
    "windSpeed",
    "windDirection",
    "atmosphericPressure",
)
VN_OFFSET_H = 7


def _num(x: Any) -> float | None:
    value = float(x)
    return None if np.isnan(value) else round(value, 2)


def local_day_start_hour(hour: int) -> int:
    """The hour index (hours since epoch) at which the Vietnam calendar day holding `hour` began."""
    local = hour + VN_OFFSET_H
    return local - local % 24 - VN_OFFSET_H


def _daily_item(value: float, dominant: str | None, hours: int, day_start: int) -> dict[str, Any]:
    """The day's VN_AQI so far; `complete` once all 24 hours of the local day are in."""
    band = None if np.isnan(value) else vn_aqi.band_of(int(value))
    return {
        "day": day_start * HOUR_MS,
        "aqi": None if band is None else int(value),
        "band": None if band is None else band.level,
        "dominant": dominant,
        "hours": hours,
        "complete": hours == 24,
    }


class EnvironmentState:
    """What the environment agent knows per sensor group; `drain()` gives the changed groups' aggregates."""

    def __init__(self, city: City) -> None:
        self.city = city
        self.aq: dict[str, AirQualityGroup] = {}
        self.latest: dict[str, dict[str, Any]] = {}  # weather and water: last reading per sensor
        self.water_readings: dict[str, list[dict[str, Any]]] = {}  # per group, every reading since the drain
        self.closed_hours: list[tuple[str, dict[str, Any]]] = []  # air quality: hours closed since the drain
        self.dirty: set[tuple[str, str]] = set()

    def add(self, frame: Frame) -> None:
        if frame.type == "AirQualityObserved":
            group = self.aq.get(frame.group)
            if group is None:
                ids = [s.id for s in self.city.groups[(frame.type, frame.group)]]
                group = self.aq[frame.group] = AirQualityGroup(ids)
            before = group.current_hour
            group.add(frame)
            if 0 <= before < group.current_hour:  # the group's own clock closed an hour: judged once, final
                self.closed_hours.append((frame.group, self.aqi_document(frame.group, before)))
        else:
            self._keep_latest(frame)
        self.dirty.add((frame.type, frame.group))

    def _keep_latest(self, frame: Frame) -> None:
        fields = WEATHER_FIELDS if frame.type == "WeatherObserved" else ("currentLevel",)
        for i, sensor_id in enumerate(frame.cols["id"].tolist()):
            t = int(frame.cols["dateObserved"][i])
            prev = self.latest.get(sensor_id)
            reading = {"t": t, **{f: float(frame.cols[f][i]) for f in fields if f in frame.cols}}
            if prev is None or prev["t"] <= t:
                self.latest[sensor_id] = reading
            if frame.type == "FloodMonitoring":
                self.water_readings.setdefault(frame.group, []).append({"id": sensor_id, **reading})

    def export(self, keys: set[tuple[str, str]]) -> dict[str, Any]:
        """Air-quality rings and latest weather/water readings of some groups, for a partition checkpoint."""
        out = {}
        for type_, group in keys:
            if type_ == "AirQualityObserved":
                if group in self.aq:
                    out[f"{type_}|{group}"] = self.aq[group].snapshot()
            else:
                ids = [s.id for s in self.city.groups.get((type_, group), ()) if s.id in self.latest]
                out[f"{type_}|{group}"] = {i: self.latest[i] for i in ids}
        return out

    def restore(self, snap: dict[str, Any]) -> None:
        for key, value in snap.items():
            type_, group = key.split("|", 1)
            if type_ == "AirQualityObserved":
                self.aq[group] = AirQualityGroup.restore(value)
            else:
                self.latest.update(value)

    def forget(self, keys: set[tuple[str, str]]) -> None:
        for type_, group in keys:
            if type_ == "AirQualityObserved":
                self.aq.pop(group, None)
            else:
                for s in self.city.groups.get((type_, group), ()):
                    self.latest.pop(s.id, None)
            self.dirty.discard((type_, group))
            self.water_readings.pop(group, None)
        self.closed_hours = [
            (g, doc) for g, doc in self.closed_hours if ("AirQualityObserved", g) not in keys
        ]

    def size(self) -> int:
        """Stations, latest readings and readings waiting for the next emit."""
        waiting = sum(len(v) for v in self.water_readings.values()) + len(self.closed_hours)
        return len(self.aq) + len(self.latest) + waiting

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        """(group, aggregate document) for every group changed since the last drain; closed air-quality hours
        first, so the open hour's document is the last a reader sees."""
        out, self.closed_hours = self.closed_hours, []
        for type_, group in sorted(self.dirty):
            if type_ == "AirQualityObserved":
                out.append((group, self.aqi_document(group)))
            elif type_ == "WeatherObserved":
                out.append((group, self._latest_document(Kind.WEATHER, type_, group)))
            else:
                out.append((group, self._water_document(group)))
        self.dirty.clear()
        return out

    def aqi_document(self, group: str, closed_hour: int | None = None) -> dict[str, Any]:
        """The open hour's VN_AQI so far (provisional), or a closed hour's (final, for the alert rules)."""
        g = self.aq[group]
        hour = g.current_hour if closed_hour is None else closed_hour
        result = g.aqi(hour)
        dominant = result.dominant()
        nowcast = {p: vn_aqi.nowcast(g.hourly_means(hour, vn_aqi.NOWCAST_HOURS)[p]) for p in ("pm25", "pm10")}
        day_start = local_day_start_hour(hour)
        day, day_hours = g.daily(day_start)
        day_dominant = day.dominant()
        items = []
        for i, sensor_id in enumerate(g.ids.tolist()):
            value = result.aqi[i]
            band = vn_aqi.band_of(int(value)) if not np.isnan(value) else None
            items.append(
                {
                    "id": sensor_id,
                    "t": int(g.last_t[i]),
                    "aqi": None if band is None else int(value),
                    "band": None if band is None else band.level,
                    "dominant": dominant[i],
                    "sub": {p: _num(vn_aqi.round_index(result.sub[p][i])) for p in POLLUTANTS},
                    "last": {p: _num(g.last[i, k]) for k, p in enumerate(POLLUTANTS)},
                    "nowcast": {p: _num(nowcast[p][i]) for p in nowcast},
                    "daily": _daily_item(day.aqi[i], day_dominant[i], int(day_hours[i]), day_start),
                }
            )
        return {
            "v": 1,
            "kind": Kind.AQI,
            "group": group,
            "hour": hour * HOUR_MS,
            "provisional": closed_hour is None,
            "final": closed_hour is not None,
            "items": items,
        }

    def _latest_document(self, kind: str, type_: str, group: str) -> dict[str, Any]:
        items = [
            {"id": s.id, **self.latest[s.id]} for s in self.city.groups[(type_, group)] if s.id in self.latest
        ]
        return {"v": 1, "kind": kind, "group": group, "items": items}

    def _water_document(self, group: str) -> dict[str, Any]:
        """Every reading since the last drain, in arrival order: the rules judge each reading once however
        often documents go out, so a re-run or a replay raises the same alerts."""
        items = self.water_readings.pop(group, [])
        doc = {"v": 1, "kind": Kind.WATER, "group": group, "final": True, "items": items}
        for item in items:
            levels = self.city.sensors[item["id"]].props["levels"]
            exceeded = sum(item["currentLevel"] >= lvl for lvl in levels)
            item["status"] = FLOOD_STATUSES[exceeded]
            item["levels"] = levels
        return doc
