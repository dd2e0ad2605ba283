"""The output documents' vocabulary (kinds, severities, statuses, the action lifecycle, flood and map
states, scenario phases) and how often each kind of item is expected (staleness), so the page's scripts
repeat none of it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ioc.contract import documents, freshness
from ioc.contract.documents import (
    Action,
    AlertStatus,
    FloodStatus,
    Kind,
    LivenessProblem,
    MapState,
    ReplayState,
    ScenarioPhase,
    Severity,
)
from web.deps import Reader
from web.models import READ_REFUSALS

router = APIRouter(prefix="/api", tags=["vocabulary"], responses=READ_REFUSALS)


class Vocabulary(BaseModel):
    """`ioc.contract.documents.vocabulary()`; lists are in the kernel's order (severities mildest first)."""

    model_config = ConfigDict(extra="allow")  # whatever the kernel adds reaches the page
    sensorKinds: list[Kind]
    kindOfType: dict[str, Kind]
    kpiDomain: dict[str, str]
    severities: list[Severity]
    alertStatuses: list[AlertStatus]
    activeStatuses: list[AlertStatus]
    openStatuses: list[AlertStatus]
    actions: list[Action]
    allowed: dict[Action, list[AlertStatus]]
    floodStatuses: list[FloodStatus]
    mapStates: list[MapState]
    replayStates: list[ReplayState]
    replayPrefix: str
    livenessProblems: list[LivenessProblem]
    scenarioPhases: list[ScenarioPhase]
    freshness: dict[str, Any] = Field(
        description="the staleness rule: grace, slackRealMs and per kind everyMs, staleMs, clock, since"
    )


@router.get("/vocabulary")
async def vocabulary(_: Reader) -> Vocabulary:
    """Fetched once by the page at start-up."""
    return Vocabulary.model_validate({**documents.vocabulary(), "freshness": freshness.vocabulary()})
