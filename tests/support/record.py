"""Documents as the processors and the wall publish them, for the operations-record tests: a flood alert's
whole life with its operators' actions, KPI documents and dead letters, the rows they make, and a wall app
on a record to ask."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson

from ioc.auth import dev_tokens, token_of
from ioc.contract.documents import Kind
from ioc.settings import Settings
from ioc.store.rows import Rows
from processors.alerts import AlertBook
from web.app import create_app

M = 60_000
T0 = 1_760_400_000_000
CLUSTER = "c1"
DEV_TOKENS = dev_tokens()  # this run's, for the wall apps `get` makes


LEVEL_OF = {"normal": 0.1, "alert1": 0.3, "alert2": 0.5, "alert3": 0.7}  # the rule judges the level


def water(t: int, status: str) -> dict[str, Any]:
    item = {"id": "WL-VIN-NVC", "t": t, "currentLevel": LEVEL_OF[status], "status": status,
            "levels": [0.3, 0.5, 0.7]}  # fmt: skip
    return {"v": 1, "kind": Kind.WATER, "group": "wl.vinh", "final": True, "items": [item]}


def flood_id() -> str:
    return f"flood-level:WL-VIN-NVC:{T0}"


def operator_actions() -> list[dict[str, Any]]:
    """The two actions of the flood alert's life as the wall writes them (the worker reads the same)."""
    base = {"alert": flood_id(), "role": "operator", "source": "10.0.0.7"}
    return [
        {**base, "id": "act-1", "action": "acknowledge", "by": "op.lan", "at": T0 + M, "sent_at": T0 + M,
         "comment": "đã nhận"},
        {**base, "id": "act-2", "action": "resolve", "by": "op.minh", "at": T0 + 20 * M,
         "sent_at": T0 + 20 * M, "source": "10.0.0.9", "comment": "ok"},
    ]  # fmt: skip


def alert_documents() -> list[dict[str, Any]]:
    """Every document a flood alert publishes (as published: serialised at once, so each keeps the history
    of its moment): raised, acknowledged, cleared after the dry spell, resolved."""
    book, docs = AlertBook(), []

    def drain() -> list[dict[str, Any]]:
        return [orjson.loads(orjson.dumps(d)) for d in book.drain()]

    book.observe(water(T0, "alert2"))
    docs += drain()
    assert docs[0]["id"] == flood_id()
    acknowledge, resolve = operator_actions()
    book.act(acknowledge)
    docs += drain()
    for k in range(2, 16):
        book.observe(water(T0 + k * M, "normal"))
    docs += drain()
    book.act(resolve)
    docs += drain()
    return docs


def kpi(at: int, value: float) -> dict[str, Any]:
    item = {"id": "vinh:flood", "area": "vinh", "kpi": "flood", "value": value, "standing": "good",
            "entities": 6, "at": at}  # fmt: skip
    return {"v": 1, "kind": Kind.KPI, "group": "vinh", "items": [item]}


def rows_of(docs: list[dict[str, Any]], first_offset: int = 0) -> Rows:
    rows = Rows()
    for k, doc in enumerate(docs, first_offset):
        if doc.get("kind") == Kind.ALERT:
            rows.alert(doc, T0 + k, "vinh", "environment")
        elif doc.get("kind") == Kind.KPI:
            rows.kpi(doc)
        elif "alert" in doc:
            rows.operator_action(doc)
        else:
            rows.dead_letter(doc, CLUSTER, 0, k)
    return rows


def stream() -> list[dict[str, Any]]:
    letters = [{"v": 1, "reason": "late", "at": T0 + 30 * 1000, "domain": "traffic"},
               {"v": 1, "reason": "duplicate", "at": T0 + 90 * 1000, "domain": "traffic"}]  # fmt: skip
    return [*alert_documents(), kpi(T0, 1.0), kpi(T0 + 20_000, 2.0), kpi(T0 + 70_000, 3.0), *letters]


def get(database: str, path: str, role: str | None = "viewer", tokens: str | None = None) -> httpx.Response:
    """GET `path` of a wall app on `database`, in process (no lifespan: the feed never starts), with a role's
    token of `tokens` (this run's development tokens by default); the httpx response."""
    spec = tokens or DEV_TOKENS
    app = create_app(Settings(tokens=spec, database_url=database))
    headers = {"Authorization": f"Bearer {token_of(spec, role)}"} if role else {}

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://wall.local") as client:
                return await client.get(path, headers=headers)
        finally:
            await app.state.wall.store.dispose()  # the lifespan would; it does not run here

    return asyncio.run(send())
