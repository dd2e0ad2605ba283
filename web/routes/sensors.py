"""Sensors and their status: every drawn site with its latest value, state and worst active alert."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ioc.contract.documents import AlertStatus, MapState, Severity
from ioc.contract.freshness import age_ms, is_stale
from web.deps import Reader, Wall
from web.mode import pace
from web.models import READ_REFUSALS, Entity
from web.sites import Site, sites

router = APIRouter(prefix="/api/sensors", tags=["sensors"], responses=READ_REFUSALS)


class SiteAlert(BaseModel):
    """The site's most severe active alert."""

    id: str
    severity: Severity
    status: AlertStatus


class Sensor(BaseModel):
    id: str
    type: str = Field(description="FIWARE type, or Hospital")
    name: str
    area: str
    ward: str
    domain: str
    at: tuple[float, float] = Field(description="latitude, longitude")
    state: MapState = Field(description="no-data before the first value")
    age_ms: int | None = Field(None, description="simulated ms since its latest data, on the wall's clock")
    stale: bool = Field(False, description="its data is older than its kind's expected interval allows")
    alert: SiteAlert | None
    latest: Entity | None


class SensorList(BaseModel):
    count: int
    sensors: list[Sensor]


@router.get("")
async def sensors(
    wall: Wall,
    _: Reader,
    area: str | None = None,
    domain: str | None = None,
    type: str | None = None,
    state: MapState | None = None,
) -> SensorList:
    """Sites with `state` (ok, warning, alarm, offline, or no-data before the first value), `alert`, and
    whether their data is `stale` (see /api/vocabulary `freshness`), judged on the wall's simulated clock."""
    worst = wall.state.worst_alerts()
    speed = pace(wall.settings, wall.state)[0]
    paced = wall.mode.paced()
    rows = []
    for site in sites(wall.city):
        if (area and site.area != area) or (domain and site.domain != domain) or (type and site.type != type):
            continue
        row = _sensor(site, wall.state.items.get(site.key), worst.get(site.id))
        if row.latest is not None:
            latest, now = wall.state.items[site.key], wall.state.sim_time_ms
            row.age_ms = age_ms(site.kind, latest, now)
            row.stale = paced and is_stale(site.kind, latest, now, speed)
        if state is None or row.state == state:
            rows.append(row)
    return SensorList(count=len(rows), sensors=rows)


def _sensor(site: Site, latest: dict[str, Any] | None, alert: dict[str, Any] | None) -> Sensor:
    return Sensor(
        id=site.id,
        type=site.type,
        name=site.name,
        area=site.area,
        ward=site.ward,
        domain=site.domain,
        at=site.at,
        state=latest["state"] if latest else MapState.NO_DATA,
        alert=SiteAlert.model_validate(alert) if alert else None,
        latest=Entity.model_validate(latest) if latest else None,
    )
