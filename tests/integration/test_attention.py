"""Attention on the operators' clock, through a real worker and a real wall on the real broker: a flood alert
nobody acknowledges asks for more attention as wall-clock time passes (IOC_ATTENTION_AFTER_S = 2 s here),
on the websocket feed and on GET /api/alerts, while its signed document stays as the worker published it;
acknowledged, it asks for none however long it stays open."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest
import websockets

from ioc.clock import parse_start
from ioc.ops import procs
from ioc.topics import Topics
from tests.support.frames import street_levels
from tests.support.keys import token
from tests.support.records import produce
from tests.support.stack import StartServices, unique_namespace
from tests.support.wall import http_call

pytestmark = pytest.mark.integration
T0 = parse_start("2025-10-14T06:00")
GAUGE = "WL-VIN-NVC"
AFTER_S = 2.0


def flood_alert(url: str) -> dict[str, Any] | None:
    code, body = http_call("GET", f"{url}/api/alerts?entity={GAUGE}&rule=flood-level", "viewer")
    assert code == 200, body
    return next(iter(body["alerts"]), None)


def wait_for(url: str, what: str, pred: Any, timeout: float = 30) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def match() -> bool:
        alert = flood_alert(url)
        found.update(alert if alert is not None and pred(alert) else {})
        return bool(found)

    procs.wait_for(match, timeout, 0.1, what)
    return found


def test_an_unacknowledged_alert_asks_for_more_attention_until_acknowledged(
    start_services: StartServices,
) -> None:
    services = start_services(unique_namespace("attention"), "worker", "web", attention_after_s=AFTER_S)
    url, port = services.url("web"), services.port("web")
    feed: list[tuple[str, int, list[str]]] = []  # (status, level, notify) of the alert on the feed, in order

    async def watch(stop: asyncio.Event) -> None:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws?areas=vinh&token={token('viewer')}") as ws:
            while not stop.is_set():
                try:
                    message = orjson.loads(await asyncio.wait_for(ws.recv(), 0.2))
                except TimeoutError:
                    continue
                for item in message["items"]:
                    if item["kind"] == "alert" and item["entity"] == GAUGE:
                        attention = item["attention"]
                        feed.append((item["status"], attention["level"], attention["notify"]))

    async def fed(status_level: tuple[str, int]) -> None:
        deadline = time.monotonic() + 2 * AFTER_S  # levels are pushed as they are re-judged, each second
        while status_level not in [(status, level) for status, level, _ in feed]:
            assert time.monotonic() < deadline, f"{status_level} never came on the feed: {feed}"
            await asyncio.sleep(0.05)

    async def story() -> tuple[dict[str, Any], ...]:
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch(stop))
        topic = Topics(services.settings.namespace).raw("environment")
        await produce(services.settings, topic, [street_levels(1, T0, 0.45)])  # level 2: raised, high
        raised = await asyncio.to_thread(wait_for, url, "the raised alert", lambda a: a["status"] == "raised")
        levels = []
        for n in (1, 2):
            levels.append(
                await asyncio.to_thread(
                    wait_for, url, f"attention {n}", lambda a, n=n: a["attention"]["level"] == n, 4 * AFTER_S
                )
            )
            await fed(("raised", n))  # before the acknowledgement can overtake level 2's push
        code, _ = await asyncio.to_thread(
            http_call, "POST", f"{url}/api/alerts/{raised['id']}/acknowledge", "operator", {}
        )
        assert code == 202
        acked = await asyncio.to_thread(
            wait_for, url, "the acknowledgement", lambda a: a["status"] == "acknowledged"
        )
        await asyncio.sleep(2.5 * AFTER_S)  # long enough for two levels, were it still unacknowledged
        later = await asyncio.to_thread(flood_alert, url)
        await asyncio.sleep(0.5)  # the last pushes
        stop.set()
        await watcher
        assert later is not None
        return raised, *levels, acked, later

    started = time.monotonic()
    raised, one, two, acked, later = asyncio.run(story())
    services.assert_running()

    # REST: the level follows the wall-clock time the alert has stood unacknowledged.
    assert raised["attention"]["level"] == 0 and raised["attention"]["notify"] == ["operator"]
    assert AFTER_S <= one["attention"]["unacknowledged_s"] < 2 * AFTER_S + 1
    assert 2 * AFTER_S <= two["attention"]["unacknowledged_s"] < time.monotonic() - started
    assert two["attention"]["notify"] == ["operator", "engineer", "viewer"]  # the next roles are told
    assert one["attention"]["since"] == two["attention"]["since"] == raised["attention"]["since"]
    assert (one["severity"], two["severity"], len(two["history"])) == (
        "high",
        "high",
        1,
    )  # the document: as raised
    nothing: dict[str, Any] = {"level": 0, "unacknowledged_s": 0.0, "since": None, "notify": []}
    assert (
        acked["attention"] == nothing and later["attention"] == nothing and later["status"] == "acknowledged"
    )

    # The feed: each level pushed as it rose, then the acknowledged alert asking for none.
    steps = [entry for k, entry in enumerate(feed) if k == 0 or entry != feed[k - 1]]
    assert [(s, level) for s, level, _ in steps] == [
        ("raised", 0), ("raised", 1), ("raised", 2), ("acknowledged", 0)
    ]  # fmt: skip
    assert steps[2][2] == ["operator", "engineer", "viewer"] and steps[3][2] == []
