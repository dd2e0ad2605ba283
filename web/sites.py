"""The sites the wall draws and lists: stations, traffic detectors, lighting cabinets and hospitals, each
with the state kind its values arrive under (lamps and card readers are too many; parents stand in)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ioc.city import City
from ioc.contract.documents import SENSOR_KINDS, TYPE_OF_KIND, Kind


@dataclass(frozen=True)
class Site:
    id: str
    kind: Kind
    type: str
    name: str
    area: str
    ward: str
    domain: str
    at: tuple[float, float]
    name_en: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


@cache
def sites(city: City) -> tuple[Site, ...]:
    out = [
        Site(
            s.id,
            kind,
            s.type,
            s.name or s.id,
            s.area,
            s.ward,
            city.domain_of(s.id) or "",
            s.at,
            s.name_en or s.name or s.id,
        )
        for kind in SENSOR_KINDS
        for s in city.sensors_of(TYPE_OF_KIND[kind])
    ]
    out += [
        Site(h.id, Kind.HOSPITAL, "Hospital", h.name, h.area, h.ward, "health", h.at, h.name_en)
        for h in city.hospitals.values()
    ]
    return tuple(out)
