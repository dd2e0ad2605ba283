"""Nothing the feed carries can run in the page: HTML in every string field of every document the wall
shows (signed, as a compromised processor would send them), rendered in real Chromium under the wall's own
Content-Security-Policy (not bypassed here), with the map tooltip, the alert list, the alert banner, the
details pane and the replay banner on screen. No script runs, no element is injected, and the page itself
breaks no CSP rule."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.sync_api import Browser, Dialog

from ioc.topics import Topics
from tests.support.keys import KEYS, token
from tests.support.page import poll
from tests.support.records import produce
from tests.support.stack import StartServices, unique_namespace
from tests.support.wall import wait_http

pytestmark = pytest.mark.e2e
XSS = '<img src=x onerror="window.__xss=(window.__xss||0)+1"><script>window.__xss=1</script>'
SPY = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
"""


def hostile(value: Any) -> Any:
    """Every string in a document replaced by HTML (ids, kinds, types and times kept: the wall shows it)."""
    keep = {"kind", "type", "id", "entity", "area", "kpi", "key", "group"}
    if isinstance(value, dict):
        return {k: (v if k in keep else hostile(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [hostile(v) for v in value]
    return XSS if isinstance(value, str) else value


def documents(t: int) -> list[tuple[str, bytes, dict[str, Any]]]:
    site = {"AQ-VIN-01": "aqi", "WX-VIN-01": "weather", "WL-VIN-NVC": "water", "TD-VIN-01-A1": "traffic"}
    docs: list[tuple[str, bytes, dict[str, Any]]] = []
    for sensor, kind in site.items():
        item = {"id": sensor, "t": t, "aqi": 180, "band": 4, "dominant": "pm25", "status": "alert2",
                "currentLevel": 0.5, "temperature": 30.0, "windSpeed": 3.0, "relativeHumidity": 0.7,
                "precipitation": 1.0, "speed": 20.0, "volume_h": 900, "congestion": "jammed", "level": 5,
                "comment": "x"}  # fmt: skip
        docs.append(("aggregates", b"vinh", hostile({"v": 1, "kind": kind, "group": "g", "items": [item]})))
    cabinet = {"id": "LC-VIN-001", "t": t, "online": False, "lamps": 60, "lit": 0, "kw": 0.0, "faulty": 3}
    docs.append(
        ("aggregates", b"vinh", hostile({"v": 1, "kind": "lighting", "group": "vinh", "items": [cabinet]}))
    )
    kpi = {"id": "vinh:air", "area": "vinh", "kpi": "air", "name": "n", "unit": "u", "value": 180.0,
           "standing": "bad", "entities": 4}  # fmt: skip
    docs.append(("aggregates", b"vinh", hostile({"v": 1, "kind": "kpi", "group": "vinh", "items": [kpi]})))
    history = [{"action": "raise", "by": "system", "at": t, "comment": "c"},
               {"action": "comment", "by": "op", "at": t, "comment": "c"}]  # fmt: skip
    alert_id = f"flood-level:WL-VIN-NVC:{t}"
    alert: dict[str, Any] = {"v": 1, "kind": "alert", "id": alert_id, "type": "Alert", "rule": "r",
             "entity": "WL-VIN-NVC", "category": "c", "subCategory": "s", "severity": "critical",
             "dateIssued": t, "status": "raised", "assignee": "a", "escalations": 0,
             "history": history}  # fmt: skip
    hostile_alert = hostile(alert)
    hostile_alert.update(severity="critical", status="raised")  # so it pops up and lists
    docs.append(("alerts", alert_id.encode(), hostile_alert))
    status = {"v": 1, "kind": "replay", "job": "j", "speed": 10, "state": "playing", "sim_ms": t,
              "position": 0, "records": 1, "at": t}  # fmt: skip
    docs.append(("replay", b"j", hostile(status) | {"kind": "replay", "state": "paused", "speed": 10}))
    return [(topic, key, doc) for topic, key, doc in docs]


@pytest.fixture(scope="module")
def wall(start_module_services: StartServices) -> Iterator[tuple[str, Any]]:
    services = start_module_services(unique_namespace("replay-hostile"), "web")
    url = services.url("web")
    wait_http(f"{url}/docs", 30, services)
    yield url, services.settings


def publish(settings: Any, t: int) -> None:
    topics = Topics(settings.namespace)
    names = {"aggregates": topics.aggregates, "alerts": topics.alerts, "replay": topics.replay_status}

    async def send() -> None:
        for topic, key, doc in documents(t):
            signer = KEYS.control if topic == "replay" else KEYS.document
            await produce(settings, names[topic], [(key, orjson.dumps(doc))], signer)

    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
        pool.submit(asyncio.run, send()).result()


def test_html_in_every_field_never_runs(wall: tuple[str, Any], browser: Browser, artifacts: str) -> None:
    url, settings = wall
    context = browser.new_context(viewport={"width": 1920, "height": 1080})  # CSP enforced
    context.add_init_script(SPY)
    page = context.new_page()
    dialogs: list[str] = []

    def dialog(d: Dialog) -> None:
        dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/?token={token('engineer')}")
    poll(page, "window.__wall && window.__wall.snapshots >= 1")
    publish(settings, int(time.time() * 1000) - 60_000)
    poll(page, "[...window.__wall.items.keys()].some((k) => k.startsWith('alert:'))")
    poll(page, "document.querySelectorAll('#alert-list [data-alert]').length >= 1")
    poll(page, "!document.getElementById('alert-banner').hidden")  # an engineer's notice: the banner
    page.screenshot(path=str(Path(artifacts) / "wall-hostile-popup.png"))
    page.click("#alert-list [data-alert]")  # the details pane, with the history's hostile steps
    poll(page, "!document.getElementById('alert-details').hidden")
    page.click("#alert-banner-close")
    page.hover('[data-key="water:WL-VIN-NVC"]')  # the map tooltip that once took HTML
    poll(page, "!document.getElementById('map-tip').hidden")
    page.screenshot(path=str(Path(artifacts) / "wall-hostile.png"))
    text = page.evaluate("document.body.innerText")
    assert "<img src=x" in text  # shown, as text
    assert page.evaluate("window.__xss") is None
    assert (
        page.evaluate("document.querySelectorAll('[onerror], img[src=\"x\"], body script:not([src])').length")
        == 0
    )
    assert dialogs == []
    assert page.evaluate("window.__csp") == []  # the page's own scripts and styles keep to the policy
    assert errors == []
    context.close()
