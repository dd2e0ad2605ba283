"""The sites the wall draws and lists: stations, traffic detectors, lighting cabinets and hospitals, each
with the state kind its values arrive under (lamps and card readers are too many; parents stand in)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ioc.city import City

KIND_OF_TYPE = {
    "AirQualityObserved": "aqi",
    "WeatherObserved": "weather",
    "FloodMonitoring": "water",
    "TrafficFlowObserved": "traffic",
    "StreetlightControlCabinet": "lighting",
}


@dataclass(frozen=True)
class Site:
    id: str
    kind: str
    type: str
    name: str
    area: str
    ward: str
    domain: str
    at: tuple[float, float]

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


@cache
def sites(city: City) -> tuple[Site, ...]:
    out = [
        Site(s.id, kind, s.type, s.name or s.id, s.area, s.ward, city.domain_of(s.id) or "", s.at)
        for t, kind in KIND_OF_TYPE.items()
        for s in city.sensors_of(t)
    ]
    out += [
        Site(h.id, "hospital", "Hospital", h.name, h.area, h.ward, "health", h.at)
        for h in city.hospitals.values()
    ]
    return tuple(out)
