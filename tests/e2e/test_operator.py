"""The wall as operators use it, in a real browser against a real broker, worker and web server: an injected
flood reading raises a critical alert that pops up with a sound for an operator and shows as a banner with a
sound for a viewer, an operator acknowledges and assigns it and a viewer cannot; the page follows a server
restart; Vietnamese and English labels.

The namespace is a replay namespace played at ×10, so the banner must read REPLAY ×10."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from ioc.clock import parse_start
from ioc.settings import Settings
from ioc.topics import Topics
from tests.support.frames import aq_frame, street_levels
from tests.support.keys import KEYS, token
from tests.support.page import run
from tests.support.records import produce, read_topic
from tests.support.stack import Services, StartServices, unique_namespace

pytestmark = pytest.mark.e2e
T0 = parse_start("2025-10-14T06:00")
GAUGE = "WL-VIN-NVC"
CRITICAL = "rgb(213, 0, 249)"  # SEVERITY_COLOUR.critical in map.js


@dataclass
class Wall:
    services: Services
    settings: Settings
    url: str

    def inject(self, records: list[tuple[bytes, bytes]]) -> None:
        run(produce(self.settings, Topics(self.settings.namespace).raw("environment"), records))


@pytest.fixture(scope="module")
def wall(start_module_services: StartServices) -> Iterator[Wall]:
    services = start_module_services(unique_namespace("replay-e2e"), "worker", "web", speed=10, push_hz=4)
    wall = Wall(services, services.settings, services.url("web"))
    vinh = ["AQ-VIN-01", "AQ-VIN-02", "AQ-VIN-03", "AQ-VIN-04"]
    wall.inject([(b"aq.vinh", aq_frame("aq.vinh", vinh, 1, T0, [20.0, 30.0, 40.0, 60.0]))])
    wall.inject([street_levels(1, T0, 0.05)])  # dry streets: the gauges are on the map, no alert
    yield wall
    services.assert_running()


def open_wall(browser: Browser, wall: Wall, role: str) -> tuple[Page, list[str]]:
    # One context per role: the page keeps its token in the context's local storage. Playwright's
    # wait_for_function runs its predicate through eval, which the wall's CSP forbids; the CSP itself is
    # enforced in tests/e2e/test_hostile.py.
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{wall.url}/?token={token(role)}")
    page.wait_for_function("window.__wall.snapshots >= 1 && window.__wall.items.has('water:WL-VIN-NVC')")
    assert "token" not in page.url  # taken out of the address bar once stored
    return page, errors


def test_critical_alert_pops_up_and_only_an_operator_acknowledges_it(
    wall: Wall, browser: Browser, artifacts: str
) -> None:
    operator, operator_errors = open_wall(browser, wall, "operator")
    viewer, viewer_errors = open_wall(browser, wall, "viewer")
    for page in (operator, viewer):
        expect(page.locator("#mode")).to_have_text("REPLAY ×10")
        expect(page.locator("#alert-count")).to_have_text("0")

    wall.inject([street_levels(2, T0 + 60_000, 0.75)])  # above alert level 3 (0.7 m): critical

    row = '#alert-list [data-alert^="flood-level:WL-VIN-NVC:"]'
    notices = ((operator, "#popup", "#popup-body"), (viewer, "#alert-banner", "#alert-banner-text"))
    for page, notice, text in notices:
        expect(page.locator(row)).to_have_attribute("data-severity", "critical", timeout=15_000)
        expect(page.locator(row)).to_have_attribute("data-status", "raised")
        expect(page.locator(notice)).to_be_visible()
        expect(page.locator(text)).to_contain_text("Ngập đường Nguyễn Văn Cừ")
        assert page.evaluate("window.__wall.sound.alarms") == 1
        marker = page.locator(f'[data-key="water:{GAUGE}"]')
        expect(marker).to_have_attribute("fill", "#d500f9")
        page.wait_for_function("window.__wall.trends.drawnMarkers.flood >= 1")  # on the flood trend chart
    operator.screenshot(path=str(Path(artifacts) / "wall-critical-alert.png"))

    # A viewer has no pop-up and no buttons, and the API refuses the viewer's token if the page is bypassed.
    expect(viewer.locator("#popup")).to_be_hidden()
    expect(viewer.locator(f"{row} [data-action]")).to_have_count(0)
    alert_id = viewer.locator(row).get_attribute("data-alert")
    refused = viewer.evaluate(
        """async (id) => (await fetch(`/api/alerts/${encodeURIComponent(id)}/acknowledge`, {method: "POST",
              body: "{}", headers: {Authorization: `Bearer ${localStorage.getItem("ioc.token")}`,
                                    "Content-Type": "application/json"}})).status""",
        alert_id,
    )
    assert refused == 403

    # The operator acknowledges from the pop-up; the new status comes back through Kafka to both walls.
    operator.locator("#popup-ack").click()
    for page in (operator, viewer):
        expect(page.locator(row)).to_have_attribute("data-status", "acknowledged", timeout=15_000)
        expect(page.locator("#popup")).to_be_hidden()
        expect(page.locator("#alert-banner")).to_be_hidden()

    # ... then assigns it from the alert panel.
    operator.locator(f'{row} [data-action="assign"]').click()
    operator.locator(f'{row} input[data-role="assignee"]').fill("Đội cứu hộ phường Vinh Phú")
    operator.locator(f'{row} [data-action="send-assign"]').click()
    for page in (operator, viewer):
        expect(page.locator(row)).to_have_attribute("data-status", "assigned", timeout=15_000)
        expect(page.locator(row)).to_contain_text("Đội cứu hộ phường Vinh Phú")
    history = viewer.evaluate("(id) => window.__wall.items.get('alert:' + id).history", alert_id)
    assert [(h["action"], h["by"]) for h in history] == [
        ("raise", "system"),
        ("acknowledged", "dev-operator"),
        ("assign", "dev-operator"),
    ]
    operator.screenshot(path=str(Path(artifacts) / "wall-operator.png"))
    assert operator_errors == [] and viewer_errors == []


def test_page_resnapshots_after_a_server_restart(wall: Wall, browser: Browser) -> None:
    page, errors = open_wall(browser, wall, "viewer")
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    wall.services.stop("web")
    expect(page.locator("#conn")).to_have_attribute("data-state", "closed", timeout=10_000)
    wall.services.start("web", "web")
    expect(page.locator("#conn")).to_have_attribute("data-state", "open", timeout=30_000)
    page.wait_for_function("window.__wall.snapshots >= 2 && window.__wall.items.has('water:WL-VIN-NVC')")
    assert errors == []


def test_english_toggle_relabels_the_wall(wall: Wall, browser: Browser) -> None:
    page, errors = open_wall(browser, wall, "viewer")
    expect(page.locator(".title strong")).to_have_text("Trung tâm điều hành thông minh Nghệ An")
    page.locator("#lang").click()
    expect(page.locator(".title strong")).to_have_text("Nghệ An Intelligent Operations Centre")
    expect(page.locator('[data-area="cua-lo"] [data-role="name"]')).to_have_text("Cửa Lò")  # diacritics kept
    expect(page.locator('[data-area="vinh"] [data-kpi="flood"] .label')).to_have_text("Flood")
    expect(page.locator("#role")).to_contain_text("Viewer")
    page.reload()  # the choice is remembered
    expect(page.locator(".title strong")).to_have_text("Nghệ An Intelligent Operations Centre")
    page.locator("#lang").click()
    expect(page.locator(".title strong")).to_have_text("Trung tâm điều hành thông minh Nghệ An")
    assert errors == []


def test_language_switched_before_the_city_arrives_draws_it_in_that_language(
    wall: Wall, browser: Browser
) -> None:
    # A tired operator clicks EN and the alerts' history tab while the page still loads: /api/city is
    # held back until after the clicks.
    page = browser.new_context(viewport={"width": 1920, "height": 1080}, bypass_csp=True).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    held: list[Route] = []
    page.route("**/api/city", lambda route: held.append(route))
    page.goto(f"{wall.url}/?token={token('viewer')}")
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the page never asked for /api/city"
    page.locator("#lang").click()
    page.locator("#alert-tab-history").click()
    expect(page.locator(".title strong")).to_have_text("Nghệ An Intelligent Operations Centre")
    held[0].continue_()
    page.wait_for_function("window.__wall.snapshots >= 1 && window.__wall.items.has('water:WL-VIN-NVC')")
    expect(page.locator('[data-area="vinh"] [data-kpi="flood"] .label')).to_have_text("Flood")
    assert errors == []


def test_the_banner_follows_the_replays_own_status(wall: Wall, browser: Browser, artifacts: str) -> None:
    page, errors = open_wall(browser, wall, "viewer")
    mode = page.locator("#mode")
    expect(mode).to_have_text("REPLAY ×10")  # no status from a replay yet: the configured speed
    topic = Topics(wall.settings.namespace).replay_status

    def status(speed: float | None, state: str, **more: Any) -> None:  # as the replay publishes it, signed
        doc = {"v": 1, "kind": "replay", "job": "e2e-job", "speed": speed, "state": state, "sim_ms": T0,
               "position": 0, "records": 1, "at": T0, **more}  # fmt: skip
        run(produce(wall.settings, topic, [(b"e2e-job", orjson.dumps(doc))], KEYS.control))

    span = {"sim_from": T0 - 3_600_000, "sim_to": T0 + 2 * 3_600_000}  # 05:00 .. 08:00 on 14/10/2025

    status(30, "paused", **span)
    expect(mode).to_have_text("REPLAY ×30 · TẠM DỪNG")
    expect(mode).to_have_attribute("data-state", "paused")
    expect(mode).to_have_attribute("title", re.compile("e2e-job"))
    expect(page.locator("#replay-controls")).to_be_hidden()  # a viewer does not steer

    # An engineer resumes and seeks from the wall: the commands land on the replay's control topic.
    engineer, engineer_errors = open_wall(browser, wall, "engineer")
    expect(engineer.locator("#replay-toggle")).to_have_text("▶ Tiếp tục")
    engineer.screenshot(path=str(Path(artifacts) / "wall-replay-engineer.png"))
    # The seek box is in Vietnam time, written the Vietnamese way, on the replay's clock, its span said.
    at = engineer.locator("#replay-at")
    expect(at).to_have_value(re.compile(r"^06:0\d 14/10/2025$"))  # the page's clock (×10 before the pause)
    expect(at).to_have_attribute("title", re.compile("từ 05:00 14/10/2025 đến 08:00 14/10/2025"))
    engineer.locator("#replay-toggle").click()
    for wrong, said in (("09:30 14/10/2025", "Ngoài bản ghi"), ("31/02/2025 06:30", "Không đọc được")):
        at.fill(wrong)
        engineer.locator("#replay-seek").click()
        expect(engineer.locator("#toast")).to_contain_text(said)  # refused on the page: nothing is sent
    at.fill("06:30 14/10/2025")
    at.press("Enter")
    control = Topics(wall.settings.namespace).replay_control
    sent = run(read_topic(wall.settings, control, lambda docs: len(docs) >= 2, 15))
    assert [(d["action"], d["job"], d["by"]) for d in sent] == [
        ("resume", "e2e-job", "dev-engineer"),
        ("seek", "e2e-job", "dev-engineer"),
    ]
    assert sent[1]["sim_ms"] == parse_start("2025-10-14T06:30")
    # The server refuses a seek outside the recording too, saying its span (a script, an old page).
    outside = engineer.evaluate(
        """async () => { const { api } = await import('/static/session.js');
           const body = JSON.stringify({ sim_ms: Date.parse('2025-10-14T09:30:00+07:00') });
           const r = await api('/api/replay/seek', { method: 'POST', body });
           return [r.status, (await r.json()).detail]; }"""
    )
    assert outside[0] == 422 and "is outside the recording: 2025-10-14T05:00:00+07:00" in outside[1], outside
    engineer.locator("#lang").click()
    expect(at).to_have_value(re.compile(r"^14/10/2025 \d\d:\d\d$"))  # the English way
    engineer.locator("#lang").click()
    assert engineer_errors == []
    status(None, "playing", **span)
    expect(mode).to_have_text("REPLAY max")
    status(None, "finished", **span)
    expect(mode).to_have_text("REPLAY max · KẾT THÚC")
    expect(engineer.locator("#replay-controls")).to_be_hidden()  # ended: nothing to steer
    status(None, "finished", stays=True, **span)  # `ioc replay --watch`: still seekable at its end
    expect(engineer.locator("#replay-controls")).to_be_visible()
    expect(engineer.locator("#replay-toggle")).to_be_hidden()
    assert errors == []
