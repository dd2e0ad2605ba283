"""The wall's alert workflow in a real browser against a real broker, worker and web server: pop-ups that
respect the room (one at a time with "+N more" and a list, acknowledged from the pop-up, not again after a
reload for the same person but for another, a banner that blocks nothing for viewers), the sound button
telling when the browser blocks the sound, the lanes of one approach in one row, filters kept over a reload,
and the details pane with the whole history and comment / clear / resolve / reopen reaching the worker and
coming back on the feed."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from ioc.clock import parse_start
from ioc.settings import Settings
from ioc.topics import Topics
from tests.e2e.conftest import ARGS, CHROMIUM
from tests.support.frames import gauge_levels, lane_counts
from tests.support.keys import TOKENS, token
from tests.support.page import run
from tests.support.records import produce, read_topic
from tests.support.stack import StartServices, unique_namespace
from tests.support.wall import http_call

pytestmark = pytest.mark.e2e
T0 = parse_start("2025-10-14T06:00")
M = 60_000
SECOND_OPERATOR = secrets.token_urlsafe(18)  # another person with the operator role: "op-hoa"
STREETS = ["WL-VIN-LN", "WL-VIN-NVC", "WL-VIN-NTMK", "WL-VIN-PDC"]  # alert levels 0.2 / 0.4 / 0.7 m
LE_NIN_A = ["TD-VIN-06-A1", "TD-VIN-06-A2", "TD-VIN-06-A3"]  # one approach of Lê Nin (3 lanes)
ERRORS: list[str] = []  # errors of every page opened here


@dataclass
class Wall:
    settings: Settings
    url: str

    def inject(self, domain: str, records: list[tuple[bytes, bytes]]) -> None:
        run(produce(self.settings, Topics(self.settings.namespace).raw(domain), records))

    def alert_docs(self, alert_id: str, until: Any) -> list[dict[str, Any]]:
        """The worker's documents of one alert on `<ns>.alerts`, read until `until(docs)` holds."""
        topic = Topics(self.settings.namespace).alerts

        def mine(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [d for d in docs if d.get("id") == alert_id]

        return mine(run(read_topic(self.settings, topic, lambda docs: until(mine(docs)), 20)))


@pytest.fixture(scope="module")
def wall(start_module_services: StartServices) -> Iterator[Wall]:
    tokens = f"{TOKENS},operator:{SECOND_OPERATOR}:op-hoa"
    services = start_module_services(unique_namespace("alertwall"), "worker", "web", tokens=tokens, push_hz=4)
    wall = Wall(services.settings, services.url("web"))
    dry = {g: 0.0 for g in STREETS}
    wall.inject("environment", [gauge_levels("wl.vinh", 1, T0, dry)])  # the gauges report: no alert
    yield wall
    services.assert_running()


def open_wall(browser: Browser, wall: Wall, secret: str, page: Page | None = None) -> Page:
    """A page signed in with `secret`, in a browser context of its own unless `page` is given."""
    # bypass_csp: Playwright's wait_for_function evaluates its predicate (the CSP is tested in test_hostile).
    if page is None:
        page = browser.new_context(viewport={"width": 1920, "height": 1080}, bypass_csp=True).new_page()
        page.on("pageerror", lambda e: ERRORS.append(str(e)))
    page.goto(f"{wall.url}/?token={secret}")
    page.wait_for_function("window.__wall.snapshots >= 1 && window.__wall.items.has('water:WL-VIN-NVC')")
    return page


def wait_settled(page: Page) -> None:
    """The page has its snapshot, its cleared alerts from the REST API and has drawn them."""
    page.wait_for_function("window.__wall.snapshots >= 1 && window.__wall.alerts.clearedLoads >= 1")
    page.wait_for_timeout(1000)  # a pop-up that were to come would be drawn by now (4 pushes a second)


def without_popup(page: Page) -> Page:
    """An operator's page with any pop-up of earlier tests' alerts closed."""
    wait_settled(page)
    if page.locator("#popup").is_visible():
        page.locator("#popup-close").click()
    return page


def test_one_pop_up_at_a_time_acknowledged_from_it_and_not_again_after_a_reload(
    wall: Wall, browser: Browser, artifacts: str
) -> None:
    operator = open_wall(browser, wall, token("operator"))
    viewer = open_wall(browser, wall, token("viewer"))
    flood = {g: 0.75 for g in STREETS}  # above alert level 3 (0.7 m): four critical alerts at once
    wall.inject("environment", [gauge_levels("wl.vinh", 2, T0 + M, flood)])

    popup = operator.locator("#popup")
    expect(popup).to_be_visible(timeout=15_000)
    expect(operator.locator("#popup-more")).to_have_text("+3 cảnh báo khác")
    expect(operator.locator("#popup-list")).to_be_hidden()
    expect(operator.locator("#alert-banner")).to_be_hidden()
    assert operator.evaluate("window.__wall.sound.state()") == "on"
    assert operator.evaluate("window.__wall.sound.alarms") == 1  # one sound for the burst, not four

    # A viewer gets a banner that blocks nothing: the alert list and the details pane stay usable.
    banner = viewer.locator("#alert-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("CẢNH BÁO KHẨN CẤP")
    expect(viewer.locator("#alert-banner-more")).to_have_text("+3 cảnh báo khác")
    expect(viewer.locator("#popup")).to_be_hidden()
    viewer.locator('#alert-list [data-alert^="flood-level:WL-VIN-LN:"]').click()
    expect(viewer.locator("#alert-details")).to_be_visible()
    expect(viewer.locator("#alert-details .details-buttons")).to_have_count(0)  # a viewer reads only
    viewer.screenshot(path=str(Path(artifacts) / "wall-viewer-banner.png"))

    # The operator acknowledges the one shown; the feed brings it back acknowledged and the next one shows.
    first = popup.get_attribute("data-alert")
    operator.locator("#popup-ack").click()
    row = operator.locator(f'#alert-list [data-alert="{first}"]')
    expect(row).to_have_attribute("data-status", "acknowledged", timeout=15_000)
    expect(popup).not_to_have_attribute("data-alert", first or "")
    expect(operator.locator("#popup-more")).to_have_text("+2 cảnh báo khác")

    # ... and one from the list of the others.
    operator.locator("#popup-more").click()
    listed = operator.locator("#popup-list li")
    expect(listed).to_have_count(2)
    second = listed.first.get_attribute("data-alert")
    listed.first.locator('[data-action="acknowledge"]').click()
    row = operator.locator(f'#alert-list [data-alert="{second}"]')
    expect(row).to_have_attribute("data-status", "acknowledged", timeout=15_000)
    expect(listed).to_have_count(1)
    operator.screenshot(path=str(Path(artifacts) / "wall-popup-list.png"))

    # Two still await acknowledgement, and this operator has seen both: a reload shows no pop-up.
    operator.reload()
    wait_settled(operator)
    assert operator.locator('#alert-list [data-status="raised"][data-severity="critical"]').count() == 2
    expect(popup).to_be_hidden()
    assert operator.evaluate("window.__wall.sound.alarms") == 0

    # Another operator, signed in on the same browser, has not seen them: one pop-up, "+1 more".
    other = open_wall(browser, wall, SECOND_OPERATOR, operator)
    expect(other.locator("#role")).to_contain_text("op-hoa")
    expect(other.locator("#popup")).to_be_visible(timeout=10_000)
    expect(other.locator("#popup-more")).to_have_text("+1 cảnh báo khác")
    expect(other.locator("#popup-close")).to_have_text("Đóng tất cả")
    other.locator("#popup-close").click()
    expect(other.locator("#popup")).to_be_hidden()
    other.reload()
    wait_settled(other)
    expect(other.locator("#popup")).to_be_hidden()

    # The viewer hides the banner: not shown again after a reload either.
    viewer.locator("#alert-banner-close").click()
    expect(banner).to_be_hidden()
    viewer.reload()
    wait_settled(viewer)
    expect(banner).to_be_hidden()

    waiting = other.locator('#alert-list [data-status="raised"][data-severity="critical"]')
    for _ in range(2):  # acknowledged from the list, so the next tests start without critical alerts
        waiting.first.locator('[data-action="acknowledge"]').click()
        expect(waiting).to_have_count(1 if _ == 0 else 0, timeout=15_000)
    assert ERRORS == []


def test_the_sound_button_says_blocked_until_the_browser_lets_the_page_play(
    wall: Wall, browser: Browser
) -> None:
    # A browser without the autoplay policy of a wall PC: Chromium holds the AudioContext until a click.
    strict = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[a for a in ARGS if "autoplay" not in a]
    )
    try:
        page = strict.new_page(viewport={"width": 1920, "height": 1080}, bypass_csp=True)
        page.goto(f"{wall.url}/?token={token('viewer')}")
        page.wait_for_function("window.__wall.snapshots >= 1")
        sound = page.locator("#sound")
        expect(sound).to_have_attribute("data-state", "blocked")
        expect(sound).to_have_text("Âm báo: bị chặn")
        assert page.evaluate("window.__wall.sound.ctx.state") != "running"
        sound.click()  # the gesture the browser waits for
        expect(sound).to_have_attribute("data-state", "on")
        expect(sound).to_have_text("Âm báo: bật")
        assert page.evaluate("window.__wall.sound.ctx.state") == "running"
        sound.click()
        expect(sound).to_have_attribute("data-state", "off")
        page.locator("#lang").click()
        expect(sound).to_have_text("Sound: off")
        page.locator("#lang").click()
    finally:
        strict.close()


def test_lanes_of_one_approach_are_one_row_and_filters_are_kept(
    wall: Wall, browser: Browser, artifacts: str
) -> None:
    # Lê Nin's approach A jammed on its three lanes for 20 minutes: a jam held 10 minutes on each lane.
    frames = [lane_counts("tf.vinh.le-nin", k + 1, T0 + k * M, LE_NIN_A, 5.0) for k in range(21)]
    wall.inject("traffic", frames)
    page = without_popup(open_wall(browser, wall, token("operator")))
    group = page.locator('#alert-list [data-group="traffic-jam|VIN-06-A"]')
    expect(group).to_have_attribute("data-count", "3", timeout=30_000)
    expect(group.locator('[data-role="count"]')).to_have_text("3 làn")
    expect(group).to_contain_text("hướng A")
    expect(group.locator("[data-alert]")).to_have_count(0)
    assert page.locator('#alert-list [data-alert^="traffic-jam:TD-VIN-06-"]').count() == 0  # no row per lane
    group.locator('[data-action="expand"]').click()
    lanes = group.locator("[data-alert]")
    expect(lanes).to_have_count(3)
    expect(lanes.nth(0)).to_contain_text("hướng A, làn 1")
    expect(lanes.nth(2)).to_contain_text("hướng A, làn 3")
    page.screenshot(path=str(Path(artifacts) / "wall-lanes-group.png"))

    # Filters: the traffic domain leaves the group only; the counts per severity follow the other filters.
    rows = page.locator("#alert-list > li")
    page.locator('#alert-filters [data-filter="domain"]').select_option("traffic")
    expect(rows).to_have_count(1)
    expect(page.locator("#alert-count")).to_have_text("3")
    expect(page.locator('#alert-filters .chip[data-severity="high"] .n')).to_have_text("3")
    expect(page.locator('#alert-filters .chip[data-severity="critical"] .n')).to_have_text("0")
    page.locator('#alert-filters .chip[data-severity="high"]').click()
    expect(rows).to_have_count(1)
    page.reload()  # kept in this browser
    without_popup(page)
    expect(page.locator('#alert-filters [data-filter="domain"]')).to_have_value("traffic")
    expect(page.locator('#alert-filters .chip[data-severity="high"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(rows).to_have_count(1)
    expect(page.locator("#alert-count")).to_have_text("3")
    page.locator('#alert-filters .chip[data-severity="high"]').click()
    page.locator('#alert-filters .chip[data-severity="critical"]').click()  # no critical traffic alert
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_text("Không có cảnh báo nào khớp bộ lọc")
    expect(page.locator("#alert-count")).to_have_text("0")
    page.locator('#alert-filters [data-action="reset-filter"]').click()
    expect(page.locator('#alert-list [data-group="traffic-jam|VIN-06-A"]')).to_be_visible()
    assert ERRORS == []


def test_details_pane_history_and_comment_clear_resolve_reopen_through_the_worker(
    wall: Wall, browser: Browser, artifacts: str
) -> None:
    # Hoàng Mai's river gauge above alert level 1 (2.0 m): a medium alert, no pop-up.
    wall.inject("environment", [gauge_levels("wl.hoang-mai", 1, T0, {"WL-HM-01": 2.5})])
    page = without_popup(open_wall(browser, wall, token("operator")))
    row = page.locator('#alert-list [data-alert^="flood-level:WL-HM-01:"]')
    expect(row).to_have_attribute("data-status", "raised", timeout=15_000)
    alert_id = row.get_attribute("data-alert")
    assert alert_id is not None
    row.click()
    details = page.locator("#alert-details")
    expect(details).to_have_attribute("data-alert", alert_id)
    steps = details.locator("tbody tr")
    expect(steps).to_have_count(1)
    expect(steps.nth(0)).to_contain_text("Phát cảnh báo")
    expect(steps.nth(0)).to_contain_text("system")
    expect(details.locator('[data-action="reopen"]')).to_have_count(0)  # only what the lifecycle allows
    expect(details.locator('[data-action="comment"]')).to_be_disabled()  # a comment needs words

    def act(action: str, comment: str, status: str, count: int) -> None:
        details.locator('[data-role="comment"]').fill(comment)
        details.locator(f'[data-action="{action}"]').click()
        expect(details).to_have_attribute("data-status", status, timeout=15_000)
        expect(steps).to_have_count(count)
        expect(steps.nth(count - 1)).to_contain_text("dev-operator")
        if comment:
            expect(steps.nth(count - 1)).to_contain_text(comment)

    act("comment", "Đã cử tổ tuần tra đến kiểm tra", "raised", 2)
    act("clear", "Báo động giả: phao đo bị rác kẹt", "cleared", 3)
    expect(steps.nth(2)).to_contain_text("Dừng cảnh báo")
    expect(row).to_have_attribute("data-status", "cleared")  # still on the list, greyed, until resolved
    page.reload()  # cleared alerts are not in the feed's snapshot: the page asks the REST API for them
    without_popup(page)
    expect(row).to_have_attribute("data-status", "cleared")
    row.click()
    act("reopen", "Nước vẫn dâng", "raised", 4)
    expect(steps.nth(3)).to_contain_text("Mở lại")
    act("resolve", "", "resolved", 5)
    expect(row).to_have_count(0)  # resolved: gone from the list, still in the pane, which offers reopen
    act("reopen", "Xử lý nhầm", "raised", 6)
    expect(row).to_have_attribute("data-status", "raised")
    page.screenshot(path=str(Path(artifacts) / "wall-alert-details.png"))

    # The worker applied every step: its own documents on the alerts topic say so, with who and why.
    docs = wall.alert_docs(alert_id, lambda docs: any(len(d["history"]) == 6 for d in docs))
    history = max(docs, key=lambda d: len(d["history"]))["history"]
    assert [(h["action"], h["by"], h.get("comment", "")) for h in history] == [
        ("raise", "system", "Water above alert level 1-3"),
        ("comment", "dev-operator", "Đã cử tổ tuần tra đến kiểm tra"),
        ("cleared", "dev-operator", "Báo động giả: phao đo bị rác kẹt"),
        ("raised", "dev-operator", "Nước vẫn dâng"),
        ("resolved", "dev-operator", ""),
        ("raised", "dev-operator", "Xử lý nhầm"),
    ]

    # The history tab: the incident history prefiltered to cleared and resolved alerts.
    with page.expect_request(lambda r: "/api/history/alerts?" in r.url) as asked:
        page.locator("#alert-tab-history").click()
    assert "status=cleared&status=resolved" in asked.value.url
    expect(page.locator("#history")).to_be_visible()
    expect(page.locator("#history-status")).to_have_value("cleared,resolved")
    expect(page.locator("#alert-tab-history")).to_have_attribute("aria-pressed", "true")
    page.locator("#alert-tab-open").click()
    expect(page.locator("#history")).to_be_hidden()
    assert ERRORS == []


def test_a_notice_again_when_the_attention_of_an_unacknowledged_alert_rises(
    start_module_services: StartServices, browser: Browser, artifacts: str
) -> None:
    # The wall server's own attention (web/attention.py) on the operators' clock: level 1 after
    # IOC_ATTENTION_AFTER_S unacknowledged, 2 after twice that; 3 s here. Started from a thread of its own
    # (Playwright's sync API owns this thread's event loop) that lives as long as the test: the processes
    # die with the thread that started them.
    pool = ThreadPoolExecutor(1)
    try:
        start = functools.partial(start_module_services, unique_namespace("attention"), "worker", "web")
        services = pool.submit(start, push_hz=4, attention_after_s=3).result()
        notices_as_attention_rises(Wall(services.settings, services.url("web")), browser, artifacts)
        services.assert_running()
    finally:
        pool.shutdown()


def notices_as_attention_rises(wall: Wall, browser: Browser, artifacts: str) -> None:
    wall.inject("environment", [gauge_levels("wl.vinh", 1, T0, {g: 0.0 for g in STREETS})])
    operator = without_popup(open_wall(browser, wall, token("operator")))
    viewer = open_wall(browser, wall, token("viewer"))
    wait_settled(viewer)
    # Water rising slowly to high (not critical), too slowly for the flood-rising rule: one alert.
    rise = [
        gauge_levels("wl.vinh", 2 + k, T0 + 40 * M * (k + 1), {"WL-VIN-LN": 0.15 * (k + 1)}) for k in range(3)
    ]
    wall.inject("environment", rise)
    row = '#alert-list [data-alert^="flood-level:WL-VIN-LN:"]'
    for page in (operator, viewer):
        expect(page.locator(row)).to_have_attribute("data-attention", "0", timeout=15_000)
    expect(operator.locator("#popup")).to_be_hidden()  # high, not critical: nothing yet
    expect(viewer.locator("#alert-banner")).to_be_hidden()

    # Unacknowledged for the period: the operators are told again; level 1 is not for the viewer.
    expect(operator.locator("#popup")).to_have_attribute("data-attention", "1", timeout=15_000)
    expect(operator.locator("#popup-title")).to_contain_text("CHƯA ĐƯỢC XÁC NHẬN SAU")
    expect(viewer.locator(row)).to_have_attribute("data-attention", "1")
    expect(viewer.locator("#alert-banner")).to_be_hidden()
    operator.locator("#popup-close").click()

    # Twice the period: everyone, the viewer's wall as a banner that blocks nothing.
    expect(operator.locator("#popup")).to_have_attribute("data-attention", "2", timeout=15_000)
    expect(operator.locator("#popup-title")).to_contain_text("KHẨN: CHƯA AI XÁC NHẬN SAU")
    expect(viewer.locator("#alert-banner")).to_be_visible()
    expect(viewer.locator("#alert-banner-title")).to_contain_text("KHẨN: CHƯA AI XÁC NHẬN SAU")
    viewer.screenshot(path=str(Path(artifacts) / "wall-attention-banner.png"))
    operator.reload()  # seen at this level: not again
    wait_settled(operator)
    expect(operator.locator("#popup")).to_be_hidden()
    # Acknowledged: attention is over on every wall.
    alert_id = operator.locator(row).first.get_attribute("data-alert")
    assert http_call("POST", f"{wall.url}/api/alerts/{alert_id}/acknowledge", "operator", {})[0] == 202
    expect(viewer.locator(row)).to_have_attribute("data-attention", "0", timeout=15_000)
    assert ERRORS == []
