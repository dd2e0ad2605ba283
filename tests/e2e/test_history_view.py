"""The wall's incident history in a real Chromium under the wall's own CSP, against a real `ioc web` whose
operations record (a SQLite file in its data directory) was filled as the historian fills it: a viewer
searches by area and status and sees exactly the matching alerts, pages, exports the same search as CSV,
opens a flood alert's timeline (transitions, time to acknowledge and to resolve, the area's flood KPI from
the record with the raise marked), switches the trend charts to 24 h and 7 days (drawn from the record's
buckets), and reads the labels in English."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from ioc.city import load_city
from ioc.clock import parse_start
from ioc.contract.documents import Kind
from ioc.settings import Settings
from ioc.store.database import database_url, migrate, open_engine
from ioc.store.rows import Rows
from ioc.store.writer import write
from tests.support.keys import token
from tests.support.page import poll
from tests.support.stack import StartServices, unique_namespace

pytestmark = pytest.mark.e2e
M = 60_000
H = 60 * M
D = 24 * H
AUDITED = {"acknowledged": "acknowledge", "resolved": "resolve"}  # transition → the operator's action
CRITICAL = "#d500f9"  # SEVERITY_COLOUR.critical in map.js: the raise marker's colour
# What the page shows, read in the page (the tests wait on these with `poll`).
STORED_DRAWN = "() => { const t = window.__wall.trends; return t.drawn === t.stored && t.stored; }"
FLOOD_DRAWN = "() => { const d = window.__wall.timeline.drawn.flood; return d && d.markers.length && d; }"
ROWS = "() => [...document.querySelectorAll('#history-table tr[data-alert]')].map((r) => r.dataset.alert)"
SPY = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
"""


@dataclass
class Record:
    """What the test wrote, in the terms the page must show it."""

    url: str
    alerts: list[tuple[str, str, str, int]]  # (id, area, status, raised_at)
    flood_id: str
    flood_published: list[int]  # wall-clock ms each of its four documents was published
    flood_kpi: list[tuple[int, float]]  # (minute, value) of Vinh's flood KPI
    air: dict[str, list[tuple[int, float]]]  # area → (minute, value) of its air KPI


def alert_doc(rule: str, entity: str, severity: str, status: str, raised: int,
              history: list[dict[str, Any]], assignee: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {"v": 1, "kind": Kind.ALERT, "id": f"{rule}:{entity}:{raised}", "type": "Alert", "rule": rule,
            "entity": entity, "category": "c", "subCategory": "s", "severity": severity, "dateIssued": raised,
            "status": status, "assignee": assignee, "escalations": 0, "history": history}  # fmt: skip


def kpi_doc(area: str, kpi: str, at: int, value: float) -> dict[str, Any]:
    item = {"id": f"{area}:{kpi}", "area": area, "kpi": kpi, "value": value, "standing": "fair",
            "entities": 3, "at": at + 5_000}  # fmt: skip
    return {"v": 1, "kind": Kind.KPI, "group": area, "items": [item]}


def fill(rows: Rows, settings: Settings) -> None:
    async def go() -> None:
        engine = open_engine(database_url(settings))
        await migrate(engine)
        await write(engine, rows, "c1", {})
        await engine.dispose()

    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API may own this thread's event loop
        pool.submit(asyncio.run, go()).result()


def record_rows(now: int) -> tuple[Rows, dict[str, Any]]:
    """A flood alert's whole life in Vinh (four documents), 24 traffic alerts over the three areas and
    statuses, Vinh's flood KPI around the flood, and air KPIs inside the last day and up to a week back."""
    rows = Rows()
    base = now - now % (10 * M)
    s0 = parse_start("2025-10-14T18:00")  # simulated: a replayed storm, recorded today (wall clock)
    steps: list[dict[str, Any]] = [
        {"action": "raise", "by": "system", "at": s0, "comment": "mực nước vượt báo động 3"},
        {"action": "acknowledged", "by": "op.lan", "at": s0 + 90_000, "comment": "đã nhận, cử đội kiểm tra"},
        {"action": "cleared", "by": "system", "at": s0 + H, "comment": "condition no longer holds"},
        {"action": "resolved", "by": "op.minh", "at": s0 + 125 * M, "comment": "nước đã rút"},
    ]
    p1 = base - 3 * H
    published = [p1, p1 + 90_000, p1 + H, p1 + 125 * M]
    statuses = ["raised", "acknowledged", "cleared", "resolved"]
    for k, (status, at) in enumerate(zip(statuses, published, strict=True)):
        doc = alert_doc("flood-level", "WL-VIN-NVC", "critical", status, s0, steps[: k + 1])
        rows.alert(doc, at, "vinh", "environment")
    flood_id = f"flood-level:WL-VIN-NVC:{s0}"
    alerts = [(flood_id, "vinh", "resolved", s0)]
    for n, (step, at, source) in enumerate(((steps[1], published[1], "10.0.0.7"),
                                            (steps[3], published[3], "10.0.0.9"))):  # fmt: skip
        rows.operator_action({"id": f"act-{n}", "alert": flood_id, "action": AUDITED[step["action"]],
                              "by": step["by"], "role": "operator", "source": source, "at": step["at"],
                              "sent_at": at, "comment": step["comment"]})  # fmt: skip

    city = load_city()
    lanes = {a: [s.id for s in city.sensors_of("TrafficFlowObserved") if s.area == a] for a in city.areas}
    for i in range(24):
        area, status = list(city.areas)[i % 3], statuses[i % 4]
        raised = base - (i + 1) * 7 * M
        doc = alert_doc("traffic-jam", lanes[area][i // 3], "high", status, raised,
                        [{"action": "raise", "by": "system", "at": raised, "comment": "ùn tắc"}])  # fmt: skip
        rows.alert(doc, now - i * 1000, area, "traffic")
        alerts.append((doc["id"], area, status, raised))

    # Vinh's flood level every minute, as the area stage publishes it, from 2.5 h before the raise to 2.5 h
    # after: 0, level 3 for the first hour, 1 until the resolve, 0 after.
    flood_kpi = [(p1 + k * M, 0.0 if k < 0 else 3.0 if k < 60 else 1.0 if k < 125 else 0.0)
                 for k in range(-150, 151)]  # fmt: skip
    for minute, value in flood_kpi:
        rows.kpi(kpi_doc("vinh", "flood", minute, value))
    # Air: three minutes in the last day in Vinh and one in Cửa Lò; older ones only the week shows, two of
    # them in one ten-minute bucket (the week's bucket keeps the higher).
    air = {"vinh": [(base - 6 * D, 42.0), (base - 3 * D, 180.0), (base - 3 * D + 3 * M, 120.0),
                    (base - 23 * H, 55.0), (base - 12 * H, 155.0), (base - H, 95.0)],
           "cua-lo": [(base - 2 * H, 70.0)]}  # fmt: skip
    for area, points in air.items():
        for minute, value in points:
            rows.kpi(kpi_doc(area, "air", minute, value))
    expected = {"alerts": alerts, "flood_id": flood_id, "flood_published": published,
                "flood_kpi": flood_kpi, "air": air}  # fmt: skip
    return rows, expected


@pytest.fixture(scope="module")
def record(
    start_module_services: StartServices, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Record]:
    data = tmp_path_factory.mktemp("history") / "data"
    now = int(time.time() * 1000)
    rows, expected = record_rows(now)
    fill(rows, Settings(data_dir=data))  # before the wall starts: it finds the record as `ioc up` leaves it
    services = start_module_services(unique_namespace("history-e2e"), "web", data_dir=data)
    yield Record(services.url("web"), **expected)
    services.assert_running()


@pytest.fixture
def viewer(record: Record, browser: Browser) -> Iterator[tuple[Page, BrowserContext, list[str]]]:
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, accept_downloads=True)  # CSP on
    context.add_init_script(SPY)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{record.url}/?token={token('viewer')}")
    poll(page, "() => window.__wall && window.__wall.city && window.__wall.trends.charts.size === 5")
    yield page, context, errors
    context.close()


def shown_rows(page: Page) -> list[str]:
    rows: list[str] = page.evaluate(ROWS)
    return rows


def chart_data(page: Page, kpi: str) -> list[list[Any]]:
    data: list[list[Any]] = page.evaluate("(kpi) => window.__wall.trends.charts.get(kpi).data", kpi)
    return data


def newest_first(alerts: list[tuple[str, str, str, int]]) -> list[str]:
    return [a[0] for a in sorted(alerts, key=lambda a: (-a[3], a[0]))]


def test_a_viewer_searches_pages_exports_and_reads_a_timeline(
    record: Record, viewer: tuple[Page, BrowserContext, list[str]], artifacts: str
) -> None:
    page, _, errors = viewer
    assert page.evaluate("window.__wall.gaps") == []  # every label table names the vocabulary's names
    page.click("#history-open")
    expect(page.locator("#history")).to_be_visible()
    expect(page.locator("#history-total")).to_have_text("25 cảnh báo")
    assert shown_rows(page) == newest_first(record.alerts)[:20]
    expect(page.locator("#history-page")).to_have_text("1–20 / 25")
    expect(page.locator("#alert-list")).to_be_visible()  # the live alert list stays beside it

    page.click("#history-next")
    expect(page.locator("#history-page")).to_have_text("21–25 / 25")
    assert shown_rows(page) == newest_first(record.alerts)[20:]
    expect(page.locator("#history-next")).to_be_disabled()

    page.select_option("#history-area", "vinh")
    page.select_option("#history-status", "resolved")
    page.click("#history-form button[type=submit]")
    wanted = newest_first([a for a in record.alerts if a[1] == "vinh" and a[2] == "resolved"])
    expect(page.locator("#history-total")).to_have_text(f"{len(wanted)} cảnh báo")
    assert len(wanted) == 3 and shown_rows(page) == wanted
    expect(page.locator("#history-page")).to_have_text("1–3 / 3")
    flood_row = page.locator(f'#history-table tr[data-alert="{record.flood_id}"]')
    expect(flood_row).to_contain_text("Ngập vượt mức báo động")

    with page.expect_download() as download:
        page.click("#history-csv")
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [r["id"] for r in exported] == wanted
    assert {(r["area"], r["status"]) for r in exported} == {("vinh", "resolved")}

    page.fill("#history-entity", "")
    page.fill("#history-q", "nước đã rút")  # a comment of the flood's resolve
    page.click("#history-form button[type=submit]")
    expect(page.locator("#history-total")).to_have_text("1 cảnh báo")

    # The flood's timeline: every transition with who and comment, the durations, its area's flood KPI.
    flood_row.click()
    timeline = page.locator("#timeline")
    expect(timeline).to_be_visible()
    steps = timeline.locator('[data-role="transitions"] tbody tr')
    expect(steps).to_have_count(4)
    expect(steps.nth(1)).to_contain_text("op.lan")
    expect(steps.nth(1)).to_contain_text("đã nhận, cử đội kiểm tra")
    expect(steps.nth(1)).to_contain_text("Xác nhận")
    expect(steps.nth(3)).to_contain_text("op.minh")
    expect(timeline.locator('[data-role="tta"]')).to_have_text("1 phút 30 giây")
    expect(timeline.locator('[data-role="ttr"]')).to_have_text("2 giờ 5 phút")
    drawn = poll(page, FLOOD_DRAWN)
    # The window: from 2 h before the raise was recorded (the half hour before that is left out) to now;
    # each minute its own bucket; then a gap ten minutes after the last minute, and the window's end.
    window = [v for m, v in record.flood_kpi if m >= record.flood_published[0] - 2 * H]
    assert len(window) == 271 and drawn["values"] == [*window, None, None]
    assert drawn["points"] == len(window) + 2
    marks = {m["action"]: m for m in drawn["markers"]}
    marked = ("raise", "acknowledged", "cleared", "resolved")
    assert set(marks) == set(marked) and [marks[a]["at"] for a in marked] == record.flood_published
    raise_mark = marks["raise"]
    assert raise_mark["colour"] == CRITICAL
    # The raise marker is on the canvas, where the raise was recorded (not only in the page's state).
    pixel = page.evaluate(
        """(x) => { const c = document.querySelector('#timeline .timeline-chart canvas');
                    const ctx = c.getContext('2d');
                    return [...ctx.getImageData(Math.floor(x), Math.floor(c.height * 0.4), 1, 1).data]; }""",
        raise_mark["x"],
    )
    assert pixel == [0xD5, 0x00, 0xF9, 255]
    expected_x = page.evaluate(
        "(ms) => window.__wall.timeline.charts[0].valToPos(ms / 1000, 'x', true)",
        record.flood_published[0],
    )
    assert abs(raise_mark["x"] - expected_x) < 1
    expect(timeline.locator(".timeline-chart .chart-title")).to_contain_text("Vinh: chỉ số của cả khu vực")
    page.screenshot(path=str(Path(artifacts) / "wall-history.png"))

    # The operators' actions from the audit: who, in which role, from which address.
    audit = timeline.locator('[data-role="audit"] tbody tr')
    expect(audit).to_have_count(2)
    for row, who, source in ((audit.nth(0), "op.lan", "10.0.0.7"), (audit.nth(1), "op.minh", "10.0.0.9")):
        for text in (who, "Điều hành viên", source):
            expect(row).to_contain_text(text)

    # In English, the labels follow.
    page.click("#lang")
    expect(page.locator("#history h2")).to_have_text("Incident history")
    expect(page.locator("#history-table thead th").first).to_have_text("Raised")
    expect(timeline.locator('[data-role="tta"]')).to_have_text("1 min 30 s")
    expect(timeline.locator(".timeline-chart .chart-title")).to_contain_text("Vinh: the area's KPI")
    page.click("#lang")
    page.click("#history-close")
    expect(page.locator("#history")).to_be_hidden()
    assert page.evaluate("window.__csp") == []
    assert errors == []


def test_trends_switch_to_a_day_and_a_week_from_the_record(
    record: Record, viewer: tuple[Page, BrowserContext, list[str]], artifacts: str
) -> None:
    page, _, errors = viewer
    expect(page.locator('#charts [data-range="1h"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator('#charts [data-kpi-title="air"]')).to_contain_text("1 giờ qua")

    page.click('#charts [data-range="24h"]')
    expect(page.locator('#charts [data-kpi-title="air"]')).to_contain_text("24 giờ qua")
    stored = poll(page, STORED_DRAWN)
    assert stored["step_ms"] == M
    data = chart_data(page, "air")
    day = {area: {m: v for m, v in record.air[area] if m >= stored["since"]} for area in ("vinh", "cua-lo")}
    # Each recorded minute is drawn from its minute for ten minutes, then a gap (nothing is carried across
    # hours of silence); the last point is the range's end.
    minutes = {m for points in day.values() for m in points}
    assert [x * 1000 for x in data[0]] == [*sorted(minutes | {m + 10 * M for m in minutes}), stored["until"]]
    for column, area in ((data[1], "vinh"), (data[2], "cua-lo")):
        drawn = {x * 1000: v for x, v in zip(data[0], column, strict=True) if v is not None}
        assert drawn == day[area]
    assert len(day["vinh"]) == 3
    x_min = page.evaluate("() => window.__wall.trends.charts.get('air').scales.x.min")
    assert x_min * 1000 == stored["since"]

    page.click('#charts [data-range="7d"]')
    expect(page.locator('#charts [data-kpi-title="air"]')).to_contain_text("7 ngày qua")
    assert poll(page, STORED_DRAWN)["step_ms"] == 10 * M
    week = chart_data(page, "air")
    # Ten-minute buckets: 120 shares 180's bucket, which keeps the higher.
    assert [v for v in week[1] if v is not None] == [42.0, 180.0, 55.0, 155.0, 95.0]
    page.screenshot(path=str(Path(artifacts) / "wall-trends-7d.png"))

    # A wall reloaded (a restart, a power cut) keeps its range and draws it from the record at once.
    page.reload()
    poll(page, f"() => window.__wall.trends && ({STORED_DRAWN})()")
    expect(page.locator('#charts [data-range="7d"]')).to_have_attribute("aria-pressed", "true")
    again = chart_data(page, "air")
    assert again[0][:-1] == week[0][:-1] and again[1:] == week[1:]  # the same but for the end: now

    page.click('#charts [data-range="1h"]')
    expect(page.locator('#charts [data-kpi-title="air"]')).to_contain_text("1 giờ qua")
    assert page.evaluate("window.__csp") == []
    assert errors == []
