"""Liveness and what the wall currently holds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from web.deps import Wall

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(wall: Wall) -> dict[str, Any]:
    return {
        "status": "ok",
        "feed": {"connected": wall.feed.connected, "records": wall.state.records, "errors": wall.feed.errors},
        "areas": wall.state.areas_live(),
        "entities": len(wall.state.items),
        "clients": len(wall.hub.clients),
        "sim_time": wall.state.sim_time_ms,
        "mode": wall.mode(),
    }
