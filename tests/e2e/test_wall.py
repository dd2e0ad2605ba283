"""`ioc up` end to end: the whole embedded stack starts, the wall page shows live data for the three areas
in a real browser, and Ctrl-C stops every process."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from ioc.city import load_city
from ioc.ops import procs
from ioc.vn_aqi import BANDS
from tests.support.keys import TOKENS, token
from tests.support.readable import KIOSK_MIN_REM, assert_reads_across_the_room
from tests.support.wall import http_json

pytestmark = pytest.mark.e2e


@dataclass
class Stack:
    proc: subprocess.Popen[bytes]
    url: str
    ports: list[int]
    log: Path
    live_after_s: float


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("up")
    ports = [procs.free_port() for _ in range(3)]
    env = procs.children_env(
        {
            "IOC_BROKER_PORT": str(ports[0]),
            "IOC_WEB_PORT": str(ports[1]),
            "IOC_WORKER_WEB_PORT": str(ports[2]),
            "IOC_DATA_DIR": str(tmp / "data"),
            "IOC_SPEED": "60",  # a simulated minute per second, so values visibly change within the test
            "IOC_SESSION_TIMEOUT_MS": "2000",
            "IOC_TOKENS": TOKENS,
        }
    )
    log = tmp / "up.log"
    started = time.monotonic()
    proc = procs.spawn([sys.executable, "-m", "ioc", "up"], log, env)
    url = f"http://127.0.0.1:{ports[1]}"

    def live() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            areas = http_json(f"{url}/health", 1)["areas"]
        except OSError:
            return False
        return all(areas.get(a, 0) > 0 for a in load_city().areas)

    # Acceptance: live data for Vinh, Cửa Lò and Hoàng Mai within 30 s of `ioc up`.
    procs.wait_for(live, 30, 0.2, "live data for the three areas")
    stack = Stack(proc, url, ports, log, time.monotonic() - started)
    try:
        yield stack
    finally:
        procs.stop(proc, timeout=30)


def test_up_serves_live_data_for_all_three_areas(stack: Stack) -> None:
    out = stack.log.read_text()
    for role in ("viewer", "operator", "engineer"):  # the wall's sign-in links, one per role
        assert f"{stack.url}/?token={token(role)}" in out
    health = http_json(f"{stack.url}/health")
    assert health["feed"]["connected"] and health["feed"]["records"] > 0
    assert set(health["areas"]) == {"vinh", "cua-lo", "hoang-mai"}
    assert all(n > 0 for n in health["areas"].values())
    print(f"live data {stack.live_after_s:.1f} s after `ioc up`")


def test_wall_page_updates_live_in_a_browser(stack: Stack, browser: Browser, artifacts: str) -> None:
    page = browser.new_page(viewport={"width": 1920, "height": 1080}, bypass_csp=True)  # see test_operator
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{stack.url}/?token={token('viewer')}")
    for area, name in (("vinh", "Vinh"), ("cua-lo", "Cửa Lò"), ("hoang-mai", "Hoàng Mai")):
        column = page.locator(f'[data-area="{area}"]')
        expect(column.locator("h2")).to_contain_text(name)
        expect(column.locator(".station[data-aqi]:not([data-aqi=''])").first).to_be_visible(timeout=15_000)
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    expect(page.locator("#mode")).to_have_text("LIVE ×60")
    # The page's colour and label tables name exactly the severities, statuses and states of /api/vocabulary.
    assert page.evaluate("window.__wall.gaps") == []
    # /health's problems are worded once per kind, not once per partition (a lagging worker on 18 partitions
    # filled the banner with 18 lines).
    problems = [
        {"code": "worker_behind", "since": 5, "partition": "ioc.raw.traffic:0", "lag": 3},
        {"code": "worker_behind", "since": 2, "partition": "ioc.raw.traffic:1", "lag": 4},
        {"code": "worker_behind", "since": 9, "partition": "ioc.raw.lighting:4", "lag": 1},
        {"code": "no_worker", "since": 7},
    ]
    got = page.evaluate("async (ps) => (await import('/static/problems.js')).grouped(ps)", problems)
    together = "ioc.raw.traffic 0–1, ioc.raw.lighting 4"
    assert got == [
        {"code": "worker_behind", "since": 2, "partition": together, "lag": 8},
        {"code": "no_worker", "since": 7, "partition": "", "lag": None},
    ]

    # Every card's colour is its VN_AQI band's colour (Decision 1459, Table 1).
    # Read all cards in one evaluation: the page redraws them on every delta.
    cards = page.evaluate(
        """() => [...document.querySelectorAll('.station')].filter(e => e.dataset.aqi)
              .map(e => [Number(e.dataset.aqi), getComputedStyle(e).borderLeftColor])"""
    )
    assert len(cards) == len(load_city().sensors_of("AirQualityObserved"))
    for aqi, colour in cards:
        band = next(b for b in BANDS if aqi <= b.hi)
        assert colour == "rgb({}, {}, {})".format(*band.rgb), (aqi, colour)

    # Live: the simulated clock moves and new deltas arrive without reloading the page.
    clock_before = page.locator("#clock").inner_text()
    version_before = page.evaluate("window.__wall.version")
    messages_before = page.evaluate("window.__wall.messages")
    page.wait_for_function(
        f"window.__wall.version > {version_before} && window.__wall.messages > {messages_before}",
        timeout=15_000,
    )
    expect(page.locator("#clock")).not_to_have_text(clock_before, timeout=15_000)
    # KPI tiles per area and domain carry a standing once the area stage has published them.
    for area in ("vinh", "cua-lo", "hoang-mai"):
        for kpi in ("traffic", "air", "lighting"):
            tile = page.locator(f'[data-area="{area}"] .tile[data-kpi="{kpi}"]')
            expect(tile).not_to_have_attribute("data-standing", "", timeout=30_000)
    # Every site on the maps is drawn from the project's own geo data (no tiles), coloured once it reports.
    sites = page.evaluate("window.__wall.city.sites.length")
    assert page.locator("path.site").count() == sites
    page.wait_for_function("window.__wall.trends.series.size >= 6")  # KPI trend lines for the charts
    page.screenshot(path=str(Path(artifacts) / "wall.png"))
    # Nothing in an area's column is cut at its bottom (it hides what overflows).
    cut = page.evaluate("[...document.querySelectorAll('.area')].map((a) => a.scrollHeight - a.clientHeight)")
    assert cut == [0, 0, 0], cut

    # One language at a time, site names too: Vietnamese names on the Vietnamese page, English ones (proper
    # names keeping their diacritics) after the switch, and back.
    station = '[data-area="vinh"] [data-name-of="AQ-VIN-01"]'
    expect(page.locator(station)).to_have_text("Quảng trường Hồ Chí Minh")
    expect(page.locator('[data-gauge="WL-VIN-PDC"]')).to_contain_text("Ngập đường Phan Đình Cang")
    legend = page.locator("#legend .dot-label")  # the maps' colours, in the page's language
    expect(legend).to_have_count(9)
    expect(page.locator("#legend")).to_contain_text("mất kết nối")
    page.click("#lang")
    expect(page.locator("#legend")).to_contain_text("offline")
    expect(page.locator(station)).to_have_text("Hồ Chí Minh Square")
    expect(page.locator('[data-area="cua-lo"] h2')).to_contain_text("Cửa Lò")
    expect(page.locator('[data-gauge="WL-VIN-PDC"]')).to_contain_text("Street flooding, Phan Đình Cang")
    page.click("#lang")
    expect(page.locator(station)).to_have_text("Quảng trường Hồ Chí Minh")
    hd = sizes(page, station)

    # Maps: zoom buttons on each; a site's tip is in the page's language, whole on the screen even for a
    # site at the panel's edge (it used to be cut by the map's box), and gone when the pointer leaves.
    assert page.locator(".leaflet-control-zoom-in").count() == 3
    zoom = page.evaluate("window.__wall.maps.maps.get('vinh').getZoom()")
    page.locator('[data-area="vinh"] .leaflet-control-zoom-in').click()
    page.wait_for_function(f"window.__wall.maps.maps.get('vinh').getZoom() > {zoom}")
    edge = page.evaluate(
        """() => [...document.querySelectorAll('[data-area="cua-lo"] path.site-traffic')]
              .map(e => [e.dataset.key, e.getBoundingClientRect()])
              .sort((a, b) => b[1].right - a[1].right)[0][0]"""
    )  # the right-most detector of Cửa Lò, next to the alert column
    page.hover(f'[data-key="{edge}"]', force=True)
    tip = page.locator("#map-tip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("xe/giờ")
    box = tip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1920 and box["y"] >= 0
    page.mouse.move(5, 5)
    expect(tip).to_be_hidden()
    assert errors == []
    page.close()

    # A 3840 x 2160 wall shows the same layout twice as large (sizes in rem, the root follows the width).
    page = browser.new_page(viewport={"width": 3840, "height": 2160}, bypass_csp=True)
    page.goto(f"{stack.url}/?token={token('viewer')}")
    expect(page.locator(".station[data-aqi]:not([data-aqi=''])").first).to_be_visible(timeout=15_000)
    uhd = sizes(page, station)
    assert uhd["font"] == 2 * hd["font"] and uhd["column"] >= 1.9 * hd["column"], (hd, uhd)
    assert uhd["overflow"] == hd["overflow"] == 0  # nothing wider than the screen
    page.screenshot(path=str(Path(artifacts) / "wall-3840.png"))
    page.close()

    # A kiosk (an unattended display): no controls, no pointer, its language from the address; a reload
    # stays a kiosk. It is the wall across the room: read from 4 m (no type under 1.375rem, nothing cut
    # short or cut off), the same at 3840 x 2160 twice as large.
    for width, height in ((1920, 1080), (3840, 2160)):
        page = browser.new_page(viewport={"width": width, "height": height}, bypass_csp=True)
        page.goto(f"{stack.url}/?token={token('viewer')}&kiosk=1&lang=en")
        tile = page.locator('[data-area="vinh"] .tile[data-kpi="air"]')
        expect(tile).not_to_have_attribute("data-standing", "", timeout=30_000)
        page.reload()
        expect(tile).not_to_have_attribute("data-standing", "", timeout=30_000)
        assert page.evaluate("document.body.classList.contains('kiosk')")
        hidden = ("#history-open", "#shift-link", "#lang", "#sound", ".leaflet-control-zoom-in", station)
        for control in hidden:  # the stations' cards too: they are the desks'
            expect(page.locator(control).first).to_be_hidden()
        expect(page.locator('[data-area="vinh"] .watch-title')).to_have_text("Needs a look")
        expect(page.locator('[data-area="vinh"] [data-role="watch"] li').first).to_be_visible()
        assert page.evaluate("getComputedStyle(document.body).cursor") == "none"
        # The alert panel is never blank: its alerts, or a line saying there are none.
        listed = page.locator("#alert-list [data-alert], #alert-list [data-group]").count()
        expect(page.locator("#alert-list li").first).to_have_text(re.compile(".+"))
        if not listed:
            expect(page.locator("#alert-list .none")).to_have_text("No open alerts")
        page.wait_for_function("window.__wall.trends.series.size >= 6")
        page.wait_for_timeout(1500)  # the maps fitted again to their panels, the charts drawn
        rem = width / 120
        wall = assert_reads_across_the_room(page, KIOSK_MIN_REM * rem)
        assert wall.rem == rem and float(wall.smallest["px"]) == KIOSK_MIN_REM * rem
        # Each map fills its panel: the sites drawn span most of it (it showed a corner before it refitted).
        spread = page.evaluate(
            """() => [...document.querySelectorAll('.area')].map((a) => {
                  const box = a.querySelector('.map').getBoundingClientRect();
                  const dots = [...a.querySelectorAll('path.site')].map((d) => d.getBoundingClientRect());
                  const w = Math.max(...dots.map((d) => d.right)) - Math.min(...dots.map((d) => d.left));
                  const h = Math.max(...dots.map((d) => d.bottom)) - Math.min(...dots.map((d) => d.top));
                  return Math.max(w / box.width, h / box.height); })"""
        )
        assert all(s > 0.8 for s in spread), spread
        page.screenshot(path=str(Path(artifacts) / f"wall-kiosk-{width}x{height}.png"))
        page.close()


def sizes(page: Page, station: str) -> dict[str, float]:
    """A station name's font size, the alert column's width and how far the page overflows the screen."""
    return page.evaluate(
        f"""() => ({{
            font: parseFloat(getComputedStyle(document.querySelector('{station}')).fontSize),
            column: document.querySelector('.alerts').getBoundingClientRect().width,
            overflow: Math.max(0, document.documentElement.scrollWidth - innerWidth),
        }})"""
    )


def test_ctrl_c_stops_every_process(stack: Stack) -> None:
    stack.proc.send_signal(signal.SIGINT)
    assert stack.proc.wait(45) == 0, stack.log.read_text()[-3000:]
    out = stack.log.read_text()
    assert "stopping" in out and "stopped." in out
    for port in stack.ports:
        assert not procs.port_open("127.0.0.1", port), f"port {port} still open after Ctrl-C"
