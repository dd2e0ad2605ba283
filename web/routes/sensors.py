"""Sensors and their status: every drawn site with its latest value, state and worst active alert."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from web.deps import Reader, Wall
from web.sites import sites

router = APIRouter(prefix="/api/sensors", tags=["sensors"])
State = Literal["ok", "warning", "alarm", "offline", "no-data"]


@router.get("")
async def sensors(
    wall: Wall,
    _: Reader,
    area: str | None = None,
    domain: str | None = None,
    type: str | None = None,
    state: State | None = None,
) -> dict[str, Any]:
    """Sites with `state` (ok, warning, alarm, offline, or no-data before the first value) and `alert`."""
    worst = wall.state.worst_alerts()
    rows = []
    for site in sites(wall.city):
        if (area and site.area != area) or (domain and site.domain != domain) or (type and site.type != type):
            continue
        latest = wall.state.items.get(site.key)
        row = {
            "id": site.id,
            "type": site.type,
            "name": site.name,
            "area": site.area,
            "ward": site.ward,
            "domain": site.domain,
            "at": site.at,
            "state": latest["state"] if latest else "no-data",
            "alert": {k: worst[site.id][k] for k in ("id", "severity", "status")}
            if site.id in worst
            else None,
            "latest": latest,
        }
        if state is None or row["state"] == state:
            rows.append(row)
    return {"count": len(rows), "sensors": rows}
