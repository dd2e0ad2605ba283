"""The current wall state as JSON (what a websocket client receives as its snapshot)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from ioc.contract.documents import Mode
from web.deps import Reader, Wall
from web.models import READ_REFUSALS, Entity
from web.state import Subscription

router = APIRouter(prefix="/api", tags=["state"], responses=READ_REFUSALS)


class Snapshot(BaseModel):
    version: int
    sim_time: int
    mode: Mode
    items: list[Entity]


@router.get("/state", response_model_exclude_unset=True)
async def state(wall: Wall, _: Reader, areas: str | None = None, domains: str | None = None) -> Snapshot:
    """Latest value of every entity, optionally only some areas/domains (comma-separated ids)."""
    items = wall.state.snapshot(Subscription.parse(areas, domains))
    return Snapshot(
        version=wall.state.version,
        sim_time=wall.state.sim_time_ms,
        mode=Mode.model_validate(wall.mode()),
        items=[Entity.model_validate(i) for i in items],
    )
