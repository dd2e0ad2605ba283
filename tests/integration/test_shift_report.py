"""The shift handover report on a real database (a SQLite file and PostgreSQL, same bodies), filled as the
historian fills it (tests/support/shift.py): every number of the day shift 2026-12-02 06:00–14:00 checked
against what was written, with transitions before, on and after its edges; the wall's routes; and
`ioc report shift` as a process, with its error messages."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from ioc.store.database import migrate, open_engine
from ioc.store.rows import Rows
from ioc.store.shift import ShiftReport, shift_report
from ioc.store.writer import write
from tests.support.record import get
from tests.support.shift import CLUSTER, SIM, E, H, M, S, Story, fill_url, stories

DAY = ("--from", "2026-12-02T06:00", "--to", "2026-12-02T14:00")


def report(database: str, start: int = S, end: int = E, now: int = E + H) -> ShiftReport:
    async def go() -> ShiftReport:
        engine = open_engine(database)
        try:
            return await shift_report(engine, start, end, now_ms=now)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def durations(d: Any) -> tuple[int, int | None, int | None]:
    return d.count, d.p50_ms, d.p90_ms


def groups(items: list[Any]) -> dict[str | None, tuple[int, int | None, int | None]]:
    return {g.group: durations(g) for g in items}


def test_every_number_of_the_day_shift(database: str) -> None:
    asyncio.run(fill_url(database))
    story = stories()
    got = report(database)

    assert (got.shift.start, got.shift.end) == ("2026-12-02T06:00:00+07:00", "2026-12-02T14:00:00+07:00")
    assert got.source.split()[0] in ("SQLite", "PostgreSQL") and got.generated_at == E + H
    # C raised on the start counts, A raised before and G after do not; C's acknowledgement on the end is
    # the next shift's; H cleared before and came back inside.
    assert got.counts.model_dump() == {
        "raised": 4, "reopened": 1, "acknowledged": 3, "assigned": 1, "commented": 3, "cleared": 1,
        "resolved": 2, "escalated": 2, "escalations": 3, "open_at_end": 4, "dead_letters": 6,
    }  # fmt: skip

    # The hand-over list, most severe first, then oldest, cleared last; each as it stood at 14:00.
    handover = [
        (a.id, a.status, a.severity, a.assignee, a.escalations, a.age_ms, a.area, a.domain)
        for a in got.handover
    ]
    assert handover == [
        (story["C"].id, "raised", "high", None, 0, 8 * H, "cua-lo", "traffic"),  # escalated only after 14:00
        (story["B"].id, "assigned", "high", "đội môi trường", 1, 8 * H - 10 * M, "vinh", "environment"),
        (story["H"].id, "raised", "medium", None, 0, 9 * H, "vinh", "traffic"),
        (story["E"].id, "cleared", "medium", None, 0, 4 * H, "hoang-mai", "lighting"),
    ]
    comments = [(c.text, c.by, c.recorded_at) for c in (a.last_comment for a in got.handover) if c]
    assert comments == [
        ("Severe or jammed 10 min", "system", S),  # "ca sau nhận" came with the acknowledgement at 14:00
        ("chờ đo lại lúc 15h <b>", "op.minh", S + 3 * H),  # the empty comment after it does not count
        ("condition returned", "system", S + 30 * M),
        ("đã gọi điện lực", "op.lan", S + 5 * H),
    ]
    assert got.handover[1].raised_at == SIM + 100 * M and got.handover[1].raise_recorded_at == S + 10 * M

    # Event-time differences (A: 12 min, B: 10 min, D: 40 min), not the 35 min A waited on the wall clock.
    tta = got.time_to_acknowledge
    assert durations(tta.all) == (3, 12 * M, 2_064_000)  # p90 = 12 + 0.8 × (40 − 12) min
    assert groups(tta.by_area) == {"cua-lo": (1, 40 * M, 40 * M), "hoang-mai": (1, 12 * M, 12 * M),
                                   "vinh": (1, 10 * M, 10 * M)}  # fmt: skip
    assert groups(tta.by_domain) == {"environment": (2, 11 * M, 708_000), "health": (1, 40 * M, 40 * M)}
    ttr = got.time_to_resolve
    assert durations(ttr.all) == (2, 95 * M, 99 * M)
    assert groups(ttr.by_area) == {"cua-lo": (1, 100 * M, 100 * M), "hoang-mai": (1, 90 * M, 90 * M)}
    assert groups(ttr.by_domain) == {"environment": (1, 90 * M, 90 * M), "health": (1, 100 * M, 100 * M)}

    assert [(e.alert_id, e.severity, e.at, e.recorded_at) for e in got.escalations] == [
        (story["B"].id, "high", SIM + 105 * M, S + 16 * M),
        (story["D"].id, "high", SIM + 305 * M, S + H + 5 * M),
        (story["D"].id, "critical", SIM + 310 * M, S + H + 10 * M),
    ]
    # The worst standing per area: the earliest of equals, the shift's first and last minutes in, the
    # minutes either side out.
    assert [(k.area, k.kpi, k.domain, k.standing, k.value, k.minute, k.minutes) for k in got.kpi_worst] == [
        ("cua-lo", "traffic", "traffic", "veryBad", 40.0, E - M, 1),
        ("hoang-mai", "lighting", "lighting", "fair", 7.0, S, 1),
        ("vinh", "air", "environment", "bad", 180.0, S + H, 2),
    ]
    assert [(d.reason, d.domain, d.count) for d in got.dead_letters] == [
        ("late", "traffic", 3),
        ("bad_document", "operations-record", 1),
        ("duplicate", "traffic", 1),
        ("late", "environment", 1),
    ]


def test_the_next_shift_takes_over_what_was_handed_over(database: str) -> None:
    asyncio.run(fill_url(database))
    story = stories()
    got = report(database, E, E + 8 * H, now=E + 2 * H)  # asked during the shift: ages run to now
    counts = got.counts
    assert (counts.raised, counts.acknowledged, counts.escalated, counts.resolved) == (1, 1, 1, 0)  # G; C; C
    assert durations(got.time_to_acknowledge.all) == (1, 30 * M, 30 * M)  # C, acknowledged on the edge
    ages = {a.id: (a.status, a.severity, a.age_ms) for a in got.handover}
    assert ages == {
        story["C"].id: ("acknowledged", "critical", 2 * H + 8 * H),
        story["B"].id: ("assigned", "high", 2 * H + 8 * H - 10 * M),
        story["H"].id: ("raised", "medium", 2 * H + 9 * H),
        story["E"].id: ("cleared", "medium", 2 * H + 4 * H),
        story["G"].id: ("raised", "medium", 2 * H - 10 * M),
    }
    assert [(k.area, k.kpi, k.minute) for k in got.kpi_worst] == [("cua-lo", "health", E)]
    assert [(d.reason, d.domain, d.count) for d in got.dead_letters] == [("late", "environment", 1)]
    before = report(database, S - 8 * H, S)  # the night before: F lived and died in it, A and H were left
    assert {a.id for a in before.handover} == {story["A"].id, story["H"].id}  # C, raised at 06:00, is not
    assert (before.counts.raised, before.counts.resolved, before.counts.cleared) == (3, 1, 1)


def test_the_wall_serves_the_report_as_json_and_as_a_page(database: str) -> None:
    asyncio.run(fill_url(database))
    query = "from=2026-12-02T06:00&to=2026-12-02T14:00"
    served = get(database, f"/api/history/shift?{query}")
    assert served.status_code == 200
    body = served.json()
    expected = report(database, now=body["generated_at"]).model_dump(mode="json")
    assert body == expected

    page = get(database, f"/api/history/shift.html?{query}&lang=en")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in page.text and "Shift handover report" in page.text
    assert '<span class="n" data-count="raised">4</span>' in page.text
    assert 'data-count="open_at_end">4</span>' in page.text
    assert "/shift?from=2026-12-01T22%3A00&amp;to=2026-12-02T06%3A00&amp;lang=en" in page.text  # previous
    assert "/shift?from=2026-12-02T06%3A00&amp;to=2026-12-02T14%3A00&amp;lang=vi" in page.text  # Tiếng Việt
    assert "Báo cáo bàn giao ca" in get(database, f"/api/history/shift.html?{query}").text  # Vietnamese first

    assert get(database, f"/api/history/shift?{query}", role=None).status_code == 401
    assert get(database, f"/api/history/shift.html?{query}", role=None).status_code == 401
    refused = get(database, "/api/history/shift?from=2026-12-02T14:00&to=2026-12-02T06:00")
    assert refused.status_code == 422 and "after its start" in refused.json()["detail"]
    assert get(database, "/api/history/shift?from=2026-12-02T06:00").status_code == 422
    assert get(database, "/api/history/shift?shift=previous").json()["shift"]["end_ms"] > S
    shell = get(database, "/shift", role=None)  # the shell carries no data: the report needs the token
    assert shell.status_code == 200 and '<script type="module" src="/static/shift.js">' in shell.text


def test_before_the_record_exists_the_report_says_so(tmp_path: Path) -> None:
    got = get(f"sqlite+aiosqlite:///{tmp_path / 'never-made.db'}", "/api/history/shift")
    assert got.status_code == 503 and "not available" in got.json()["detail"]


def ioc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ioc", *args], env=env, capture_output=True, text=True)


def test_the_command_line_report(database: str, tmp_path: Path) -> None:
    asyncio.run(fill_url(database))
    env = {**_env(tmp_path), "IOC_DATABASE_URL": database}
    done = ioc(env, "report", "shift", *DAY, "--format", "json")
    assert done.returncode == 0, done.stderr
    printed = orjson.loads(done.stdout)
    expected = report(database, now=printed["generated_at"]).model_dump(mode="json")
    assert printed == expected and printed["counts"]["raised"] == 4

    # The same shift given in UTC, as a page in English written to a file.
    out = tmp_path / "shift.html"
    utc = ("--from", "2026-12-01T23:00Z", "--to", "2026-12-02T07:00+00:00")
    done = ioc(env, "report", "shift", *utc, "--lang", "en", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "2026-12-02 06:00–14:00 (Vietnam time)" in done.stderr and done.stdout == ""
    page = out.read_text(encoding="utf-8")
    assert '<span class="n" data-count="acknowledged">3</span>' in page and "Hand-over list" in page


def test_the_command_line_says_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    env = _env(tmp_path)
    missing = ioc(env, "report", "shift", *DAY)
    data = tmp_path / "data"
    assert not data.exists()  # looking for the record made nothing
    data.mkdir()
    asyncio.run(fill_url(f"sqlite+aiosqlite:///{data / 'ioc.db'}"))
    found = ioc(env, "report", "shift", *DAY, "--format", "json")
    assert found.returncode == 0 and orjson.loads(found.stdout)["counts"]["resolved"] == 2
    wrong = {
        "no operations record at": missing,
        "the end of the report must come after its start": ioc(
            env, "report", "shift", "--from", "2026-12-02T14:00", "--to", "2026-12-02T06:00"
        ),
        "the start 'noon' is not a time like 2026-12-02T06:00": ioc(
            env, "report", "shift", "--from", "noon", "--to", "2026-12-02T06:00"
        ),
        "give both the start and the end": ioc(env, "report", "shift", "--from", "2026-12-02T06:00"),
        "IOC_SHIFTS: the start times must be distinct and in ascending order": ioc(
            {**env, "IOC_SHIFTS": "14:00,06:00"}, "report", "shift"
        ),
        "cannot read the operations record postgresql+asyncpg://ioc:***@127.0.0.1:9/ioc": ioc(
            {**env, "IOC_DATABASE_URL": "postgresql+asyncpg://ioc:secret@127.0.0.1:9/ioc"}, "report", "shift"
        ),
    }
    for why, done in wrong.items():
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1 and done.stdout == "", done.stderr
        assert len(lines) == 1 and lines[0].startswith(f"Error: {why}"), done.stderr
        assert "secret" not in done.stderr


def _env(tmp_path: Path) -> dict[str, str]:
    """This environment without any IOC_* setting but a data directory of the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    return {**env, "IOC_DATA_DIR": str(tmp_path / "data")}


def test_an_alert_reopened_after_its_resolution_is_handed_over_again(database: str) -> None:
    story = Story("flood-level", "WL-HM-01", "hoang-mai", "environment", "medium", SIM)
    story.raise_(S + H, "Water above alert level 1-3")
    story.step("resolved", "op.lan", SIM + 30 * M, S + 2 * H, "nước đã rút")
    story.step("raised", "op.minh", SIM + 60 * M, S + 3 * H, "resolved by mistake")  # an operator's reopen

    async def write_it() -> None:
        engine = open_engine(database)
        try:
            await migrate(engine)
            for doc, wall in story.published:
                rows = Rows()
                rows.alert(doc, wall, story.area, story.domain)
                await write(engine, rows, CLUSTER, {})
        finally:
            await engine.dispose()

    asyncio.run(write_it())
    resolved_then = report(database, S, S + 2 * H + M)
    assert resolved_then.handover == []
    got = report(database)
    assert [(a.id, a.status, a.last_comment.text if a.last_comment else None) for a in got.handover] == [
        (story.id, "raised", "resolved by mistake")
    ]
    assert (got.counts.resolved, got.counts.reopened, got.counts.open_at_end) == (1, 1, 1)
