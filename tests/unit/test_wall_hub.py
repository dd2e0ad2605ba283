"""Wall state and websocket fan-out: coalesced deltas, subscriptions, bounded queues and resnapshots."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from websockets.frames import Frame, Opcode

from ioc.city import load_city
from tests.unit.test_wall_state import alert
from web.direct import _framed
from web.hub import Hub
from web.state import Subscription, WallState


def aqi_doc(station: str, aqi: int, t: int = 1000) -> dict[str, object]:
    return {
        "v": 1,
        "kind": "aqi",
        "group": "g",
        "hour": 0,
        "items": [{"id": station, "t": t, "aqi": aqi, "band": 2}],
    }


def test_state_coalesces_changes_per_entity() -> None:
    s = WallState(load_city())
    s.apply(aqi_doc("AQ-VIN-01", 60))
    s.apply(aqi_doc("AQ-VIN-01", 61))
    s.apply(aqi_doc("AQ-CL-01", 40))
    s.apply(aqi_doc("AQ-CL-01", 40))  # unchanged: not a change
    changes = s.take_changes()
    assert [(c["id"], c["aqi"]) for c in changes] == [("AQ-VIN-01", 61), ("AQ-CL-01", 40)]
    assert s.take_changes() == []
    assert s.areas_live() == {"vinh": 1, "cua-lo": 1, "hoang-mai": 0}


def test_unknown_sensors_and_kinds_are_ignored() -> None:
    s = WallState(load_city())
    assert s.apply(aqi_doc("NOT-A-STATION", 10)) == 0
    assert s.apply({"kind": "mystery", "items": [{"id": "AQ-VIN-01"}]}) == 0
    assert s.items == {}


def test_subscriptions_filter_snapshots_and_deltas() -> None:
    async def scenario() -> list[dict[str, Any]]:
        s = WallState(load_city())
        hub = Hub(s, push_hz=4, queue_size=8, mode=lambda: {"kind": "live"})
        got: list[str] = []

        async def send(text: str) -> None:
            got.append(text)

        s.apply(aqi_doc("AQ-VIN-01", 60))
        await hub.connect(send, Subscription.parse("cua-lo", None))
        s.apply(aqi_doc("AQ-VIN-01", 70))
        s.apply(aqi_doc("AQ-CL-01", 30))
        hub.push()
        await asyncio.sleep(0.01)
        return [orjson.loads(m) for m in got]

    msgs = asyncio.run(scenario())
    assert [m["type"] for m in msgs] == ["snapshot", "delta"]
    assert msgs[0]["items"] == []  # Vinh is not subscribed
    assert [i["id"] for i in msgs[1]["items"]] == ["AQ-CL-01"]


def test_slow_client_gets_a_fresh_snapshot_not_a_backlog() -> None:
    async def scenario() -> tuple[list[dict[str, Any]], int, int]:
        s = WallState(load_city())
        hub = Hub(s, push_hz=4, queue_size=3, mode=lambda: {"kind": "live"})
        release = asyncio.Event()
        got: list[str] = []

        async def stuck_send(text: str) -> None:
            await release.wait()
            got.append(text)

        client = await hub.connect(stuck_send, Subscription())
        await asyncio.sleep(0)  # the writer takes the first snapshot and blocks on send
        for k in range(20):
            s.apply(aqi_doc("AQ-VIN-01", k, t=k))
            hub.push()
        size = client.queue.qsize()
        release.set()
        await asyncio.sleep(0.05)
        return [orjson.loads(m) for m in got], size, client.resnapshots

    msgs, queued, resnapshots = asyncio.run(scenario())
    assert queued <= 3
    assert resnapshots >= 1
    assert msgs[-1]["items"][0]["aqi"] == 19  # the newest value arrives
    assert len(msgs) <= 5  # not one message per change


def test_deltas_go_straight_to_the_socket_unless_something_is_queued_before_them() -> None:
    async def scenario() -> tuple[list[str], list[bytes], int]:
        s = WallState(load_city())
        hub = Hub(s, push_hz=4, queue_size=4, mode=lambda: {"kind": "live"})
        sent: list[str] = []
        written: list[bytes] = []
        release = asyncio.Event()

        async def send(text: str) -> None:  # the awaited path: the snapshot waits here until released
            await release.wait()
            sent.append(text)

        def write_now(data: bytes) -> bool:
            written.append(data)
            return True

        client = await hub.connect(send, Subscription(), write_now)
        await asyncio.sleep(0)  # the writer is now busy sending the snapshot
        s.apply(aqi_doc("AQ-VIN-01", 1))
        hub.push()  # must queue behind the snapshot, not overtake it
        assert written == [] and client.queue.qsize() == 1
        release.set()
        await asyncio.sleep(0.01)
        s.apply(aqi_doc("AQ-VIN-01", 2))
        hub.push()  # nothing queued, writer idle: straight onto the socket
        return sent, written, client.resnapshots

    sent, written, resnapshots = asyncio.run(scenario())
    assert [orjson.loads(m)["type"] for m in sent] == ["snapshot", "delta"]
    assert [orjson.loads(m)["items"][0]["aqi"] for m in sent[1:] + written] == [1, 2]
    assert [orjson.loads(m)["push"] for m in sent[1:] + written] == [1, 2]
    assert resnapshots == 0


def test_a_full_socket_buffer_makes_a_slow_client_resnapshot() -> None:
    async def scenario() -> tuple[list[dict[str, Any]], int]:
        s = WallState(load_city())
        hub = Hub(s, push_hz=4, queue_size=4, mode=lambda: {"kind": "live"})
        sent: list[str] = []

        async def send(text: str) -> None:
            sent.append(text)

        client = await hub.connect(send, Subscription(), lambda data: False)  # buffer always full
        await asyncio.sleep(0.01)
        s.apply(aqi_doc("AQ-VIN-01", 7))
        hub.push()
        await asyncio.sleep(0.01)
        return [orjson.loads(m) for m in sent], client.resnapshots

    msgs, resnapshots = asyncio.run(scenario())
    assert resnapshots == 1
    assert [m["type"] for m in msgs] == ["snapshot", "snapshot"]
    assert msgs[-1]["items"][0]["aqi"] == 7  # the fresh snapshot holds what the delta would have


def test_the_hub_pushes_on_change_at_most_push_hz_and_a_critical_alert_at_once() -> None:
    async def scenario() -> dict[str, Any]:
        s = WallState(load_city())
        hub = Hub(s, push_hz=5, queue_size=8, mode=lambda: {"kind": "live"})  # a slot every 0.2 s
        loop = asyncio.get_running_loop()
        got: list[tuple[float, dict[str, Any]]] = []

        async def send(text: str) -> None:
            got.append((loop.time(), orjson.loads(text)))

        await hub.connect(send, Subscription.parse(None, None))
        runner = asyncio.create_task(hub.run())
        await asyncio.sleep(0.3)
        idle = hub.pushes  # nothing changed: nothing pushed
        t0 = loop.time()
        s.apply(aqi_doc("AQ-VIN-01", 60))
        await asyncio.sleep(0.05)
        first = hub.pushes  # pushed at once, not at a timer's next tick
        s.apply(aqi_doc("AQ-VIN-01", 61))
        await asyncio.sleep(0.05)
        held = hub.pushes  # within the slot: waits
        s.apply(alert("WL-VIN-PDC", "raised", severity="critical"))
        await asyncio.sleep(0.03)
        critical = hub.pushes  # at once, slot or not
        await asyncio.sleep(0.4)
        runner.cancel()
        deltas = [(t - t0, m) for t, m in got if m["type"] == "delta"]
        return {"idle": idle, "first": first, "held": held, "critical": critical, "deltas": deltas}

    r = asyncio.run(scenario())
    assert (r["idle"], r["first"], r["held"], r["critical"]) == (0, 1, 1, 2)
    deltas = r["deltas"]
    assert [[i["kind"] for i in m["items"]] for _, m in deltas] == [["aqi"], ["aqi", "alert"]]
    assert deltas[0][0] < 0.05 and deltas[1][0] < 0.2  # both before the first slot's end
    assert deltas[1][1]["items"][0]["aqi"] == 61  # coalesced with the critical alert's push


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 300_000])
def test_a_rounds_frame_is_the_frame_websockets_writes(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    assert _framed(data) == Frame(Opcode.TEXT, data).serialize(mask=False)
    assert _framed(data) is _framed(data)  # made once for every client of the round
