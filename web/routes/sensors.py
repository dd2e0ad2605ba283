"""Sensors and their status: every drawn site with its latest value, state and worst active alert."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ioc.contract.documents import AlertStatus, MapState, Severity
from web.deps import Reader, Wall
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
    """Sites with `state` (ok, warning, alarm, offline, or no-data before the first value) and `alert`."""
    worst = wall.state.worst_alerts()
    rows = []
    for site in sites(wall.city):
        if (area and site.area != area) or (domain and site.domain != domain) or (type and site.type != type):
            continue
        row = _sensor(site, wall.state.items.get(site.key), worst.get(site.id))
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
