"""The city model as the page draws it: areas, schematic ward zones, roads and sites (no map tiles)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ioc import vn_aqi
from web.deps import Reader, Wall
from web.sites import sites

router = APIRouter(prefix="/api", tags=["city"])
STATION_TYPES = ("AirQualityObserved", "WeatherObserved", "FloodMonitoring")


@router.get("/city")
async def city(wall: Wall, _: Reader) -> dict[str, Any]:
    c = wall.city
    areas = []
    for a in c.areas.values():
        zones = c.zones(a.id)
        wards = [
            {"id": w.id, "name": w.name, "population": w.population, "centre": w.centre, "zone": zones[w.id]}
            for w in a.wards
        ]
        areas.append(
            {
                "id": a.id,
                "name": a.name,
                "name_en": a.name_en,
                "centre": a.centre,
                "bbox": a.bbox,
                "wards": wards,
            }
        )
    stations = [
        {
            "id": s.id,
            "type": s.type,
            "name": s.name,
            "area": s.area,
            "ward": s.ward,
            "at": s.at,
            "props": dict(s.props),
        }
        for t in STATION_TYPES
        for s in c.sensors_of(t)
    ]
    drawn = [
        {"id": x.id, "key": x.key, "kind": x.kind, "type": x.type, "name": x.name, "area": x.area, "at": x.at}
        for x in sites(c)
    ]
    roads = [
        {"id": r.id, "name": r.name, "area": r.area, "class": r.road_class, "path": r.path}
        for r in c.roads.values()
    ]
    bands = [
        {"level": b.level, "lo": b.lo, "hi": b.hi, "vi": b.name_vi, "en": b.name_en, "color": b.hex}
        for b in vn_aqi.BANDS
    ]
    return {"areas": areas, "stations": stations, "sites": drawn, "roads": roads, "aqi_bands": bands}
