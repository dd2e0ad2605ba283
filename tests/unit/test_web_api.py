"""The wall's REST API in process (no broker): the vocabulary the page reads, a response schema for every
route, operator actions refused by the documents' lifecycle before anything reaches Kafka, and alerts served
with the wall's attention."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ioc.auth import dev_tokens, token_of
from ioc.contract import freshness
from ioc.contract.documents import action_refusal, vocabulary
from ioc.settings import Settings
from web.app import create_app

SPEC = dev_tokens()
ALERT_ID = "flood-level:WL-VIN-NVC:1000"


def alert(status: str) -> dict[str, Any]:
    history = [{"action": "raise", "by": "system", "at": 1000}]
    return {"v": 1, "kind": "alert", "id": ALERT_ID, "type": "Alert", "rule": "flood-level",
            "entity": "WL-VIN-NVC", "category": "naturalDisaster", "subCategory": "flood",
            "severity": "high", "dateIssued": 1000, "status": status, "history": history}  # fmt: skip


@pytest.fixture
def app() -> FastAPI:
    return create_app(Settings(tokens=SPEC))  # no lifespan here: the feed never starts


def call(
    app: FastAPI, method: str, path: str, role: str | None = "viewer", body: Any = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token_of(SPEC, role)}"} if role else {}

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://wall.local") as client:
            return await client.request(method, path, headers=headers, json=body)

    return asyncio.run(send())


def sent_actions(app: FastAPI) -> list[dict[str, Any]]:
    """Operator actions the routes would write to Kafka, captured instead."""
    sent: list[dict[str, Any]] = []

    async def send_action(action: dict[str, Any]) -> None:
        sent.append(action)

    app.state.wall.feed.send_action = send_action
    return sent


def test_the_vocabulary_is_the_kernels_for_any_reader(app: FastAPI) -> None:
    got = call(app, "GET", "/api/vocabulary")
    assert got.status_code == 200
    expected = {**vocabulary(), "freshness": freshness.vocabulary()}
    assert got.json() == json.loads(json.dumps(expected))
    assert call(app, "GET", "/api/vocabulary", role=None).status_code == 401


def test_every_route_declares_its_response_schema(app: FastAPI) -> None:
    spec = call(app, "GET", "/openapi.json", role=None).json()
    schemas = spec["components"]["schemas"]
    assert "WallAlert" in schemas and "Attention" in schemas and "Vocabulary" in schemas
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            ok = next(code for code in op["responses"] if code.startswith("2"))
            content = op["responses"][ok]["content"]
            if path == "/metrics":
                assert all(kind.startswith("text/plain") for kind in content)  # Prometheus exposition
                continue
            if path.endswith(".csv"):
                assert list(content) == ["text/csv"]  # an export, for a spreadsheet
                continue
            if path.endswith(".html"):
                assert list(content) == ["text/html"]  # a page to read and print
                assert {"401", "403"} <= set(op["responses"]), (method, path)
                continue
            ref = content["application/json"]["schema"].get("$ref", "")
            assert ref.removeprefix("#/components/schemas/") in schemas, (method, path)
            if path != "/health":
                assert {"401", "403"} <= set(op["responses"]), (method, path)  # who may not, and why


def test_an_action_the_lifecycle_refuses_is_a_409_with_the_kernels_reason(app: FastAPI) -> None:
    sent = sent_actions(app)
    app.state.wall.state.apply(alert("acknowledged"))
    got = call(app, "POST", f"/api/alerts/{ALERT_ID}/acknowledge", "operator", {})
    assert got.status_code == 409
    assert got.json()["detail"] == action_refusal("acknowledge", "acknowledged", ALERT_ID)
    resolved = alert("resolved")
    resolved["history"].append({"action": "resolve", "by": "op", "at": 2000})
    app.state.wall.state.apply(resolved)
    got = call(app, "POST", f"/api/alerts/{ALERT_ID}/comment", "operator", {"comment": "late"})
    assert (got.status_code, got.json()["detail"]) == (409, f"{ALERT_ID} is already resolved")
    assert sent == []  # nothing the worker would refuse reaches Kafka


def test_an_operator_resolves_an_alert_through_the_operator_actions_topic(app: FastAPI) -> None:
    sent = sent_actions(app)
    app.state.wall.state.apply(alert("acknowledged"))
    app.state.wall.state.sim_time_ms = 5000  # actions are stamped with the IOC's simulated time
    assert call(app, "POST", f"/api/alerts/{ALERT_ID}/resolve", "viewer", {}).status_code == 403
    got = call(app, "POST", f"/api/alerts/{ALERT_ID}/resolve", "operator", {"comment": "drained"})
    assert got.status_code == 202
    [action] = sent
    assert len(action.pop("id")) == 32 and abs(action.pop("sent_at") - time.time() * 1000) < 60_000
    assert action == {"alert": ALERT_ID, "action": "resolve", "by": "dev-operator", "role": "operator",
                      "source": "127.0.0.1", "at": 5000, "comment": "drained"}  # fmt: skip
    assert got.json()["accepted"] == {**action, "id": got.json()["accepted"]["id"],
                                      "sent_at": got.json()["accepted"]["sent_at"]}  # fmt: skip
    assert call(app, "POST", "/api/alerts/nope:x:1/resolve", "operator", {}).status_code == 404


def test_alerts_are_served_as_alert_documents_with_the_walls_attention(app: FastAPI) -> None:
    app.state.wall.state.apply(alert("raised"))
    listed = call(app, "GET", "/api/alerts?severity=high&status=raised").json()
    one = call(app, "GET", f"/api/alerts/{ALERT_ID}").json()
    attention = [listed["alerts"][0].pop("attention"), one.pop("attention")]  # each as of its own request
    assert listed["count"] == 1 and listed["alerts"] == [one]
    assert [(a["level"], a["notify"]) for a in attention] == [(0, ["operator"])] * 2
    assert 0 <= attention[0]["unacknowledged_s"] <= attention[1]["unacknowledged_s"] < 60
    assert (one["area"], one["domain"], one["history"][0]["action"]) == ("vinh", "environment", "raise")
    assert call(app, "GET", "/api/alerts?severity=dire").status_code == 422  # not a severity


def test_an_operator_clears_and_reopens_through_the_operator_actions_topic(app: FastAPI) -> None:
    sent = sent_actions(app)
    app.state.wall.state.apply(alert("acknowledged"))
    assert call(app, "POST", f"/api/alerts/{ALERT_ID}/clear", "viewer", {}).status_code == 403
    got = call(app, "POST", f"/api/alerts/{ALERT_ID}/clear", "operator", {"comment": "false alarm"})
    assert got.status_code == 202
    cleared = alert("cleared")
    cleared["history"].append({"action": "cleared", "by": "dev-operator", "at": 2000})
    app.state.wall.state.apply(cleared)  # as the worker publishes it
    got = call(app, "POST", f"/api/alerts/{ALERT_ID}/clear", "operator", {})
    assert (got.status_code, got.json()["detail"]) == (409, action_refusal("clear", "cleared", ALERT_ID))
    got = call(app, "POST", f"/api/alerts/{ALERT_ID}/reopen", "operator", {"comment": "back"})
    assert got.status_code == 202
    assert [(a["action"], a["comment"]) for a in sent] == [("clear", "false alarm"), ("reopen", "back")]


def test_a_resolved_alert_is_reopened_only_while_no_other_of_its_rule_and_entity_is_open(
    app: FastAPI,
) -> None:
    sent = sent_actions(app)
    resolved = alert("resolved")
    resolved["history"].append({"action": "resolved", "by": "op", "at": 2000})
    app.state.wall.state.apply(resolved)
    twin = {**alert("raised"), "id": "flood-level:WL-VIN-NVC:3000", "dateIssued": 3000}
    app.state.wall.state.apply(twin)
    got = call(app, "POST", f"/api/alerts/{ALERT_ID}/reopen", "operator", {})
    assert (got.status_code, got.json()["detail"]) == (
        409,
        f"{twin['id']} is open for the same rule and entity: act on that one",
    )
    assert call(app, "POST", f"/api/alerts/{twin['id']}/reopen", "operator", {}).status_code == 409  # raised
    twin["status"] = "resolved"
    twin["history"] = [*twin["history"], {"action": "resolved", "by": "op", "at": 4000}]
    app.state.wall.state.apply(twin)
    assert call(app, "POST", f"/api/alerts/{ALERT_ID}/reopen", "operator", {}).status_code == 202
    assert [(a["alert"], a["action"]) for a in sent] == [(ALERT_ID, "reopen")]
