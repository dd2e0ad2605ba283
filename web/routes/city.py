"""The city model as the page draws it: areas, schematic ward zones, roads and sites (no map tiles)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ioc import vn_aqi
from ioc.city import City
from web.deps import Reader, Wall
from web.models import READ_REFUSALS
from web.sites import sites

router = APIRouter(prefix="/api", tags=["city"], responses=READ_REFUSALS)
STATION_TYPES = ("AirQualityObserved", "WeatherObserved", "FloodMonitoring")
LatLon = tuple[float, float]


class Ward(BaseModel):
    id: str
    name: str
    population: int
    centre: LatLon
    zone: list[LatLon] = Field(description="schematic: the Voronoi cell of the ward's centre")


class Area(BaseModel):
    id: str
    name: str
    name_en: str
    centre: LatLon
    bbox: tuple[LatLon, LatLon]
    wards: list[Ward]


class Station(BaseModel):
    id: str
    type: str
    name: str
    name_en: str
    area: str
    ward: str
    at: LatLon
    props: dict[str, Any]


class DrawnSite(BaseModel):
    id: str
    key: str = Field(description="<kind>:<id>, the key of its latest value on the wall")
    kind: str
    type: str
    name: str
    name_en: str
    area: str
    at: LatLon
    approach: str | None = Field(
        None, description="a lane detector's approach (its site and direction): the wall lists lanes together"
    )
    lane: int | None = Field(None, description="a lane detector's lane number in its approach")


class Road(BaseModel):
    id: str
    name: str
    name_en: str
    area: str
    road_class: str = Field(serialization_alias="class")
    path: list[LatLon]


class AqiBand(BaseModel):
    level: int
    lo: int
    hi: int
    vi: str
    en: str
    color: str


class CityView(BaseModel):
    areas: list[Area]
    stations: list[Station]
    sites: list[DrawnSite]
    roads: list[Road]
    aqi_bands: list[AqiBand]


@router.get("/city", response_model_exclude_none=True)
async def city(wall: Wall, _: Reader) -> CityView:
    c = wall.city
    return CityView(
        areas=[_area(c, a.id) for a in c.areas.values()],
        stations=[
            Station(
                id=s.id,
                type=s.type,
                name=s.name,
                name_en=s.name_en,
                area=s.area,
                ward=s.ward,
                at=s.at,
                props=dict(s.props),
            )
            for t in STATION_TYPES
            for s in c.sensors_of(t)
        ],
        sites=[
            DrawnSite(
                id=x.id,
                key=x.key,
                kind=x.kind,
                type=x.type,
                name=x.name,
                name_en=x.name_en,
                area=x.area,
                at=x.at,
                **_lane(c, x.id),
            )
            for x in sites(c)
        ],
        roads=[
            Road(
                id=r.id,
                name=r.name,
                name_en=r.name_en,
                area=r.area,
                road_class=r.road_class,
                path=list(r.path),
            )
            for r in c.roads.values()
        ],
        aqi_bands=[
            AqiBand(level=b.level, lo=b.lo, hi=b.hi, vi=b.name_vi, en=b.name_en, color=b.hex)
            for b in vn_aqi.BANDS
        ],
    )


def _lane(c: City, site_id: str) -> dict[str, Any]:
    """A lane detector's approach and lane from the city model; nothing for other sites."""
    sensor = c.sensors.get(site_id)
    props = sensor.props if sensor is not None else {}
    if "site" not in props or "direction" not in props:
        return {}
    return {"approach": f"{props['site']}-{props['direction']}", "lane": props.get("lane")}


def _area(c: City, area_id: str) -> Area:
    a = c.areas[area_id]
    zones = c.zones(a.id)
    wards = [
        Ward(id=w.id, name=w.name, population=w.population, centre=w.centre, zone=zones[w.id])
        for w in a.wards
    ]
    return Area(id=a.id, name=a.name, name_en=a.name_en, centre=a.centre, bbox=a.bbox, wards=wards)
