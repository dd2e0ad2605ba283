"""KPI trends from the operations record (GET /api/history/kpis) on a real database, a SQLite file and
PostgreSQL with the same bodies: buckets of whole minutes aligned on the epoch, each holding the worst value
of its minutes, the last one and the worst standing; the step chosen from the range; filters; refusals."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ioc.contract.documents import Kind
from tests.integration.test_history_api import fill, get
from tests.support.record import T0, M


def kpi(area: str, name: str, at: int, value: float, standing: str) -> dict[str, Any]:
    item = {"id": f"{area}:{name}", "area": area, "kpi": name, "value": value, "standing": standing,
            "entities": 4, "at": at}  # fmt: skip
    return {"v": 1, "kind": Kind.KPI, "group": area, "items": [item]}


# (minute after T0, value, standing)
VINH_AIR = [(0, 40.0, "good"), (1, 120.0, "fair"), (9, 60.0, "good"), (10, 30.0, "veryGood"),
            (25, 200.0, "veryBad")]  # fmt: skip


def documents() -> list[dict[str, Any]]:
    docs = [kpi("vinh", "air", T0 + m * M + 5_000, v, s) for m, v, s in VINH_AIR]
    docs.append(kpi("vinh", "air", T0 + 9 * M + 1_000, 190.0, "bad"))  # replaced in its minute by 60 at :05
    docs.append(kpi("vinh", "flood", T0 + 3 * M, 2.0, "bad"))
    docs.append(kpi("cua-lo", "air", T0 + 5 * M, 80.0, "good"))
    return docs


def series(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(s["area"], s["kpi"]): s for s in body["series"]}


def test_buckets_hold_the_worst_value_the_last_and_the_worst_standing(database: str) -> None:
    fill(database, documents())

    tens = get(database, f"/api/history/kpis?since={T0 + 3 * M}&until={T0 + 30 * M}&step_ms={10 * M}")
    body = tens.json()
    assert tens.status_code == 200, body
    assert (body["since"], body["until"], body["step_ms"]) == (T0, T0 + 30 * M, 10 * M)  # since to its bucket
    found = series(body)
    assert set(found) == {("vinh", "air"), ("vinh", "flood"), ("cua-lo", "air")}
    air = found[("vinh", "air")]
    assert air["domain"] == "environment"
    assert air["minute"] == [T0, T0 + 10 * M, T0 + 20 * M]
    assert air["value"] == [120.0, 30.0, 200.0]  # the highest of 40, 120, 60; the later 60 replaced 190
    assert air["last"] == [60.0, 30.0, 200.0]
    assert air["standing"] == ["fair", "veryGood", "veryBad"]
    assert found[("cua-lo", "air")]["minute"] == [T0]

    # A day: one-minute buckets, each minute as recorded.
    day = get(database, f"/api/history/kpis?since={T0}&until={T0 + 24 * 60 * M}&area=vinh&kpi=air").json()
    assert day["step_ms"] == M
    (only,) = day["series"]
    assert (only["area"], only["kpi"]) == ("vinh", "air")
    assert only["minute"] == [T0 + m * M for m, _, _ in VINH_AIR]
    assert only["value"] == only["last"] == [v for _, v, _ in VINH_AIR]
    assert only["standing"] == [s for _, _, s in VINH_AIR]

    # A week: ten-minute buckets.
    week = get(database, f"/api/history/kpis?since={T0}&until={T0 + 7 * 24 * 60 * M}&kpi=air").json()
    assert week["step_ms"] == 10 * M
    assert series(week)[("vinh", "air")]["value"] == [120.0, 30.0, 200.0]
    assert set(series(week)) == {("vinh", "air"), ("cua-lo", "air")}

    # `until` is exclusive; nothing recorded in the range is an empty answer, not an error.
    early = get(database, f"/api/history/kpis?since={T0 - 60 * M}&until={T0}").json()
    assert early["series"] == []


def test_a_range_reaches_back_from_now(database: str) -> None:
    now = int(time.time() * 1000)
    fill(database, [kpi("vinh", "traffic", now - 2 * 60 * M, 12.5, "fair"),
                    kpi("vinh", "traffic", now - 25 * 60 * M, 40.0, "veryBad")])  # fmt: skip
    day = get(database, "/api/history/kpis?range=24h").json()
    assert [s["value"] for s in day["series"]] == [[12.5]]
    assert day["step_ms"] == M and now - 24 * 60 * M - M < day["since"] <= now - 24 * 60 * M
    week = get(database, "/api/history/kpis?range=7d").json()
    assert week["step_ms"] == 10 * M
    assert [s["value"] for s in week["series"]] == [[40.0, 12.5]]


def test_refusals(database: str, tmp_path: Path) -> None:
    assert get(database, f"/api/history/kpis?since={T0}&until={T0}").status_code == 422
    assert get(database, f"/api/history/kpis?since={T0}&until={T0 + M}&step_ms=90000").status_code == 422
    too_fine = f"/api/history/kpis?since={T0}&until={T0 + 8 * 24 * 60 * M}&step_ms={M}"
    assert get(database, too_fine).status_code == 422
    assert get(database, "/api/history/kpis?range=1y").status_code == 422
    assert get(database, "/api/history/kpis", role=None).status_code == 401
    missing = get(f"sqlite+aiosqlite:///{tmp_path / 'never-made.db'}", "/api/history/kpis")
    assert missing.status_code == 503 and "not available" in missing.json()["detail"]
