"""`ioc historian` as its own process on the real broker, behind a real worker: a flood alert raised and
acknowledged reaches the operations record with each transition, a forged record is refused (dead-lettered
and counted, the historian goes on), and a historian killed with SIGKILL and started again neither loses
nor doubles a row."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from ioc.clock import parse_start
from ioc.ops import procs
from ioc.store import schema
from ioc.store.database import open_engine
from ioc.topics import Topics
from tests.support.frames import street_levels
from tests.support.keys import KEYS
from tests.support.records import produce
from tests.support.stack import StartServices, unique_namespace

pytestmark = pytest.mark.integration
T0 = parse_start("2025-10-14T06:00")


async def _tables(url: str) -> dict[str, list[dict[str, Any]]]:
    engine = open_engine(url)
    try:
        async with engine.connect() as c:
            return {
                t.name: [{str(k): v for k, v in r._mapping.items()} for r in await c.execute(select(t))]
                for t in schema.metadata.sorted_tables
            }
    finally:
        await engine.dispose()


def wait_for(url: str, done: Callable[[dict[str, list[dict[str, Any]]]], bool], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    tables: Any = "no tables yet (the historian migrates the database when it starts)"
    while True:
        with contextlib.suppress(OperationalError):
            tables = asyncio.run(_tables(url))
            if done(tables):
                return tables
        if time.monotonic() > deadline:
            raise AssertionError(f"not in the record after {timeout} s: {tables}")
        time.sleep(0.3)


def test_the_historian_records_each_transition_refuses_forgeries_and_survives_a_kill(
    start_services: StartServices, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'record.db'}"
    services = start_services(unique_namespace("hist"), "worker", database_url=url)
    settings = services.settings
    topics = Topics(settings.namespace)
    services.start("historian", "historian")

    asyncio.run(produce(settings, topics.raw("environment"), [street_levels(1, T0, 0.45)]))
    tables = wait_for(url, lambda t: any(a["entity"] == "WL-VIN-NVC" for a in t["alerts"]))
    alert = next(a for a in tables["alerts"] if a["entity"] == "WL-VIN-NVC")
    assert (alert["status"], alert["severity"], alert["area"], alert["domain"]) == (
        "raised", "high", "vinh", "environment",
    )  # fmt: skip

    ack = {"id": "a1", "alert": alert["id"], "action": "acknowledge", "by": "op.lan", "role": "operator",
           "source": "10.0.0.7", "at": T0 + 60_000, "sent_at": 1_700_000_000_000,
           "comment": "đã nhận"}  # fmt: skip
    anonymous = {k: v for k, v in ack.items() if k not in ("id", "role", "source")}  # not an audit record
    key = alert["id"].encode()
    asyncio.run(produce(settings, topics.operator_actions, [(key, orjson.dumps(ack))], KEYS.document))
    asyncio.run(produce(settings, topics.operator_actions, [(key, orjson.dumps(anonymous))], KEYS.document))
    forged = {**alert, "kind": "alert", "status": "resolved"}
    asyncio.run(produce(settings, topics.alerts, [(alert["id"].encode(), orjson.dumps(forged))]))  # unsigned
    tables = wait_for(
        url,
        lambda t: (
            any(e["action"] == "acknowledged" for e in t["alert_events"])
            and any(d["reason"] == "unauthenticated" for d in t["dead_letters"])
            and any(d["reason"] == "bad_document" for d in t["dead_letters"])
            and any(k["area"] == "vinh" and k["kpi"] == "flood" for k in t["kpi_minutes"])  # past the filter
        ),
    )
    events = sorted((e["seq"], e["action"], e["by"], e["comment"]) for e in tables["alert_events"]
                    if e["alert_id"] == alert["id"])  # fmt: skip
    assert events == [(0, "raise", "system", events[0][3]), (1, "acknowledged", "op.lan", "đã nhận")]
    assert (
        next(a for a in tables["alerts"] if a["id"] == alert["id"])["status"] == "acknowledged"
    )  # not forged
    refused = [(d["reason"], d["domain"]) for d in tables["dead_letters"]]
    assert sorted(refused) == [
        ("bad_document", "operations-record"),
        ("unauthenticated", "operations-record"),
    ]
    audited = [(a["id"], a["by"], a["role"], a["source"], a["action"]) for a in tables["operator_actions"]]
    assert audited == [("a1", "op.lan", "operator", "10.0.0.7", "acknowledge")]

    services.kill("historian")  # no goodbye: whatever it had not committed is read again
    before = {name: len(rows) for name, rows in tables.items()}
    services.start("historian", "historian")
    time.sleep(3)  # it reads everything again from its positions; nothing new arrives meanwhile
    services.assert_running()
    after = asyncio.run(_tables(url))
    assert {name: len(rows) for name, rows in after.items()} == before
    assert after["alert_events"] == tables["alert_events"]
    procs.stop(services.procs["historian"])
