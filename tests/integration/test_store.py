"""The operations record on a real SQLite file and a real PostgreSQL (same test bodies): rows from published
documents, written with the reader's positions in one transaction, idempotent however often and in whatever
batches the same records are written, the longest alert history winning, and retention."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ioc.contract.documents import Kind
from ioc.store import schema
from ioc.store.database import migrate, open_engine
from ioc.store.rows import Rows, Unreadable
from ioc.store.writer import prune, read_positions, write
from processors.alerts import AlertBook
from tests.support.postgres import postgres_cluster

M = 60_000
T0 = 1_760_400_000_000
TOPIC = "t.alerts"
CLUSTER = "c1"


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'ioc.db'}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_reset(url))
    return url


async def _reset(url: str) -> None:
    engine = open_engine(url)
    await migrate(engine)
    async with engine.begin() as c:
        for table in reversed(schema.metadata.sorted_tables):
            await c.execute(table.delete())
    await engine.dispose()


def water(t: int, status: str) -> dict[str, Any]:
    item = {"id": "WL-VIN-NVC", "t": t, "currentLevel": 0.5, "status": status, "levels": [0.3, 0.5, 0.7]}
    return {"v": 1, "kind": Kind.WATER, "group": "wl.vinh", "final": True, "items": [item]}


def alert_documents() -> list[dict[str, Any]]:
    """Every document a flood alert publishes (as published: serialised at once, so each keeps the history
    of its moment): raised, acknowledged, cleared after the dry spell, resolved."""
    book, docs = AlertBook(), []

    def drain() -> list[dict[str, Any]]:
        return [orjson.loads(orjson.dumps(d)) for d in book.drain()]

    book.observe(water(T0, "alert2"))
    docs += drain()
    alert_id = docs[0]["id"]
    book.act({"alert": alert_id, "action": "acknowledge", "by": "op.lan", "at": T0 + M, "comment": "đã nhận"})
    docs += drain()
    for k in range(2, 16):
        book.observe(water(T0 + k * M, "normal"))
    docs += drain()
    book.act({"alert": alert_id, "action": "resolve", "by": "op.minh", "at": T0 + 20 * M, "comment": "ok"})
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
        else:
            rows.dead_letter(doc, CLUSTER, 0, k)
    return rows


async def dump(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    async with engine.connect() as c:
        return {
            t.name: sorted(tuple(r) for r in await c.execute(select(t)))
            for t in schema.metadata.sorted_tables
        }


def stream() -> list[dict[str, Any]]:
    letters = [{"v": 1, "reason": "late", "at": T0 + 30 * 1000, "domain": "traffic"},
               {"v": 1, "reason": "duplicate", "at": T0 + 90 * 1000, "domain": "traffic"}]  # fmt: skip
    return [*alert_documents(), kpi(T0, 1.0), kpi(T0 + 20_000, 2.0), kpi(T0 + 70_000, 3.0), *letters]


def test_the_same_records_written_again_or_in_other_batches_change_nothing(database: str) -> None:
    docs = stream()

    async def go() -> None:
        engine = open_engine(database)
        await migrate(engine)
        await migrate(engine)  # a second start migrates nothing
        await write(engine, rows_of(docs), CLUSTER, {(TOPIC, 0): len(docs)})
        once = await dump(engine)
        await write(engine, rows_of(docs), CLUSTER, {(TOPIC, 0): len(docs)})  # read again from the start
        for k in range(0, len(docs), 3):  # and again, three records at a time, as a restarted reader would
            await write(engine, rows_of(docs[k : k + 3], k), CLUSTER, {(TOPIC, 0): k + 3})
        assert await dump(engine) == once
        assert await read_positions(engine, CLUSTER, [TOPIC]) == {(TOPIC, 0): len(docs)}
        assert await read_positions(engine, "another", [TOPIC]) == {}  # a new broker: from its start
        alert = once["alerts"]
        assert len(alert) == 1 and alert[0][8] == "resolved"  # status
        actions = [row[2] for row in once["alert_events"]]
        assert actions == ["raise", "acknowledged", "cleared", "resolved"]
        assert [(row[1], row[4]) for row in once["kpi_minutes"]] == [
            ("flood", 2.0),
            ("flood", 3.0),
        ]  # last of each minute
        assert len(once["dead_letters"]) == 2
        await engine.dispose()

    asyncio.run(go())


def test_an_older_alert_document_read_later_does_not_roll_the_alert_back(database: str) -> None:
    docs = alert_documents()

    async def go() -> None:
        engine = open_engine(database)
        await migrate(engine)
        await write(engine, rows_of([docs[-1]]), CLUSTER, {})
        await write(engine, rows_of([docs[0]]), CLUSTER, {})  # the raise, published long before
        async with engine.connect() as c:
            status, transitions = (
                await c.execute(select(schema.alerts.c.status, schema.alerts.c.transitions))
            ).one()
        assert (status, transitions) == ("resolved", 4)
        await engine.dispose()

    asyncio.run(go())


def test_a_failed_batch_leaves_neither_its_rows_nor_its_positions(database: str) -> None:
    docs = alert_documents()

    async def go() -> None:
        engine = open_engine(database)
        await migrate(engine)
        rows = rows_of(docs)
        rows.kpi_minutes[("vinh", "flood", 0)] = {"area": "vinh", "kpi": "flood", "minute": 0}  # no value
        with pytest.raises(IntegrityError):
            await write(engine, rows, CLUSTER, {(TOPIC, 0): len(docs)})
        assert await read_positions(engine, CLUSTER, [TOPIC]) == {}
        assert all(not rows for rows in (await dump(engine)).values())
        await engine.dispose()

    asyncio.run(go())


def test_retention_drops_what_is_old_and_keeps_open_alerts(database: str) -> None:
    docs = stream()
    raised_only = rows_of(alert_documents()[:1])
    raised_only.alerts = {
        k.replace(":", ";", 1): v | {"id": k.replace(":", ";", 1)} for k, v in raised_only.alerts.items()
    }

    async def go() -> None:
        engine = open_engine(database)
        await migrate(engine)
        await write(engine, rows_of(docs), CLUSTER, {})
        await write(engine, raised_only, CLUSTER, {})
        gone = await prune(engine, T0 + 60 * M)
        left = await dump(engine)
        assert gone == {"alert_events": 4, "alerts": 1, "kpi_minutes": 2, "dead_letters": 2}
        assert [row[8] for row in left["alerts"]] == ["raised"]  # an open alert stays, however old
        await engine.dispose()

    asyncio.run(go())


def test_unreadable_documents_say_why() -> None:
    rows = Rows()
    with pytest.raises(Unreadable, match="not an alert"):
        rows.alert({"kind": "alert", "id": "x"}, 0, None, None)
    with pytest.raises(Unreadable, match="KPI item"):
        rows.kpi({"items": [{"area": "vinh"}]})
    with pytest.raises(Unreadable, match="dead-letter"):
        rows.dead_letter({"at": "soon"}, CLUSTER, 0, 0)
    assert len(rows) == 0
