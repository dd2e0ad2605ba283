"""Pause, resume and seek the replay playing into this wall's namespace (engineer role)."""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from web import metrics
from web.deps import EngineerActing, Reader, Wall

router = APIRouter(prefix="/api/replay", tags=["engineering"])


class Seek(BaseModel):
    sim_ms: int = Field(ge=0, description="Simulated time to continue from (epoch ms)")


@router.get("")
async def replay_status(wall: Wall, _: Reader) -> dict[str, Any]:
    """The latest status the replay published (job, speed, state, simulated position), or 404 if none."""
    if wall.state.replay is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no replay has reported into this namespace")
    return wall.state.replay


@router.post("/{action}", status_code=status.HTTP_202_ACCEPTED)
async def command(
    action: Literal["pause", "resume", "seek"], wall: Wall, who: EngineerActing, body: Seek | None = None
) -> dict[str, Any]:
    """Written to `<ns>.replay.control`; the replay obeys it and its new status arrives on the feed."""
    replay = wall.state.replay
    if not wall.settings.namespace.startswith("replay-") or replay is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "no replay is playing into this namespace")
    if replay.get("state") == "finished":
        raise HTTPException(status.HTTP_409_CONFLICT, f"replay {replay.get('job')} has finished")
    if action == "seek" and body is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "seek needs {'sim_ms': ...}")
    doc = {"job": replay["job"], "action": action, "by": who.name, "at": int(time.time() * 1000)}
    if body is not None and action == "seek":
        doc["sim_ms"] = body.sim_ms
    await wall.feed.send_replay_command(doc)
    metrics.ACTIONS.labels(f"replay-{action}").inc()
    return {"accepted": doc}
