"""Only the processors can publish what the wall shows, and the wall's HTTP side refuses what it must:
forged, copied and replayed records on every topic the worker or the wall reads, and hostile requests."""

from __future__ import annotations

import asyncio
import socket
import time
import urllib.error
import urllib.request
from typing import Any

import orjson
import pytest

from ioc.kafka import read_all
from ioc.ops import procs
from ioc.signing import Signer
from ioc.topics import Topics
from ioc.trusted_time import Declaration
from tests.chaos.conftest import Stack, record
from tests.chaos.device import Device, frame, minute_now
from tests.support.frames import street_levels
from tests.support.keys import KEYS, token
from tests.support.records import produce
from tests.support.wall import http_call, http_json, metric

pytestmark = pytest.mark.chaos
XSS = '<img src=x onerror="window.__xss=1">'


def refused_by_wall(stack: Stack) -> float:
    return metric(stack.web.rsplit(":", 1)[1], "ioc_web_feed_refused_total")


def forged_alert(alert_id: str = "flood-level:WL-VIN-NVC:1") -> dict[str, Any]:
    return {"v": 1, "kind": "alert", "id": alert_id, "type": "Alert", "rule": XSS, "entity": "WL-VIN-NVC",
            "category": "naturalDisaster", "subCategory": "flood", "severity": "critical",
            "dateIssued": minute_now(), "status": "raised", "assignee": None, "escalations": 0,
            "history": [{"action": "raise", "by": "system", "at": minute_now()}]}  # fmt: skip


def test_forged_and_copied_records_never_reach_the_wall(stack: Stack) -> None:
    topics = Topics(stack.settings.namespace)
    before = refused_by_wall(stack)
    copied = Signer(KEYS.document.key)  # the real key, but the record was signed for another namespace

    async def forge() -> None:
        alert = orjson.dumps(forged_alert())
        await produce(stack.settings, topics.alerts, [(b"flood-level:WL-VIN-NVC:1", alert)])  # unsigned
        await produce(stack.settings, topics.alerts, [(b"x", alert)], Signer(b"someone-elses-key-123"))
        other = Topics("replay-elsewhere").alerts
        headers = copied.headers(other, b"x", alert)
        # Signed for replay-elsewhere.alerts, copied here: the MAC names the topic, so it fails.
        await produce_with_headers(stack, topics.alerts, b"x", alert, headers)
        beat = {"v": 1, "kind": "worker", "id": "forger", "at": int(time.time() * 1000), "partitions": {}}
        await produce(stack.settings, topics.workers, [(b"forger", orjson.dumps(beat))])
        status = {"v": 1, "kind": "replay", "job": "forged", "speed": 1000, "state": "playing"}
        await produce(stack.settings, topics.replay_status, [(b"forged", orjson.dumps(status))])

    asyncio.run(forge())
    procs.wait_for(lambda: refused_by_wall(stack) - before >= 4, 20, 0.2, "the wall refusing the forgeries")
    alerts = http_json(f"{stack.web}/api/alerts", role="viewer")
    assert alerts["count"] == 0  # nothing forged is listed, let alone popped up
    letters = http_json(f"{stack.web}/api/deadletter?reason=unauthenticated&limit=50", role="engineer")
    assert any(x.get("by") == "wall" and x["source"]["topic"] == topics.alerts for x in letters["letters"])
    record("forged, copied and foreign-key records", "3 alerts, 1 heartbeat, 1 replay status",
           "unsigned, wrong key, signed for another namespace", 0, 0)  # fmt: skip


async def produce_with_headers(stack: Stack, topic: str, key: bytes, value: bytes, headers: Any) -> None:
    from ioc.kafka import make_producer

    producer = make_producer(stack.settings, linger_ms=0)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=list(headers))
    finally:
        await producer.stop()


def test_an_old_copy_of_a_genuine_alert_cannot_roll_it_back(stack: Stack) -> None:
    """A genuine alert is acknowledged; its first (raised) record, signed and all, is published again: the
    wall keeps the acknowledged one, and so does a worker taking the area over."""
    topics = Topics(stack.settings.namespace)
    asyncio.run(produce(stack.settings, topics.raw("environment"), [street_levels(7, minute_now(), 0.45)]))

    def raised() -> list[dict[str, Any]]:
        found = http_json(f"{stack.web}/api/alerts?rule=flood-level&entity=WL-VIN-NVC", role="viewer")[
            "alerts"
        ]
        return [a for a in found if a["status"] in ("raised", "acknowledged")]

    procs.wait_for(lambda: bool(raised()), 30, 0.2, "a genuine flood alert")
    alert = raised()[0]
    origin = stack.web
    status, _ = http_call("POST", f"{stack.web}/api/alerts/{alert['id']}/acknowledge", "operator", {}, origin)
    assert status == 202
    procs.wait_for(lambda: raised()[0]["status"] == "acknowledged", 20, 0.2, "the acknowledgement")
    records = asyncio.run(read_all(stack.settings, topics.alerts))
    first = next(r for r in records if r.key == alert["id"].encode())  # the raised version, signed
    asyncio.run(produce_with_headers(stack, topics.alerts, first.key, first.value, first.headers))
    time.sleep(1.0)
    assert raised()[0]["status"] == "acknowledged"


def test_a_forged_clock_cannot_let_the_future_in(stack: Stack) -> None:
    topics = Topics(stack.settings.namespace)
    year = 365 * 86_400_000
    now = int(time.time() * 1000)
    forged = Declaration("forger", now + 2 * year, now, 1.0)
    asyncio.run(produce(stack.settings, topics.clock, [(b"forger", forged.document())]))  # unsigned
    future0 = stack.letters("future")
    device = Device(stack.broker.bootstrap, stack.settings.namespace, partitioner="murmur2_random")
    device.send("environment", [("wl.cua-lo", frame("FloodMonitoring", "wl.cua-lo", 1, now + year))])
    procs.wait_for(lambda: stack.letters("future") > future0, 20, 0.2, "the reading refused as future")
    record(
        "forged clock declaration",
        "1 declaration + 1 reading at +1 year",
        "unsigned clock 2 years ahead",
        0,
        0,
    )


def _request(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> Any:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _big_body(stack: Stack, headers: dict[str, str], chunked: bool) -> int:
    """POST 20 MB (declared, or chunked without a length) and return the status the server answers with,
    reading the answer as soon as it comes (a server that refuses early closes before the body ends)."""
    host, port = stack.web.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        lines = ["POST /api/alerts/x/comment HTTP/1.1", f"Host: {host}:{port}",
                 *(f"{k}: {v}" for k, v in headers.items())]  # fmt: skip
        lines.append("Transfer-Encoding: chunked" if chunked else "Content-Length: 20000000")
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        chunk = b"x" * 65536
        try:
            for _ in range(20_000_000 // len(chunk)):
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
        except OSError:
            pass  # the server answered and closed: the rest was never read
        reply = s.recv(4096)
    return int(reply.split(b" ", 2)[1])


def test_http_refuses_big_bodies_tokens_in_urls_and_echoes_nothing(stack: Stack) -> None:
    auth = {"Authorization": f"Bearer {token('operator')}", "Content-Type": "application/json",
            "Origin": stack.web}  # fmt: skip
    started = time.monotonic()
    assert _big_body(stack, auth, chunked=False) == 413  # refused on its declared length, before any body
    took = time.monotonic() - started
    assert _big_body(stack, auth, chunked=True) == 413  # a body that does not say its length: cut off
    status, _, body = _request(
        f"{stack.web}/api/alerts/x/assign", "POST", orjson.dumps({"assignee": ["x" * 30_000]}), auth
    )
    assert status == 422 and b"xxxxxxxxxx" not in body  # says what is wrong, echoes nothing
    status, headers, _ = _request(f"{stack.web}/")
    assert status == 200
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    status, _, _ = _request(f"{stack.web}/api/alerts?token={token('viewer')}")
    assert status == 401  # a token in a REST URL ends up in logs: refused
    status, _, _ = _request(f"{stack.web}/api/alerts", headers={"Authorization": f"Bearer {token('viewer')}"})
    assert status == 200
    record(
        "hostile HTTP", f"20 MB body (413 in {took:.2f} s), 30 KB invalid body, ?token= on REST", "–", 0, 0
    )
