"""`ioc web` as several processes on one port (IOC_WEB_PROCESSES), on the real broker with a real worker: the
kernel spreads connections over every process, each reads the topics itself, and the same records give every
process the same snapshot, before and after an operator acts through one of them; SIGTERM to the server stops
them all and frees the port; a process that dies is started again; `/metrics` from any process counts the
clients and messages of them all; `ioc up` runs the wall on the processes IOC_WEB_PROCESSES asks for and
stops them with the rest."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets

from ioc.clock import parse_start
from ioc.contract.documents import Kind
from ioc.net import port_free
from ioc.ops import procs
from ioc.settings import Settings
from ioc.topics import Topics
from tests.support.frames import street_levels
from tests.support.keys import token
from tests.support.records import produce
from tests.support.stack import Services, StartServices, alive, unique_namespace, up_children, up_env
from tests.support.wall import http_call, http_json, live_workers, metric

pytestmark = pytest.mark.integration
T0 = parse_start("2025-10-14T06:00")
GAUGE = "WL-VIN-NVC"
PROCESSES = 2
TRIES = 200  # connections made to meet every process: the kernel picks one per connection by its addresses


def snapshots_by_process(port: int) -> dict[int, dict[str, Any]]:
    """A snapshot from every wall process, told apart by the handshake's x-wall-process header."""

    async def one() -> tuple[int, dict[str, Any]]:
        url = f"ws://127.0.0.1:{port}/ws?token={token('viewer')}"
        async with websockets.connect(url, max_size=None) as ws:
            assert ws.response is not None
            snapshot = orjson.loads(await asyncio.wait_for(ws.recv(), 20))
            return int(ws.response.headers["x-wall-process"]), snapshot

    async def every() -> dict[int, dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        for _ in range(TRIES):
            pid, snapshot = await one()
            found.setdefault(pid, snapshot)
            if len(found) == PROCESSES:
                break
        return found

    return asyncio.run(every())


def comparable(snapshot: dict[str, Any]) -> dict[str, Any]:
    """What the records decide. Left out: when the message was encoded and how many changes this process
    counted (its own health verdicts among them), its own liveness verdict (judged on its own second), and
    an alert's unacknowledged seconds, which are as of the moment the process last pushed it."""
    items = []
    for item in snapshot["items"]:
        if item["kind"] == Kind.HEALTH:
            continue
        if "attention" in item:
            item = {
                **item,
                "attention": {k: v for k, v in item["attention"].items() if k != "unacknowledged_s"},
            }
        items.append(item)
    rest = {k: v for k, v in snapshot.items() if k not in ("server_time", "version", "items")}
    return {**rest, "items": sorted(items, key=lambda i: i["key"])}


def same_everywhere(port: int, want: Any, what: str, timeout: float = 40) -> dict[str, Any]:
    """Wait until every process serves the same snapshot and `want(snapshot)` holds; that snapshot."""
    seen: dict[int, dict[str, Any]] = {}

    def agree() -> bool:
        seen.clear()
        seen.update({pid: comparable(s) for pid, s in snapshots_by_process(port).items()})
        first = next(iter(seen.values()))
        return len(seen) == PROCESSES and all(s == first for s in seen.values()) and want(first)

    try:
        procs.wait_for(agree, timeout, 0.5, what)
    except TimeoutError:
        pytest.fail(f"{what}: the processes {sorted(seen)} serve {_differences(list(seen.values()))}")
    return next(iter(seen.values()))


def _differences(snapshots: list[dict[str, Any]]) -> str:
    if len(snapshots) < PROCESSES:
        return f"only {len(snapshots)} process(es) answered"
    a, b = ({i["key"]: i for i in s["items"]} for s in snapshots[:2])
    keys = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    rest = [k for k in snapshots[0] if k != "items" and snapshots[0][k] != snapshots[1].get(k)]
    return f"different items {[(k, a.get(k), b.get(k)) for k in keys[:3]]}, different fields {rest}"


def flood_alert(snapshot: dict[str, Any], status: str) -> bool:
    return any(
        i["kind"] == Kind.ALERT and i["entity"] == GAUGE and i["status"] == status for i in snapshot["items"]
    )


def children(services: Services) -> list[int]:
    return procs.descendants(services.procs["web"].pid)


def test_every_process_serves_and_the_same_records_give_the_same_snapshot(
    start_services: StartServices,
) -> None:
    services = start_services(unique_namespace("webprocs"), "worker", "web", web_processes=PROCESSES)
    port = services.port("web")
    assert len(children(services)) == PROCESSES
    raw = Topics(services.settings.namespace).raw("environment")
    asyncio.run(produce(services.settings, raw, [street_levels(1, T0, 0.45)]))  # a high flood alert

    # The alert goes out as its reading is judged, the area's KPIs on their own timer: either may come first.
    raised = same_everywhere(
        port,
        lambda s: flood_alert(s, "raised") and bool(s["trends"]),
        "the raised flood alert and KPIs everywhere",
    )
    assert set(snapshots_by_process(port)) == set(children(services))  # one snapshot from each process
    gauge = next(i for i in raised["items"] if i["key"] == f"{Kind.WATER}:{GAUGE}")
    assert gauge["currentLevel"] == 0.45  # the worker's aggregates too
    alert = next(i for i in raised["items"] if i["kind"] == Kind.ALERT)
    assert alert["attention"]["since"] is not None  # the same start of the count in every process

    # An operator acts through whichever process the request lands on; every process shows the result.
    url = services.url("web")
    assert http_call("POST", f"{url}/api/alerts/{alert['id']}/acknowledge", "operator", {})[0] == 202
    same_everywhere(port, lambda s: flood_alert(s, "acknowledged"), "the acknowledgement everywhere")
    services.assert_running()


def test_sigterm_stops_every_process_and_a_dead_one_is_started_again(start_services: StartServices) -> None:
    services = start_services(unique_namespace("webstop"), "web", web_processes=PROCESSES)
    port, server = services.port("web"), services.procs["web"]
    first = children(services)
    assert len(first) == PROCESSES
    pids = {http_json(f"{services.url('web')}/health")["process"] for _ in range(TRIES // 4)}
    assert pids == set(first)  # /health says which process answered

    os.kill(first[0], signal.SIGKILL)  # the server's child, not ours to reap: it notices and starts another

    def replaced() -> bool:
        now = children(services)
        return len(now) == PROCESSES and first[0] not in now and first[1] in now

    procs.wait_for(replaced, 30, 0.2, "a new wall process in place of the killed one")
    assert "exited with code -9" in services.log("web")

    running = children(services)
    server.send_signal(signal.SIGTERM)
    server.wait(30)
    assert all(not alive(pid) for pid in running), services.log("web")[-2000:]
    assert not procs.port_open("127.0.0.1", port) and port_free("127.0.0.1", port)


async def clients_and_snapshots(port: int) -> tuple[float, float]:
    """ioc_web_clients and the snapshots sent, each from one /metrics answer."""
    return (
        await asyncio.to_thread(metric, port, "ioc_web_clients"),
        await asyncio.to_thread(metric, port, "ioc_web_messages_total", type="snapshot"),
    )


def test_metrics_from_any_process_count_the_clients_of_every_process(start_services: StartServices) -> None:
    services = start_services(unique_namespace("webmetrics"), "web", web_processes=PROCESSES)
    port = services.port("web")

    async def scenario() -> None:
        clients: list[tuple[int, websockets.ClientConnection]] = []
        try:
            for _ in range(TRIES):
                ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws?token={token('viewer')}")
                await asyncio.wait_for(ws.recv(), 20)  # its snapshot: the process counts the client by now
                assert ws.response is not None
                clients.append((int(ws.response.headers["x-wall-process"]), ws))
                if len(clients) >= 6 and len({pid for pid, _ in clients}) == PROCESSES:
                    break
            held = Counter(pid for pid, _ in clients)
            assert len(held) == PROCESSES, held
            # The kernel picks the process of each scrape by its address: 50 scrapes reach both.
            for connected, snapshots in [await clients_and_snapshots(port) for _ in range(TRIES // 4)]:
                assert connected == len(clients), (connected, held)
                assert snapshots >= len(clients)

            # A process killed with its clients: they leave the count, what it sent stays in the totals.
            killed, survivor = list(held)
            os.kill(killed, signal.SIGKILL)
            await asyncio.to_thread(
                procs.wait_for, lambda: killed not in children(services), 30, 0.2, "the killed process gone"
            )
            await asyncio.to_thread(
                procs.wait_for,
                lambda: metric(port, "ioc_web_clients") == held[survivor],
                10,
                0.2,
                f"ioc_web_clients back to the survivor's {held[survivor]}",
            )
            for connected, snapshots in [await clients_and_snapshots(port) for _ in range(TRIES // 4)]:
                assert connected == held[survivor]
                assert snapshots >= len(clients)
        finally:
            for _, ws in clients:
                await ws.close()

    asyncio.run(scenario())


def test_ioc_up_runs_the_wall_on_the_processes_asked_for_and_stops_them(tmp_path: Path) -> None:
    env = up_env(tmp_path / "data", "upwebprocs", IOC_WEB_PROCESSES=str(PROCESSES), IOC_EMIT_INTERVAL_S="0.2")
    port = int(env["IOC_WEB_PORT"])
    up = procs.spawn([sys.executable, "-m", "ioc", "up", "--no-sim"], tmp_path / "up.log", env)
    try:
        url = f"http://127.0.0.1:{port}"
        procs.wait_for(lambda: live_workers(url, up) >= 1, 90, 0.3, "ioc up with a live worker")
        wall = up_children(up.pid)["web"]
        processes = procs.descendants(wall)
        assert len(processes) == PROCESSES
        settings = Settings(bootstrap=env["IOC_BOOTSTRAP"], namespace=env["IOC_NAMESPACE"])
        raw = Topics(settings.namespace).raw("environment")
        asyncio.run(produce(settings, raw, [street_levels(1, T0, 0.45)]))
        same_everywhere(port, lambda s: flood_alert(s, "raised"), "the raised flood alert in every process")
        assert set(snapshots_by_process(port)) == set(processes)
    finally:
        assert procs.stop(up, timeout=30) is not None
    assert not any(alive(pid) for pid in [wall, *processes]), (tmp_path / "up.log").read_text()[-2000:]
    assert port_free("127.0.0.1", port)
