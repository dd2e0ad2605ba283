"""Current KPIs per area and domain with their standing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from web.deps import Reader, Wall
from web.state import Subscription

router = APIRouter(prefix="/api/kpis", tags=["kpis"])


@router.get("")
async def kpis(wall: Wall, _: Reader, areas: str | None = None, domains: str | None = None) -> dict[str, Any]:
    """Latest KPI per area and indicator (comma-separated area / domain ids filter)."""
    sub = Subscription.parse(areas, domains)
    found = [i for i in wall.state.snapshot(sub) if i["kind"] == "kpi"]
    return {"sim_time": wall.state.sim_time_ms, "kpis": sorted(found, key=lambda i: i["key"])}
