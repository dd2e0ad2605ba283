"""The wall server against a real broker and a real worker: REST API and websocket guarded by tokens, roles
and Origin; an operator's acknowledgement goes through the operator-actions topic to the worker and comes back
on the alerts feed; a restarted server rebuilds its state from the topics; reconnecting clients get it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from ioc.clock import parse_start
from ioc.ops import procs
from ioc.settings import Settings
from ioc.topics import Topics
from tests.support.frames import street_levels
from tests.support.keys import KEYS, token
from tests.support.records import produce
from tests.support.stack import Services, StartServices, unique_namespace
from tests.support.wall import http_call, metric

pytestmark = pytest.mark.integration
T0 = parse_start("2025-10-14T06:00")
GAUGE = "WL-VIN-NVC"


@dataclass
class Wall:
    services: Services
    settings: Settings
    port: str
    alert_id: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def wait_alert(wall_url: str, want: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def match() -> bool:
        code, body = http_call("GET", f"{wall_url}/api/alerts?entity={GAUGE}", "viewer")
        assert code == 200, body
        hits = [a for a in body["alerts"] if want.items() <= a.items()]
        found.update(hits[0] if hits else {})
        return bool(hits)

    procs.wait_for(match, timeout, 0.1, f"an alert with {want}")
    return found


@pytest.fixture(scope="module")
def wall(start_module_services: StartServices) -> Iterator[Wall]:
    services = start_module_services(unique_namespace("wall"), "worker", "web")
    settings = services.settings
    topic = Topics(settings.namespace).raw("environment")
    asyncio.run(produce(settings, topic, [street_levels(1, T0, 0.45)]))  # alert level 2: high
    raised = wait_alert(services.url("web"), {"status": "raised", "rule": "flood-level"})
    yield Wall(services, settings, str(services.port("web")), raised["id"])
    services.assert_running()


def test_reads_need_a_token_and_actions_need_the_operator_role(wall: Wall) -> None:
    assert http_call("GET", f"{wall.url}/api/kpis")[0] == 401
    assert http_call("GET", f"{wall.url}/api/alerts")[0] == 401
    code, alert = http_call("GET", f"{wall.url}/api/alerts/{wall.alert_id}", "viewer")
    assert code == 200 and alert["area"] == "vinh" and alert["domain"] == "environment"
    ack = f"{wall.url}/api/alerts/{wall.alert_id}/acknowledge"
    assert http_call("POST", ack, None, {})[0] == 401
    assert http_call("POST", ack, "viewer", {})[0] == 403
    assert http_call("POST", ack, "engineer", {})[0] == 403
    assert http_call("POST", ack, "operator", {}, origin="http://evil.example")[0] == 403
    assert http_call("GET", f"{wall.url}/api/deadletter", "viewer")[0] == 403
    assert http_call("GET", f"{wall.url}/api/deadletter", "engineer")[0] == 200
    assert http_call("GET", f"{wall.url}/health")[0] == 200  # probes need no token
    code, me = http_call("GET", f"{wall.url}/api/me", "operator")
    assert me == {"name": "dev-operator", "role": "operator", "may_act": True, "may_engineer": False}
    assert metric(wall.port, "ioc_web_refused_total", reason="role") == 3  # viewer twice, engineer once
    assert metric(wall.port, "ioc_web_refused_total", reason="origin") == 1


def test_engineers_read_the_dead_letters_with_their_reasons(wall: Wall) -> None:
    topic = Topics(wall.settings.namespace).raw("environment")
    asyncio.run(produce(wall.settings, topic, [(b"wl.vinh", b"{not json")]))

    def letters() -> list[dict[str, Any]]:
        code, body = http_call("GET", f"{wall.url}/api/deadletter?reason=malformed_json", "engineer")
        assert code == 200, body
        return list(body["letters"])

    procs.wait_for(lambda: bool(letters()), 30, 0.2, "the malformed frame among the dead letters")
    [letter] = letters()
    assert letter["reason"] == "malformed_json" and letter["domain"] == "environment"


def test_openapi_documents_the_api(wall: Wall) -> None:
    code, spec = http_call("GET", f"{wall.url}/openapi.json")
    assert code == 200
    for path in (
        "/api/kpis",
        "/api/sensors",
        "/api/alerts",
        "/api/alerts/{alert_id}/acknowledge",
        "/api/alerts/{alert_id}/assign",
        "/api/alerts/{alert_id}/comment",
        "/health",
        "/metrics",
    ):
        assert path in spec["paths"], path


def test_sensors_show_the_gauge_in_alarm_with_its_alert(wall: Wall) -> None:
    code, body = http_call("GET", f"{wall.url}/api/sensors?area=vinh&type=FloodMonitoring", "viewer")
    assert code == 200
    by_id = {s["id"]: s for s in body["sensors"]}
    assert by_id[GAUGE]["state"] == "alarm" and by_id[GAUGE]["latest"]["currentLevel"] == 0.45
    assert by_id[GAUGE]["alert"]["severity"] == "high"
    assert by_id["WL-VIN-LN"]["alert"] is None and by_id["WL-VIN-LN"]["state"] == "ok"
    assert {s["area"] for s in body["sensors"]} == {"vinh"}


def test_operator_acknowledges_assigns_and_comments_through_kafka(wall: Wall) -> None:
    base = f"{wall.url}/api/alerts/{wall.alert_id}"
    code, sent = http_call("POST", f"{base}/acknowledge", "operator", {"comment": "đã nhận"})
    assert code == 202 and sent["accepted"]["by"] == "dev-operator"
    acked = wait_alert(wall.url, {"id": wall.alert_id, "status": "acknowledged"})
    assert acked["history"][-1]["by"] == "dev-operator" and acked["history"][-1]["comment"] == "đã nhận"
    assert http_call("POST", f"{base}/acknowledge", "operator", {})[0] == 409  # already acknowledged
    assert http_call("POST", f"{base}/assign", "operator", {"assignee": ""})[0] == 422
    assert http_call("POST", f"{base}/assign", "operator", {"assignee": "đội cứu hộ Vinh"})[0] == 202
    assigned = wait_alert(wall.url, {"id": wall.alert_id, "status": "assigned"})
    assert assigned["assignee"] == "đội cứu hộ Vinh"
    assert http_call("POST", f"{base}/comment", "operator", {"comment": "xe bơm đến"})[0] == 202
    procs.wait_for(
        lambda: http_call("GET", base, "viewer")[1]["history"][-1].get("comment") == "xe bơm đến",
        30,
        0.1,
        "the comment in the alert's history",
    )
    assert http_call("POST", f"{wall.url}/api/alerts/nope:x:1/acknowledge", "operator", {})[0] == 404
    assert metric(wall.port, "ioc_web_operator_actions_total", action="acknowledge") == 1


def test_websocket_needs_a_token_and_an_allowed_origin(wall: Wall) -> None:
    ws = f"ws://127.0.0.1:{wall.port}/ws"

    async def status_of(url: str, origin: str | None = None) -> int:
        try:
            async with websockets.connect(url, origin=origin):  # type: ignore[arg-type]
                return 101
        except InvalidStatus as err:
            return err.response.status_code

    async def scenario() -> tuple[int, int, int, int]:
        return (
            await status_of(ws),
            await status_of(f"{ws}?token=wrong-token-0123456789"),
            await status_of(f"{ws}?token={token('viewer')}", origin="http://evil.example"),
            await status_of(f"{ws}?token={token('viewer')}", origin=f"http://127.0.0.1:{wall.port}"),
        )

    assert asyncio.run(scenario()) == (403, 403, 403, 101)


def test_deltas_reach_a_real_client_in_order_written_straight_onto_the_socket(wall: Wall) -> None:
    url = f"ws://127.0.0.1:{wall.port}/ws?areas=hoang-mai&token={token('viewer')}"
    aggregates = Topics(wall.settings.namespace).aggregates

    def kpi(value: float) -> tuple[bytes, bytes]:
        item = {"id": "hoang-mai:air", "area": "hoang-mai", "kpi": "air", "value": value, "standing": "bad"}
        doc = {"v": 1, "kind": "kpi", "group": "hoang-mai", "items": [{**item, "entities": 2}]}
        return b"hoang-mai", orjson.dumps(doc)

    async def next_kpi(ws: Any) -> dict[str, Any]:
        while True:  # a change of the wall's health verdict may come in between: every client gets it
            msg = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
            msg["items"] = [i for i in msg["items"] if i["kind"] != "health"]
            if msg["items"] or msg["type"] == "snapshot":
                return msg

    async def scenario() -> list[dict[str, Any]]:
        async with websockets.connect(url) as ws:
            got = [await next_kpi(ws)]
            for value in (170.0, 180.0, 190.0):
                await produce(wall.settings, aggregates, [kpi(value)], KEYS.document)
                got.append(await next_kpi(ws))
            return got

    before = metric(wall.port, "ioc_web_direct_writes_total")
    msgs = asyncio.run(scenario())
    assert [m["type"] for m in msgs] == ["snapshot", "delta", "delta", "delta"]
    assert [m["items"][0]["value"] for m in msgs[1:]] == [170.0, 180.0, 190.0]
    pushes = [m["push"] for m in msgs[1:]]
    assert pushes == sorted(pushes) and len(set(pushes)) == 3
    assert metric(wall.port, "ioc_web_direct_writes_total") - before >= 3  # uvicorn's websockets: direct


def test_restarted_server_rebuilds_from_the_topics_and_clients_resnapshot(wall: Wall) -> None:
    url = f"ws://127.0.0.1:{wall.port}/ws?areas=vinh&token={token('viewer')}"

    async def first_message() -> dict[str, Any]:
        async with websockets.connect(url) as ws:
            msg: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
            return msg

    async def reconnect_after_restart() -> dict[str, Any]:
        async with websockets.connect(url) as ws:
            await asyncio.wait_for(ws.recv(), 10)
            wall.services.stop("web")
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
        wall.services.start("web", "web")
        for _ in range(100):  # what the page does: retry until the server is back
            try:
                return await first_message()
            except OSError:
                await asyncio.sleep(0.2)
        raise AssertionError("the restarted server never accepted the client")

    msg = asyncio.run(reconnect_after_restart())
    assert msg["type"] == "snapshot"
    alerts = [i for i in msg["items"] if i["kind"] == "alert"]
    assert [a["id"] for a in alerts] == [wall.alert_id]  # state rebuilt from the alerts topic
    assert any(i["key"] == f"water:{GAUGE}" and i["currentLevel"] == 0.45 for i in msg["items"])
