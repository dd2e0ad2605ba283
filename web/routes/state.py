"""The current wall state as JSON (what a websocket client receives as its snapshot)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from web.deps import Reader, Wall
from web.state import Subscription

router = APIRouter(prefix="/api", tags=["state"])


@router.get("/state")
async def state(
    wall: Wall, _: Reader, areas: str | None = None, domains: str | None = None
) -> dict[str, Any]:
    """Latest value of every entity, optionally only some areas/domains (comma-separated ids)."""
    items = wall.state.snapshot(Subscription.parse(areas, domains))
    return {
        "version": wall.state.version,
        "sim_time": wall.state.sim_time_ms,
        "mode": wall.mode(),
        "items": items,
    }
