"""Liveness and what the wall holds (open, for probes), Prometheus metrics, and who the caller is."""

from __future__ import annotations

import os

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from ioc.contract.documents import FeedState, WallHealth
from web import metrics as wall_metrics
from web.deps import Reader, Wall
from web.models import READ_REFUSALS

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    responses={503: {"model": WallHealth, "description": "red: the data is not current"}},
    response_model_exclude_unset=True,
)
async def health(wall: Wall, response: Response) -> WallHealth:
    """Whether the wall shows current data: 200 when it does (or is starting), 503 with the problems when
    not (no worker heartbeat, a worker or the feed not advancing while data waits, the broker lost)."""
    verdict = wall.feed.publish_health()
    if verdict["status"] == "red":
        response.status_code = 503
    feed = FeedState(
        connected=wall.feed.connected,
        caught_up=wall.feed.caught_up.is_set(),
        records=wall.state.records,
        errors=wall.feed.errors,
        refused=wall.feed.refused,
        cluster=wall.feed.watch.known if wall.feed.watch else None,
    )
    return WallHealth.model_validate(
        {
            **verdict,
            "feed": feed,
            "areas": wall.state.areas_live(),
            "entities": len(wall.state.items),
            "clients": len(wall.hub.clients),
            "sim_time": wall.state.sim_time_ms,
            "mode": wall.mode(),
            "process": os.getpid(),
        }
    )


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics() -> Response:
    """Prometheus exposition of the wall server's counters (of every wall process, whichever answers)."""
    return Response(wall_metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


class Me(BaseModel):
    name: str
    role: str
    may_act: bool
    may_engineer: bool


@router.get("/api/me", responses=READ_REFUSALS)
async def me(who: Reader) -> Me:
    """The caller's name, role and what the role permits (the page enables its buttons from this)."""
    return Me(name=who.name, role=who.role, may_act=who.may("act"), may_engineer=who.may("engineer"))
