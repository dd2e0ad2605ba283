"""The operations record on a real SQLite file and a real PostgreSQL (same test bodies): rows from published
documents, written with the reader's positions in one transaction, idempotent however often and in whatever
batches the same records are written, the longest alert history winning, and retention."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ioc.store import schema
from ioc.store.database import migrate, open_engine
from ioc.store.rows import Rows, Unreadable
from ioc.store.writer import prune, read_positions, write
from tests.support.record import CLUSTER, T0, M, alert_documents, operator_actions, rows_of, stream

TOPIC = "t.alerts"


async def dump(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    async with engine.connect() as c:
        return {
            t.name: sorted(tuple(r) for r in await c.execute(select(t)))
            for t in schema.metadata.sorted_tables
        }


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
    docs = [*stream(), *operator_actions()]
    raised_only = rows_of(alert_documents()[:1])
    raised_only.alerts = {
        k.replace(":", ";", 1): v | {"id": k.replace(":", ";", 1)} for k, v in raised_only.alerts.items()
    }
    (still_open,) = raised_only.alerts
    raised_only.operator_action(operator_actions()[0] | {"id": "on-the-open-one", "alert": still_open})

    async def go() -> None:
        engine = open_engine(database)
        await migrate(engine)
        await write(engine, rows_of(docs), CLUSTER, {})
        await write(engine, raised_only, CLUSTER, {})
        gone = await prune(engine, T0 + 60 * M)
        left = await dump(engine)
        assert gone == {"operator_actions": 2, "alert_events": 4, "alerts": 1, "kpi_minutes": 2,
                        "dead_letters": 2}  # fmt: skip
        assert [row[8] for row in left["alerts"]] == ["raised"]  # an open alert stays, however old
        assert [row[0] for row in left["operator_actions"]] == ["on-the-open-one"]  # and the audit of it
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
    with pytest.raises(Unreadable, match="not an operator action"):
        rows.operator_action({"alert": "x", "action": "acknowledge", "by": "op.lan", "at": 0})  # no id, role
    assert len(rows) == 0
