"""Recent dead letters with their reasons, for engineers chasing bad input."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from ioc.kafka import read_tail
from web.deps import Engineer, Wall
from web.models import READ_REFUSALS

router = APIRouter(prefix="/api/deadletter", tags=["engineering"], responses=READ_REFUSALS)


class Letter(BaseModel):
    """A dead-letter entry (reason, detail, source, refused readings, ...) with where it sits in the topic."""

    model_config = ConfigDict(extra="allow")
    partition: int
    offset: int
    reason: str | None = None


class Letters(BaseModel):
    count: int
    letters: list[Letter]


@router.get("")
async def recent(
    wall: Wall, _: Engineer, limit: Annotated[int, Query(ge=1, le=1000)] = 100, reason: str | None = None
) -> Letters:
    """The newest dead-letter records (engineer role), newest first; optionally one reason only."""
    tails = await read_tail(wall.settings, wall.feed.topics.deadletter, limit)
    records = sorted((r for rs in tails.values() for r in rs), key=lambda r: r.timestamp, reverse=True)
    letters = []
    for r in records:
        doc = _entry(r.value)
        if reason is None or doc.get("reason") == reason:
            letters.append(Letter.model_validate({**doc, "partition": r.partition, "offset": r.offset}))
    return Letters(count=len(letters[:limit]), letters=letters[:limit])


def _entry(value: bytes | None) -> dict[str, Any]:
    """The dead-letter document, or what an engineer can still see of one that is not."""
    try:
        doc = orjson.loads(value or b"null")
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("reason", ""), str):
        return doc
    return {"reason": "unreadable", "raw": (value or b"")[:200].decode(errors="replace")}
