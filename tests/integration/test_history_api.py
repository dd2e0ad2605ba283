"""The history routes of the wall on a real database (a SQLite file and PostgreSQL, same bodies), filled as
the historian fills it: search with filters and paging, CSV export, one alert's timeline with time to
acknowledge and to resolve, and 503 (not a crash) before the record exists."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

from ioc.store.database import migrate, open_engine
from ioc.store.writer import write
from tests.support.record import CLUSTER, T0, M, alert_documents, get, kpi, operator_actions, rows_of


def fill(database: str, docs: list[dict[str, Any]]) -> None:
    async def go() -> None:
        engine = open_engine(database)
        await migrate(engine)
        await write(engine, rows_of(docs), CLUSTER, {})
        await engine.dispose()

    asyncio.run(go())


def second_alert() -> dict[str, Any]:
    """A hospital alert still raised: another rule, entity and status than the flood, raised later."""
    t = T0 + 5 * M
    doc = dict(alert_documents()[0])
    doc.update(id=f"hospital-waits:cua-lo-hc:{t}", rule="hospital-waits", entity="cua-lo-hc",
               category="health", subCategory="hospitalOvercrowding", severity="medium", dateIssued=t,
               history=[{"action": "raise", "by": "system", "at": t, "comment": "p90 > 2 h"}])  # fmt: skip
    return doc


def test_operators_search_page_export_and_read_a_timeline(database: str) -> None:
    flood = alert_documents()
    fill(database, [*flood, second_alert(), kpi(T0, 1.0), *operator_actions()])

    everything = get(database, "/api/history/alerts").json()
    assert everything["total"] == 2
    assert [a["rule"] for a in everything["alerts"]] == [
        "hospital-waits",
        "flood-level",
    ]  # newest raised first
    resolved = get(database, "/api/history/alerts?status=resolved&area=vinh").json()
    assert [a["id"] for a in resolved["alerts"]] == [flood[0]["id"]]
    assert (
        get(database, "/api/history/alerts?q=%C4%91%C3%A3%20nh%E1%BA%ADn").json()["total"] == 1
    )  # "đã nhận"
    assert get(database, "/api/history/alerts?q=%25").json()["total"] == 0  # "%" is text, not a wildcard
    assert get(database, "/api/history/alerts?q=_").json()["total"] == 0
    assert get(database, "/api/history/alerts?q=flood_level").json()["total"] == 0  # "_" matches only "_"
    assert get(database, f"/api/history/alerts?since={T0 + M}").json()["total"] == 1
    page = get(database, "/api/history/alerts?limit=1&offset=1").json()
    assert (page["total"], [a["rule"] for a in page["alerts"]]) == (2, ["flood-level"])

    exported = get(database, "/api/history/alerts.csv?rule=hospital-waits")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["entity"], r["status"]) for r in rows] == [("cua-lo-hc", "raised")]

    story = get(database, f"/api/history/alerts/{flood[0]['id']}").json()
    assert [e["action"] for e in story["events"]] == ["raise", "acknowledged", "cleared", "resolved"]
    assert story["events"][1]["by"] == "op.lan" and story["events"][1]["comment"] == "đã nhận"
    assert (story["time_to_acknowledge_ms"], story["time_to_resolve_ms"]) == (M, 20 * M)
    audited = [(a["action"], a["by"], a["role"], a["source"], a["comment"]) for a in story["actions"]]
    assert audited == [("acknowledge", "op.lan", "operator", "10.0.0.7", "đã nhận"),
                       ("resolve", "op.minh", "operator", "10.0.0.9", "ok")]  # fmt: skip
    assert get(database, "/api/history/alerts/nope").status_code == 404
    assert get(database, "/api/history/alerts", role=None).status_code == 401


def test_engineers_read_the_audit_by_person_and_time(database: str) -> None:
    fill(database, [*alert_documents(), *operator_actions()])
    everything = get(database, "/api/audit", role="engineer").json()
    assert (everything["total"], [a["id"] for a in everything["actions"]]) == (2, ["act-2", "act-1"])
    by_minh = get(database, "/api/audit?by=op.minh", role="engineer").json()["actions"]
    assert [(a["action"], a["source"]) for a in by_minh] == [("resolve", "10.0.0.9")]
    window = get(database, f"/api/audit?since={T0}&until={T0 + 2 * M}", role="engineer").json()
    assert [a["id"] for a in window["actions"]] == ["act-1"]
    assert get(database, "/api/audit", role="viewer").status_code == 403
    assert get(database, "/api/audit", role="operator").status_code == 403


def test_before_the_record_exists_the_history_says_so(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'never-made.db'}"
    got = get(url, "/api/history/alerts")
    assert got.status_code == 503 and "not available" in got.json()["detail"]
