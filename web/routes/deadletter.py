"""Recent dead letters with their reasons, for engineers chasing bad input."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query

from ioc.kafka import read_tail
from web.deps import Engineer, Wall

router = APIRouter(prefix="/api/deadletter", tags=["engineering"])


@router.get("")
async def recent(
    wall: Wall, _: Engineer, limit: Annotated[int, Query(ge=1, le=1000)] = 100, reason: str | None = None
) -> dict[str, Any]:
    """The newest dead-letter records (engineer role), newest first; optionally one reason only."""
    tails = await read_tail(wall.settings, wall.feed.topics.deadletter, limit)
    records = sorted((r for rs in tails.values() for r in rs), key=lambda r: r.timestamp, reverse=True)
    letters = []
    for r in records:
        try:
            doc = orjson.loads(r.value or b"null")
        except orjson.JSONDecodeError:
            doc = {"reason": "unreadable", "raw": (r.value or b"")[:200].decode(errors="replace")}
        if reason is None or doc.get("reason") == reason:
            letters.append({"partition": r.partition, "offset": r.offset, **doc})
    return {"count": len(letters[:limit]), "letters": letters[:limit]}
