"""The shift handover page in a real Chromium against a real `ioc web` on a filled operations record (a
SQLite file, tests/support/shift.py), under the wall's Content-Security-Policy: the numbers on the page are
the store's, it signs in with the wall's token, switches language, and prints to an A4 PDF without anything
running off the page."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from ioc.settings import Settings
from ioc.store.database import open_engine
from ioc.store.shift import ShiftReport, shift_at, shift_report
from tests.support.keys import token
from tests.support.page import run
from tests.support.shift import fill_url
from tests.support.stack import StartServices, unique_namespace
from tests.support.wall import http_text

pytestmark = pytest.mark.e2e
DAY = "from=2026-12-02T06:00&to=2026-12-02T14:00"
A4_PRINTABLE_PX = int((210 - 2 * 11) / 25.4 * 96)  # A4 width less the report's 11 mm side margins, at 96 dpi


@dataclass
class Wall:
    url: str
    database: str

    def report(self, start_ms: int, end_ms: int) -> ShiftReport:
        async def read() -> ShiftReport:
            engine = open_engine(self.database)
            try:
                return await shift_report(engine, start_ms, end_ms)
            finally:
                await engine.dispose()

        return run(read())


@pytest.fixture(scope="module")
def wall(start_module_services: StartServices, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wall]:
    database = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('record') / 'ioc.db'}"
    run(fill_url(database))
    services = start_module_services(unique_namespace("shift"), "web", database_url=database)
    yield Wall(services.url("web"), database)
    services.assert_running()


def open_report(browser: Browser, wall: Wall, query: str) -> tuple[Page, list[str]]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})  # the CSP is not bypassed
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{wall.url}/shift?token={token('viewer')}&{query}")
    expect(page.locator("body[data-report=shift]")).to_be_attached(timeout=15_000)
    return page, errors


def numbers(page: Page, selector: str, attribute: str) -> dict[str, str | None]:
    cells = page.locator(selector)
    return {
        cells.nth(k).get_attribute(attribute) or "": cells.nth(k).text_content() for k in range(cells.count())
    }


def test_the_page_shows_the_stores_numbers(wall: Wall, browser: Browser) -> None:
    page, errors = open_report(browser, wall, DAY)
    start, end = (int(page.locator("body").get_attribute(a) or 0) for a in ("data-start-ms", "data-end-ms"))
    stored = wall.report(start, end)
    assert stored.counts.raised == 4 and stored.counts.open_at_end == 4  # the shift has something to show

    counts = numbers(page, "[data-count]", "data-count")
    assert counts == {k: str(v) for k, v in stored.counts.model_dump().items()}
    rows = page.locator("#handover tbody tr")
    assert [rows.nth(k).get_attribute("data-alert") for k in range(rows.count())] == [
        a.id for a in stored.handover
    ]
    for k, alert in enumerate(stored.handover):
        row = rows.nth(k)
        assert row.locator("[data-field=status]").get_attribute("data-value") == alert.status
        assert row.locator("[data-field=severity]").get_attribute("data-value") == alert.severity
        assert row.locator("[data-field=age]").get_attribute("data-ms") == str(alert.age_ms)
        assert alert.last_comment is not None
        expect(row.locator("[data-field=last_comment]")).to_contain_text(alert.last_comment.text)
    for section, times in (("acknowledge", stored.time_to_acknowledge), ("resolve", stored.time_to_resolve)):
        shown = page.locator(f"#time-to-{section} tbody tr")
        expected = [("all", times.all)]
        expected += [(f"area:{g.group}", g) for g in times.by_area]
        expected += [(f"domain:{g.group}", g) for g in times.by_domain]
        assert shown.count() == len(expected)
        for k, (group, d) in enumerate(expected):
            row = shown.nth(k)
            assert row.get_attribute("data-group") == group
            assert row.locator("[data-field=count]").text_content() == str(d.count)
            assert row.locator("[data-field=p50]").get_attribute("data-ms") == str(d.p50_ms)
            assert row.locator("[data-field=p90]").get_attribute("data-ms") == str(d.p90_ms)
    escalations = page.locator("#escalations tbody tr")
    assert [escalations.nth(k).get_attribute("data-escalation") for k in range(escalations.count())] == [
        e.alert_id for e in stored.escalations
    ]
    kpis = page.locator("#kpis tbody tr")
    assert [
        (
            kpis.nth(k).get_attribute("data-area"),
            kpis.nth(k).locator("[data-field=standing]").get_attribute("data-value"),
            kpis.nth(k).locator("[data-field=minute]").get_attribute("data-ms"),
        )
        for k in range(kpis.count())
    ] == [(w.area, w.standing, str(w.minute)) for w in stored.kpi_worst]
    letters = page.locator("#dead-letters tbody tr[data-reason]")
    assert [
        (
            letters.nth(k).get_attribute("data-reason"),
            letters.nth(k).get_attribute("data-domain"),
            letters.nth(k).locator("[data-field=count]").text_content(),
        )
        for k in range(letters.count())
    ] == [(d.reason, d.domain, str(d.count)) for d in stored.dead_letters]
    expect(page.locator("h1")).to_have_text("Báo cáo bàn giao ca")  # Vietnamese unless asked otherwise
    assert "token" not in page.url and errors == []


def test_the_current_shift_by_default_and_the_other_language(wall: Wall, browser: Browser) -> None:
    starts = Settings().shift_starts
    before = shift_at(int(time.time() * 1000), starts)
    page, errors = open_report(browser, wall, "")
    after = shift_at(int(time.time() * 1000), starts)
    start = int(page.locator("body").get_attribute("data-start-ms") or 0)
    assert start in (before.start_ms, after.start_ms)
    shown = next(s for s in (before, after) if s.start_ms == start)
    stored = wall.report(shown.start_ms, shown.end_ms)
    assert numbers(page, "[data-count]", "data-count") == {
        k: str(v) for k, v in stored.counts.model_dump().items()
    }

    page.get_by_role("link", name="English").click()
    expect(page.locator("h1")).to_have_text("Shift handover report")
    assert page.locator("html").get_attribute("lang") == "en"
    assert int(page.locator("body").get_attribute("data-start-ms") or 0) == start  # the same shift
    page.get_by_role("link", name="← Previous shift").click()
    expect(page.locator("body")).to_have_attribute("data-end-ms", str(start))
    assert errors == []


def test_without_a_token_the_page_asks_for_one(wall: Wall, browser: Browser) -> None:
    page = browser.new_context().new_page()
    page.goto(f"{wall.url}/shift?{DAY}")
    expect(page.locator("#shift-login")).to_be_visible()
    page.locator("#shift-token").fill(token("viewer"))
    page.locator("#shift-login button").click()
    expect(page.locator("body[data-report=shift]")).to_be_attached(timeout=15_000)
    assert 'href="/shift"' in http_text(f"{wall.url}/")  # the wall's header links to it


def test_it_prints_on_a4(wall: Wall, browser: Browser, artifacts: str) -> None:
    page, _ = open_report(browser, wall, DAY)
    page.emulate_media(media="print")
    page.set_viewport_size({"width": A4_PRINTABLE_PX, "height": 1100})
    expect(page.locator("nav")).to_be_hidden()  # the links are for the screen
    widths = page.evaluate(
        """() => ({page: document.documentElement.scrollWidth, view: document.documentElement.clientWidth,
                   widest: Math.max(...[...document.querySelectorAll('table, ul, header, footer')]
                                     .map((e) => e.getBoundingClientRect().right))})"""
    )
    assert widths["page"] <= widths["view"] == A4_PRINTABLE_PX and widths["widest"] <= A4_PRINTABLE_PX
    styles = page.evaluate(
        "() => [getComputedStyle(document.querySelector('#handover tbody tr')).breakInside,"
        " getComputedStyle(document.querySelector('#handover thead')).display]"
    )
    assert styles == ["avoid", "table-header-group"]  # rows are not split, headers repeat on each page

    pdf = page.pdf(format="A4", print_background=True)
    Path(artifacts, "shift-report.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF-")
    pages = re.findall(rb"/Type\s*/Page\b", pdf)
    boxes = [(float(w), float(h)) for w, h in re.findall(rb"/MediaBox\s*\[0 0 ([\d.]+) ([\d.]+)\]", pdf)]
    assert len(pages) >= 1 and len(boxes) == len(pages)
    assert all(abs(w - 595.3) < 2 and abs(h - 841.9) < 2 for w, h in boxes), boxes  # A4 in points
