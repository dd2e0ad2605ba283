"""A real `ioc up --scenario` with a short scenario at x60, in Chromium: the banner names the scenario and its
stage, a station whose data stops is greyed with its age and comes back after the scenario, the city goes on
after the scenario's end, and a dead feed or stack covers the wall in large type with the clock stopped."""

from __future__ import annotations

import os
import re
import signal
import sys
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.sync_api import Browser, Page, expect

from ioc.city import load_city
from ioc.ops import procs
from tests.support.keys import token
from tests.support.readable import KIOSK_MIN_REM, assert_reads_across_the_room
from tests.support.stack import up_children, up_env
from tests.support.wall import http_json

pytestmark = pytest.mark.e2e

MIN = 60_000
SILENT = "AQ-VIN-01"
# At x60 a simulated minute is a real second: the rain from the start, the station silent from 5 to 60 min
# (a minute of real time: a slow CI machine still finds the scenario playing when the page opens).
SCENARIO = f"""
name = "short-storm"
title = "Bão thử nghiệm"
title_en = "Test storm"
duration = "60m"

[[stage]]
name = "Heavy rain"
title = "mưa lớn"
at = "0m"
until = "10m"
[stage.set]
"environment.*.rain_mm_h" = 40.0

[[stage]]
name = "Station down"
title = "trạm mất tín hiệu"
at = "5m"
[stage.set]
"faults.{SILENT}.offline" = true
"""


@dataclass
class Up:
    proc: Any
    url: str
    log: Path

    def health(self) -> dict[str, Any]:
        """/health's body, also when red (503)."""
        try:
            return dict(http_json(f"{self.url}/health", 2))
        except urllib.error.HTTPError as err:
            return dict(orjson.loads(err.read()))

    def child(self, role: str) -> int:
        found = up_children(self.proc.pid)
        return next(pid for name, pid in found.items() if role in name)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    tmp = tmp_path_factory.mktemp("stale")
    scenario = tmp / "short-storm.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    env = up_env(tmp / "data", "stale", IOC_SPEED="60", IOC_WARMUP_H="0.1", IOC_WARMUP_OTHER_H="0.1")
    log = tmp / "up.log"
    proc = procs.spawn([sys.executable, "-m", "ioc", "up", "--scenario", str(scenario)], log, env)
    stack = Up(proc, f"http://127.0.0.1:{env['IOC_WEB_PORT']}", log)

    def live() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            areas = stack.health()["areas"]
        except OSError:
            return False
        return all(areas.get(a, 0) > 0 for a in load_city().areas)

    procs.wait_for(live, 60, 0.2, "live data for the three areas")
    try:
        yield stack
    finally:
        procs.stop(proc, timeout=30)


def open_wall(browser: Browser, up: Up) -> Page:
    page = browser.new_page(viewport={"width": 1920, "height": 1080}, bypass_csp=True)
    page.goto(f"{up.url}/?token={token('viewer')}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "open", timeout=15_000)
    return page


def test_banner_names_stage_a_silent_station_greys_with_its_age_and_returns_after(
    up: Up, browser: Browser, artifacts: str
) -> None:
    page = open_wall(browser, up)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    banner = page.locator("#scenario")
    expect(banner).to_contain_text("Bão thử nghiệm — giai đoạn: ", timeout=20_000)
    expect(banner).to_contain_text("Bão thử nghiệm — giai đoạn: trạm mất tín hiệu", timeout=20_000)
    assert page.evaluate("window.__wall.gaps") == []

    card = page.locator(f'.station[data-station="{SILENT}"]')
    expect(card).to_have_attribute("data-stale", "true", timeout=20_000)
    expect(card.locator(".age")).to_contain_text("phút trước")
    marker = page.locator(f'path.site[data-key="aqi:{SILENT}"]')
    expect(marker).to_have_attribute("data-stale", "true")
    assert marker.get_attribute("fill") == "#9aa0a6"  # grey, not its VN_AQI band
    other = page.locator('.station[data-station="AQ-VIN-02"]')
    expect(other).not_to_have_attribute("data-stale", "true")
    expect(page.locator('.legend [data-legend="stale"]')).to_contain_text("Dữ liệu cũ")
    see_the_silent_station_on_the_kiosk(browser, up, artifacts)
    page.locator("#lang").click()
    expect(card.locator(".age")).to_contain_text("min ago")
    expect(banner).to_contain_text("Test storm — stage: Station down")
    page.screenshot(path=str(Path(artifacts) / "stale-station.png"))
    page.locator("#lang").click()

    # After the scenario the city goes on: the banner says so and the station reports again.
    expect(banner).to_contain_text("kịch bản đã kết thúc: thành phố hoạt động bình thường", timeout=75_000)
    expect(card).not_to_have_attribute("data-stale", "true", timeout=20_000)
    expect(page.locator("#mode")).to_have_text("LIVE ×60")
    assert errors == []
    page.close()


def see_the_silent_station_on_the_kiosk(browser: Browser, up: Up, artifacts: str) -> None:
    """The wall across the room names the silent station under its area, with its age, worst first; its
    type still reads from 4 m with the scenario's banner in the header."""
    page = browser.new_page(viewport={"width": 1920, "height": 1080}, bypass_csp=True)
    page.goto(f"{up.url}/?token={token('viewer')}&kiosk=1")
    watch = page.locator('[data-area="vinh"] [data-role="watch"]')
    expect(watch).to_have_attribute("data-count", re.compile(r"[1-9]"), timeout=15_000)
    concerns = page.evaluate(
        "async () => (await import('/static/watchlist.js')).concerns('vinh')"
        ".map((c) => [c.site.key, c.concern.why, c.concern.weight])"
    )
    silent = next(c for c in concerns if c[0] == f"aqi:{SILENT}")
    assert re.fullmatch(r"dữ liệu cũ · \d+ phút trước", silent[1]), silent
    assert [c[2] for c in concerns] == sorted((c[2] for c in concerns), reverse=True)  # worst first
    rows = page.evaluate(
        """() => [...document.querySelectorAll('[data-area="vinh"] [data-role="watch"] li[data-site]')]
              .map((li) => li.dataset.site)"""
    )
    # At most three rows, a third saying how many more; fewer when rows wrap to a second line and the
    # column would not hold them (the type reads from 4 m): then the last row says how many more.
    most = 3 if len(concerns) <= 3 else 2
    assert 1 <= len(rows) <= most and rows == [c[0] for c in concerns[: len(rows)]], (rows, concerns)
    more = page.locator('[data-area="vinh"] [data-role="watch"] li.more')
    if len(rows) < len(concerns):
        expect(more).to_contain_text(str(len(concerns) - len(rows)))
    else:
        expect(more).to_have_count(0)
    assert_reads_across_the_room(page, KIOSK_MIN_REM * 16)
    page.screenshot(path=str(Path(artifacts) / "wall-kiosk-stale.png"))
    page.close()


def test_the_city_goes_on_after_the_scenario_and_ioc_up_keeps_everything_running(up: Up) -> None:
    procs.wait_for(lambda: up.health()["mode"]["scenario"]["phase"] == "after", 90, 0.5, "the scenario's end")
    scenario = up.health()["mode"]["scenario"]
    assert scenario["scenario"] == "short-storm"
    ends = scenario["ends_ms"]
    procs.wait_for(lambda: up.health()["sim_time"] > ends + 3 * MIN, 30, 0.5, "data after the scenario")
    assert up.health()["status"] == "ok"
    assert up.proc.poll() is None
    assert "simulate" in " ".join(up_children(up.proc.pid))  # the simulator runs on
    log = up.log.read_text()
    assert "simulator finished" not in log and "simulator exited" not in log


def assert_clock_stopped(page: Page) -> None:
    before = page.locator("#clock").inner_text()
    page.wait_for_timeout(2_500)  # at x60 a running clock moves a simulated minute per second
    assert page.locator("#clock").inner_text() == before


def test_a_dead_web_server_covers_the_wall_in_large_type_stops_the_clock_and_clears(
    up: Up, browser: Browser, artifacts: str
) -> None:
    page = open_wall(browser, up)
    expect(page.locator("#mode")).to_have_text("LIVE ×60")
    os.kill(up.child("web"), signal.SIGKILL)  # `ioc up` starts it again after its back-off
    overlay = page.locator("#dead")
    expect(overlay).to_be_visible(timeout=10_000)
    expect(page.locator("#dead-title")).to_have_text("MẤT KẾT NỐI VỚI MÁY CHỦ MÀN HÌNH")
    expect(page.locator("#mode")).to_have_text("MẤT TÍN HIỆU")
    size = page.evaluate("parseFloat(getComputedStyle(document.getElementById('dead-title')).fontSize)")
    assert size >= 48  # readable across the room
    assert_clock_stopped(page)
    page.screenshot(path=str(Path(artifacts) / "dead-web.png"))
    expect(overlay).to_be_hidden(timeout=30_000)
    expect(page.locator("#mode")).to_have_text("LIVE ×60")
    page.close()


@pytest.mark.parametrize(("part", "problem"), [("worker", "bộ xử lý"), ("simulate", "số liệu mới")])
def test_a_stopped_worker_or_simulator_turns_the_wall_dead_until_it_runs_again(
    up: Up, browser: Browser, part: str, problem: str
) -> None:
    page = open_wall(browser, up)
    expect(page.locator("#dead")).to_be_hidden(timeout=30_000)
    pid = up.child(part)
    os.kill(pid, signal.SIGSTOP)  # frozen, as a hung process would be
    try:
        expect(page.locator("#dead-title")).to_have_text("DỮ LIỆU KHÔNG CẬP NHẬT", timeout=30_000)
        expect(page.locator("#dead-text")).to_contain_text(problem)
        expect(page.locator("#mode")).to_have_text("MẤT TÍN HIỆU")
        assert_clock_stopped(page)
    finally:
        os.kill(pid, signal.SIGCONT)
    expect(page.locator("#dead")).to_be_hidden(timeout=45_000)
    clock = page.locator("#clock").inner_text()
    expect(page.locator("#clock")).not_to_have_text(clock, timeout=10_000)  # running again
    page.close()


def test_ctrl_c_stops_the_stack(up: Up) -> None:
    up.proc.send_signal(signal.SIGINT)
    assert up.proc.wait(45) == 0, up.log.read_text()[-3000:]
