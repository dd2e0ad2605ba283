"""Current KPIs per area and domain with their standing."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ioc.contract.documents import Kind
from web.deps import Reader, Wall
from web.models import READ_REFUSALS, Entity
from web.state import Subscription

router = APIRouter(prefix="/api/kpis", tags=["kpis"], responses=READ_REFUSALS)


class Kpi(Entity):
    """One indicator of one area, as the area stage published it, stamped with the wall's clock."""

    id: str = Field(description="<area>:<kpi>")
    area: str
    domain: str
    kpi: str
    value: float
    standing: str | None = Field(None, description="veryGood, good, fair, bad or veryBad")
    entities: int | None = Field(None, description="lanes, stations, gauges, cabinets or hospitals behind it")
    t: int = Field(description="simulated ms when the wall last saw the value change")


class KpiList(BaseModel):
    sim_time: int
    kpis: list[Kpi]


@router.get("")
async def kpis(wall: Wall, _: Reader, areas: str | None = None, domains: str | None = None) -> KpiList:
    """Latest KPI per area and indicator (comma-separated area / domain ids filter)."""
    sub = Subscription.parse(areas, domains)
    found = [i for i in wall.state.snapshot(sub) if i["kind"] == Kind.KPI]
    ordered = sorted(found, key=lambda i: i["key"])
    return KpiList(sim_time=wall.state.sim_time_ms, kpis=[Kpi.model_validate(i) for i in ordered])
