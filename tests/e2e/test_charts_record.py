"""The 24 h trend charts draw the operations record's alerts when the wall runs live at ×1 on the wall clock
(simulated time is then the record's wall-clock time): a cleared traffic jam is a band from its raise to its
clearing in the severity's colour, an open air-quality alert a band to now; no note under the charts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from ioc.city import load_city
from ioc.settings import Settings
from ioc.store.rows import Rows
from tests.e2e.test_charts import STORED_DRAWN, H, Wall, chart, click
from tests.e2e.test_history_view import alert_doc, fill
from tests.support.keys import token
from tests.support.page import poll
from tests.support.stack import StartServices, unique_namespace

pytestmark = pytest.mark.e2e
HIGH = "#ff1744"  # SEVERITY_COLOUR.high in map.js


@dataclass
class RecordedWall:
    wall: Wall
    jam: tuple[str, int, int]  # a traffic jam of the record: id, raised, cleared (simulated = wall clock)
    smog: tuple[str, int]  # an air-quality alert of the record still open: id, raised


@pytest.fixture(scope="module")  # before the browser: Playwright then owns the event loop
def recorded_wall(
    start_module_services: StartServices, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RecordedWall]:
    """A wall live at ×1 whose clock is the wall clock, with two alerts of the last day in its record."""
    now = int(time.time() * 1000)
    lane = next(s.id for s in load_city().sensors_of("TrafficFlowObserved") if s.area == "vinh")
    raised, cleared, smog_at = now - 5 * H, now - 4 * H, now - 3 * H
    steps = [
        {"action": "raise", "by": "system", "at": raised},
        {"action": "cleared", "by": "system", "at": cleared},
    ]
    rows = Rows()
    for k, status in enumerate(("raised", "cleared")):
        jam = alert_doc("traffic-jam", lane, "high", status, raised, steps[: k + 1])
        rows.alert(jam, (raised, cleared)[k], "vinh", "traffic")
    smog = alert_doc("air-quality", "AQ-VIN-01", "high", "raised", smog_at,
                     [{"action": "raise", "by": "system", "at": smog_at}])  # fmt: skip
    rows.alert(smog, smog_at, "vinh", "environment")
    data = tmp_path_factory.mktemp("charts-record") / "data"
    fill(rows, Settings(data_dir=data))  # before the wall starts: it finds the record as `ioc up` leaves it
    services = start_module_services(unique_namespace("charts-x1"), "worker", "web", data_dir=data, push_hz=4)
    wall = Wall(services.settings, services.url("web"))
    wall.gauges(range(0, 1), 0.0, start=now)  # dry streets, now: the wall's clock is the wall clock
    yield RecordedWall(wall, (jam["id"], raised, cleared), (smog["id"], smog_at))
    services.assert_running()


def test_a_day_from_the_record_draws_its_alerts_when_the_clock_is_live_at_x1(
    recorded_wall: RecordedWall, browser: Browser, artifacts: str
) -> None:
    context = browser.new_context(viewport={"width": 1920, "height": 1080})  # the wall's CSP on
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{recorded_wall.wall.url}/?token={token('viewer')}")
    poll(page, "() => window.__wall && window.__wall.trends.charts.size && window.__wall.trends.lastNow")
    assert abs(page.evaluate("window.__wall.trends.lastNow - Date.now()")) < 60_000  # live, ×1, now

    click(page, '#charts [data-range="24h"]')
    stored = poll(page, f"() => window.__wall.trends.recorded && ({STORED_DRAWN})()")
    assert "problem" not in stored
    jam_id, raised, cleared = recorded_wall.jam
    (jam,) = chart(page, "traffic")["bands"]
    assert (jam["id"], jam["severity"], jam["colour"]) == (jam_id, "high", HIGH)
    assert (jam["from"], jam["to"]) == (raised, cleared)  # from the raise to the clearing
    smog_id, smog_at = recorded_wall.smog
    (smog,) = chart(page, "air")["bands"]
    assert (smog["id"], smog["from"], smog["to"]) == (smog_id, smog_at, stored["until"])  # open: to now
    assert chart(page, "traffic")["markers"] == 1 and chart(page, "flood")["bands"] == []
    expect(page.locator('.chart[data-kpi="traffic"] [data-role="chart-note"]')).to_have_text("")
    page.screenshot(path=str(Path(artifacts) / "wall-charts-24h.png"))
    click(page, '#charts [data-range="1h"]')
    context.close()
    assert errors == []
