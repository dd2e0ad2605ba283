"""The live trend charts show the state, in a real Chromium under the wall's CSP, against a real worker and
`ioc web` on the session's broker: a KPI whose value then holds still (its sensors keep reporting the same)
is a flat step line to the right edge, now; its alert is a translucent band in the severity's colour from
the raise to now, on the canvas too; a KPI without any value draws nothing and the legend says "no data";
a KPI whose sensors fell silent stops where they did and the legend says since when. After a reload, when
the KPI last changed more than an hour ago, the line starts at the window's left edge with the value in
force; once cleared, the band ends at the clearing. The 24 h chart explains why it draws no alerts when the
simulated clock is not real time (when it is: tests/e2e/test_charts_record.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from ioc.clock import parse_start
from ioc.settings import Settings
from ioc.topics import Topics
from tests.support.frames import aq_frame, street_levels
from tests.support.keys import token
from tests.support.page import poll, run
from tests.support.records import produce
from tests.support.stack import StartServices, unique_namespace

pytestmark = pytest.mark.e2e
M = 60_000
H = 60 * M
T0 = parse_start("2025-10-14T06:00")  # simulated; far from the wall clock, so 24 h cannot place alerts
STALE_MS = 15 * M  # STALE_MS in charts.js
CRITICAL = (0xD5, 0x00, 0xF9)  # SEVERITY_COLOUR.critical in map.js
BAND_ALPHA = round(0.22 * 255)  # BAND_ALPHA in charts.js
AREAS = ("vinh", "cua-lo", "hoang-mai")  # the charts' columns, in the city's order
VINH_AQ = ["AQ-VIN-01", "AQ-VIN-02", "AQ-VIN-03", "AQ-VIN-04"]
# One chart as the page drew it last, read in one evaluation (the page redraws every second).
CHART = """(kpi) => { const tr = window.__wall.trends; const u = tr.charts.get(kpi);
  return { data: u.data, now: tr.lastNow, min: u.scales.x.min, max: u.scales.x.max, states: tr.states[kpi],
           bands: tr.drawnBands[kpi] || [], markers: tr.drawnMarkers[kpi] || 0 }; }"""
STORED_DRAWN = "() => { const t = window.__wall.trends; return t.drawn === t.stored && t.stored; }"
# The band's pixels: three columns across it and one left of it, each over the plot's whole height.
PIXELS = """(kpi) => { const u = window.__wall.trends.charts.get(kpi);
  const b = window.__wall.trends.drawnBands[kpi][0]; const { top, height, left } = u.bbox;
  const column = (x) => {
    const d = u.ctx.getImageData(Math.round(x), Math.ceil(top), 1, Math.floor(height)).data;
    const px = [];
    for (let i = 0; i < d.length; i += 4) px.push([d[i], d[i + 1], d[i + 2], d[i + 3]]);
    return px; };
  const w = b.x1 - b.x0;
  return { inside: [0.3, 0.5, 0.7].map((f) => column(b.x0 + f * w)),
           outside: b.x0 - 30 > left ? column(b.x0 - 30) : null }; }"""


@dataclass
class Wall:
    settings: Settings
    url: str
    seq: int = 0

    def inject(self, frames: list[tuple[bytes, bytes]]) -> None:
        run(produce(self.settings, Topics(self.settings.namespace).raw("environment"), frames))

    def gauges(self, minutes: range, level: float, start: int = T0) -> None:
        """Vinh's street gauges at `level` once a simulated minute after `start`."""
        frames = []
        for k in minutes:
            self.seq += 1
            frames.append(street_levels(self.seq, start + k * M, level))
        self.inject(frames)

    def air(self, seq: int, t: int) -> None:
        self.inject([(b"aq.vinh", aq_frame("aq.vinh", VINH_AQ, seq, t, [20.0, 30.0, 40.0, 60.0]))])


@pytest.fixture(scope="module")
def wall(start_module_services: StartServices) -> Iterator[Wall]:
    services = start_module_services(unique_namespace("charts-e2e"), "worker", "web", push_hz=4)  # live, ×1
    yield Wall(services.settings, services.url("web"))
    services.assert_running()


def chart(page: Page, kpi: str) -> dict[str, Any]:
    drawn: dict[str, Any] = page.evaluate(CHART, kpi)
    return drawn


def column(drawn: dict[str, Any], area: str) -> list[tuple[float, float | None]]:
    """(x ms, value) of one area's column."""
    xs, values = drawn["data"][0], drawn["data"][1 + AREAS.index(area)]
    return [(x * 1000, v) for x, v in zip(xs, values, strict=True)]


def matches(pixel: list[int], rgb: tuple[int, int, int]) -> bool:
    return all(abs(p - c) <= 6 for p, c in zip(pixel, rgb, strict=False)) and abs(pixel[3] - BAND_ALPHA) <= 4


def click(page: Page, selector: str) -> None:
    # A critical alert's pop-up covers the page: the wall's buttons are clicked as the page's script would.
    page.evaluate("(s) => document.querySelector(s).click()", selector)


def test_charts_carry_held_values_draw_alert_bands_and_stop_stale_lines(
    wall: Wall, browser: Browser, artifacts: str
) -> None:
    context = browser.new_context(viewport={"width": 1920, "height": 1080})  # the wall's CSP on
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{wall.url}/?token={token('viewer')}")
    poll(page, "() => window.__wall && window.__wall.snapshots >= 1 && window.__wall.trends.charts.size")

    # T0: Vinh's air and its gauges, Nguyễn Văn Cừ above báo động 3 (a critical flood alert). The KPIs are
    # published once; then the gauges report the same level every minute for 20 minutes (the flood KPI holds
    # still: nothing new is published) and the air stations once more at T0 + 2 min, then never again.
    wall.air(1, T0 - H)  # the hour before too: an hourly VN_AQI (NowCast) needs two of the last three hours
    wall.air(2, T0)
    wall.gauges(range(0, 1), 0.75)
    poll(page, "() => ['flood', 'air'].every((k) => window.__wall.items.has('kpi:vinh:' + k))")
    stamped = page.evaluate("['flood', 'air'].map((k) => window.__wall.items.get('kpi:vinh:' + k).t)")
    assert stamped == [T0, T0]  # the wall's clock when each KPI was first published
    wall.air(3, T0 + 2 * M)
    wall.gauges(range(1, 21), 0.75)
    poll(page, f"() => window.__wall.trends.lastNow >= {T0 + 20 * M}")  # the charts drawn at the new clock

    # The flood KPI holds still: one value, drawn from its change to the right edge (now) at 3.
    flood = chart(page, "flood")
    assert flood["max"] * 1000 == pytest.approx(flood["now"], abs=1)
    # One value (the wall stamps an unchanged KPI again each simulated minute: the same value, later).
    assert set(page.evaluate("window.__wall.trends.series.get('kpi:vinh:flood').v")) == {3.0}
    drawn = [(x, v) for x, v in column(flood, "vinh") if v is not None]
    assert drawn[0][0] == T0 and drawn[-1][0] == pytest.approx(flood["now"], abs=1)
    assert {v for _, v in drawn} == {3.0}
    assert column(flood, "vinh")[-1][1] == 3.0
    # Cửa Lò and Hoàng Mai have no flood KPI at all: nothing drawn, "no data".
    assert all(v is None for area in ("cua-lo", "hoang-mai") for _, v in column(flood, area))
    assert {a: s["state"] for a, s in flood["states"].items()} == {"vinh": "live", "cua-lo": "nodata",
                                                                   "hoang-mai": "nodata"}  # fmt: skip

    # The critical flood alert: one band from its raise (T0) to now, in the critical colour, and its marker.
    (band,) = flood["bands"]
    assert band["rule"] == "flood-level" and band["severity"] == "critical" and band["colour"] == "#d500f9"
    assert band["from"] == T0 and band["to"] == pytest.approx(flood["now"], abs=1)
    assert flood["markers"] == 1
    pixels = page.evaluate(PIXELS, "flood")
    shares = [sum(matches(p, CRITICAL) for p in col) / len(col) for col in pixels["inside"]]
    assert sorted(shares)[1] > 0.5, shares  # a grid line may cross one of the columns, not two
    assert pixels["outside"] is not None and not any(matches(p, CRITICAL) for p in pixels["outside"])

    # Air: its stations last reported at T0 + 2 min, more than STALE_MS ago: the line stops there.
    air = chart(page, "air")
    assert air["now"] - (T0 + 2 * M) > STALE_MS
    drawn = [(x, v) for x, v in column(air, "vinh") if v is not None]
    assert drawn and drawn[0][0] == T0 and drawn[-1][0] == T0 + 2 * M
    assert column(air, "vinh")[-1][1] is None
    assert air["states"]["vinh"] == {"state": "stale", "since": T0 + 2 * M}
    legend = page.locator('.chart[data-kpi="air"] [data-role="legend"]')
    expect(legend.locator('[data-area="vinh"]')).to_have_attribute("data-state", "stale")
    expect(legend.locator('[data-area="vinh"]')).to_contain_text("không cập nhật từ 06:02")

    # Traffic: no value anywhere, no line anywhere, and every area's legend says so.
    traffic = chart(page, "traffic")
    assert all(v is None for area in AREAS for _, v in column(traffic, area))
    keys = page.locator('.chart[data-kpi="traffic"] [data-role="legend"] [data-area]')
    expect(keys).to_have_count(3)
    for i in range(3):
        expect(keys.nth(i)).to_have_attribute("data-state", "nodata")
        expect(keys.nth(i)).to_contain_text("chưa có dữ liệu")
    expect(page.locator('.chart[data-kpi="flood"] [data-role="legend"] .band')).to_contain_text("cảnh báo")
    page.evaluate("() => { const close = document.getElementById('popup-close'); if (close) close.click(); }")
    page.screenshot(path=str(Path(artifacts) / "wall-charts-live.png"))

    # In English, the legend follows.
    click(page, "#lang")
    expect(legend.locator('[data-area="vinh"]')).to_contain_text("stale since 06:02")
    expect(keys.first).to_contain_text("no data")
    click(page, "#lang")

    # An hour and a quarter later (the gauges still at the same level), a reloaded wall: the flood KPI last
    # changed before the window, yet its value in force is drawn from the window's left edge to now; the
    # alert, raised before the window and still open, is a band across the whole hour.
    wall.gauges(range(21, 76), 0.75)
    poll(page, f"() => window.__wall.simTime >= {T0 + 75 * M}")
    page.reload()
    poll(page, f"() => window.__wall.trends.lastNow >= {T0 + 75 * M}")
    poll(page, "() => (window.__wall.trends.drawnBands.flood || []).length")
    flood = chart(page, "flood")
    assert flood["min"] * 1000 == pytest.approx(flood["now"] - H, abs=1)
    drawn = [(x, v) for x, v in column(flood, "vinh") if v is not None]
    assert drawn[0][0] == pytest.approx(flood["now"] - H, abs=1)
    assert drawn[-1][0] == pytest.approx(flood["now"], abs=1) and {v for _, v in drawn} == {3.0}
    (band,) = flood["bands"]
    assert band["from"] == pytest.approx(flood["now"] - H, abs=1)
    assert band["to"] == pytest.approx(flood["now"], abs=1)
    assert flood["markers"] == 0  # the raise itself is before the window
    # Air went silent before the window: nothing in it, and still "stale".
    air = chart(page, "air")
    assert all(v is None for _, v in column(air, "vinh"))
    assert air["states"]["vinh"]["state"] == "stale"

    # The water goes down at T0 + 76 min; ten minutes later (flood-level's hold) the alert is cleared: its
    # band ends there, as the feed brings it and, after a reload, as the page fetches the closed alert.
    wall.gauges(range(76, 91), 0.0)
    cleared = T0 + 86 * M
    for reload in (False, True):
        if reload:
            page.reload()
        poll(page, f"() => window.__wall.trends.lastNow >= {T0 + 90 * M}")
        ends = "(window.__wall.trends.drawnBands.flood || []).map((b) => b.to)"
        poll(page, f"() => {ends}.length === 1 && {ends}[0] === {cleared}")
        (band,) = chart(page, "flood")["bands"]
        assert band["severity"] == "critical" and band["to"] == cleared
        assert band["from"] == pytest.approx(chart(page, "flood")["now"] - H, abs=1500)

    # 24 h: the simulated clock is not real time, so no alert is placed, and a note under the chart says why.
    click(page, '#charts [data-range="24h"]')
    note = page.locator('.chart[data-kpi="flood"] [data-role="chart-note"]')
    expect(note).to_have_text("Không vẽ cảnh báo: giờ mô phỏng khác giờ thực")
    poll(page, STORED_DRAWN)
    assert chart(page, "flood")["bands"] == []
    click(page, '#charts [data-range="1h"]')
    expect(note).to_have_text("")
    context.close()
    assert errors == []
