"""Pause, resume and seek the replay playing into this wall's namespace (engineer role)."""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from ioc.clock import local_iso
from ioc.contract.documents import ReplayState, ReplayStatus, is_replay
from web import metrics
from web.deps import EngineerActing, Reader, Wall
from web.models import READ_REFUSALS, refusals

router = APIRouter(prefix="/api/replay", tags=["engineering"], responses=READ_REFUSALS)
Command = Literal["pause", "resume", "seek"]


class Seek(BaseModel):
    sim_ms: int = Field(ge=0, description="Simulated time to continue from (epoch ms)")


class ReplayCommand(BaseModel):
    """As written to `<ns>.replay.control`, for the replay whose job it names."""

    job: str
    action: Command
    by: str
    at: int = Field(description="wall-clock ms when sent")
    sim_ms: int | None = None


class ReplayAccepted(BaseModel):
    accepted: ReplayCommand


@router.get("", responses=refusals(404))
async def replay_status(wall: Wall, _: Reader) -> ReplayStatus:
    """The latest status the replay published (job, speed, state, simulated position), or 404 if none."""
    if wall.state.replay is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no replay has reported into this namespace")
    return wall.state.replay


@router.post(
    "/{action}",
    status_code=status.HTTP_202_ACCEPTED,
    responses=refusals(409, 422),
    response_model_exclude_none=True,
)
async def command(
    action: Command, wall: Wall, who: EngineerActing, body: Seek | None = None
) -> ReplayAccepted:
    """Written to `<ns>.replay.control`; the replay obeys it and its new status arrives on the feed."""
    replay = wall.state.replay
    if not is_replay(wall.settings.namespace) or replay is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "no replay is playing into this namespace")
    # A replay that stays after its end (`--watch`, `--stay`) can still be sought; one that ended cannot.
    if replay.state == ReplayState.FINISHED and not (replay.stays and action == "seek"):
        raise HTTPException(status.HTTP_409_CONFLICT, f"replay {replay.job} has finished")
    if action == "seek" and body is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "seek needs {'sim_ms': ...}")
    if action == "seek" and body is not None and not _within(body.sim_ms, replay):
        span = f"{local_iso(replay.sim_from or 0)} .. {local_iso(replay.sim_to or 0)} (Vietnam time)"
        detail = f"{local_iso(body.sim_ms)} is outside the recording: {span}"
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail)
    sim_ms = body.sim_ms if body is not None and action == "seek" else None
    doc = ReplayCommand(job=replay.job, action=action, by=who.name, at=int(time.time() * 1000), sim_ms=sim_ms)
    await wall.feed.send_replay_command(doc.model_dump(exclude_none=True))
    metrics.ACTIONS.labels(f"replay-{action}").inc()
    return ReplayAccepted(accepted=doc)


def _within(sim_ms: int, replay: ReplayStatus) -> bool:
    """Inside the recording's span (a replay too old to say its span is left to judge for itself)."""
    if replay.sim_from is None or replay.sim_to is None:
        return True
    return replay.sim_from <= sim_ms <= replay.sim_to
