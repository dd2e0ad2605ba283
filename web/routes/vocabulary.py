"""The output documents' vocabulary (kinds, severities, statuses, the action lifecycle, flood and map
states), so the page's scripts repeat none of it."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from ioc.contract import documents
from ioc.contract.documents import (
    Action,
    AlertStatus,
    FloodStatus,
    Kind,
    LivenessProblem,
    MapState,
    ReplayState,
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


@router.get("/vocabulary")
async def vocabulary(_: Reader) -> Vocabulary:
    """Fetched once by the page at start-up."""
    return Vocabulary.model_validate(documents.vocabulary())
