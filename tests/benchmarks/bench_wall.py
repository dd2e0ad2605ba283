"""Websocket fan-out benchmark: N clients on `ioc web` (one process, or `--web-processes` sharing the port,
IOC_WEB_PROCESSES) receiving coalesced deltas at IOC_PUSH_HZ, with delivery latency p50/p99 and the delivered
fraction, next to a raw `websockets` broadcast server (one process) sending messages of the same size at the
same rate to the same number of clients.

    python -m tests.benchmarks.bench_wall [--clients 100 500 1000] [--seconds 15] [--client-procs 2]
                                          [--web-processes 1]

Feed: a fresh embedded broker; traffic aggregate documents (one sensor group, 8 lanes, new values each time)
are produced to `<ns>.aggregates` every 125 ms, so every push round has changes, as in a live run.
Latency = a client's receive time − the `server_time` the server stamped when it encoded the round (one
machine, one clock). Delivered = delta rounds received / (rounds pushed in the window × clients): a client
that fell behind and got a fresh snapshot instead of its backlog counts the skipped rounds as not delivered.
Each wall process numbers its own rounds, so a round is (process, push), the process from the handshake.
Clients run in `--client-procs` processes of their own so the measuring side is not the bottleneck (each
raises its open-files limit to the hard limit: 5,000 clients need a descriptor each). The wall's CPU share
is that of all its processes (1.0 = one CPU busy)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import secrets
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import websockets
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.server import broadcast, serve

from ioc import auth
from ioc.city import load_city
from ioc.kafka import ensure_topics, make_producer
from ioc.ops import procs
from ioc.ops.broker import EmbeddedBroker
from ioc.settings import Settings
from ioc.signing import load_keys
from ioc.topics import Topics

FEED_INTERVAL_S = 0.125
PROCESS_ROUNDS = 10_000_000  # round id = process id × this + push: every wall process numbers its own pushes


@dataclass
class Received:
    latencies_ms: np.ndarray  # of every message stamped inside the window
    rounds: np.ndarray  # the delta round (process, push) of each latency (-1 for a snapshot)
    pushes: list[set[int]]  # per client: delta rounds received from the window
    snapshots: int
    bytes: int
    connected: int


# --- clients (run in worker processes) -----------------------------------------------------------------
def run_clients(url: str, n: int, t_start: float, t_end: float) -> Received:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with contextlib.suppress(ImportError):
        import uvloop

        return uvloop.run(_clients(url, n, t_start, t_end))
    return asyncio.run(_clients(url, n, t_start, t_end))


async def _clients(url: str, n: int, t_start: float, t_end: float) -> Received:
    latencies: list[float] = []
    rounds: list[int] = []
    pushes: list[set[int]] = [set() for _ in range(n)]
    stats: Counter[str] = Counter()
    handshakes = asyncio.Semaphore(50)  # connect in waves, as walls come up, not 1000 handshakes at once

    async def one(k: int) -> None:
        async with handshakes:
            ws = await websockets.connect(url, max_size=None, compression=None, open_timeout=120)
        stats["connected"] += 1
        served_by = int(ws.response.headers.get("x-wall-process", "0")) if ws.response is not None else 0
        try:
            async for text in ws:
                now = time.time()
                msg = orjson.loads(text)
                stamped = msg["server_time"] / 1000
                if stamped > t_end:
                    break
                if stamped >= t_start:
                    latencies.append((now - stamped) * 1000)
                    push = served_by * PROCESS_ROUNDS + msg["push"] if "push" in msg else -1
                    rounds.append(push)
                    stats["bytes"] += len(text)
                    if msg["type"] == "delta":
                        pushes[k].add(push)
                    else:
                        stats["snapshots"] += 1
        finally:
            await ws.close()

    results = await asyncio.gather(*(one(k) for k in range(n)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        print(f"  {len(failures)} client(s) failed: {failures[0]!r}", file=sys.stderr)
    return Received(
        np.array(latencies), np.array(rounds), pushes, stats["snapshots"], stats["bytes"], stats["connected"]
    )


def measure(url: str, clients: int, client_procs: int, connect_s: float, seconds: float) -> Received:
    t_start = time.time() + connect_s
    t_end = t_start + seconds
    shares = [clients // client_procs + (k < clients % client_procs) for k in range(client_procs)]
    with ProcessPoolExecutor(client_procs) as pool:
        parts = list(pool.map(run_clients, [url] * client_procs, shares, [t_start] * client_procs,
                              [t_end] * client_procs))  # fmt: skip
    return Received(
        np.concatenate([p.latencies_ms for p in parts]),
        np.concatenate([p.rounds for p in parts]),
        [s for p in parts for s in p.pushes],
        sum(p.snapshots for p in parts),
        sum(p.bytes for p in parts),
        sum(p.connected for p in parts),
    )


def summarise(name: str, clients: int, got: Received, seconds: float) -> dict[str, Any]:
    expected, widest = expected_rounds(got.pushes, clients)
    delivered = sum(len(s) for s in got.pushes)
    lat = got.latencies_ms
    row = {
        "server": name,
        "clients": clients,
        "connected": got.connected,
        "rounds": widest,
        "rate_hz": widest / seconds,
        "p50_ms": float(np.percentile(lat, 50)) if len(lat) else float("nan"),
        "p99_ms": float(np.percentile(lat, 99)) if len(lat) else float("nan"),
        "max_ms": float(lat.max()) if len(lat) else float("nan"),
        "delivered": delivered / expected if expected else 0.0,
        "snapshots": got.snapshots,
        "msg_bytes": got.bytes / max(1, len(lat)),
        "slowest_rounds_ms": slowest_rounds(got),
    }
    print(
        f"  {name:<5} N={clients:<5} connected {row['connected']:>5}  {row['rate_hz']:.2f} rounds/s  "
        f"p50 {row['p50_ms']:6.1f} ms  p99 {row['p99_ms']:6.1f} ms  max {row['max_ms']:6.1f} ms  "
        f"delivered {row['delivered']:.4f}  resnapshots {got.snapshots}  ~{row['msg_bytes']:.0f} B/msg",
        flush=True,
    )
    print(f"        slowest rounds (last client's latency, ms): {row['slowest_rounds_ms']}")
    return row


def expected_rounds(pushes: list[set[int]], clients: int) -> tuple[int, int]:
    """Rounds the clients should have had, summed, and the most rounds one process pushed in the window:
    each client is owed every round its process pushed; a client that got none, the most any pushed."""
    spans: dict[int, tuple[int, int]] = {}
    members: Counter[int] = Counter()
    for got in pushes:
        if got:
            process = min(got) // PROCESS_ROUNDS
            members[process] += 1
            low, high = spans.get(process, (min(got), max(got)))
            spans[process] = (min(low, min(got)), max(high, max(got)))
    width = {p: high - low + 1 for p, (low, high) in spans.items()}
    widest = max(width.values(), default=0)
    silent = clients - sum(members.values())
    return sum(width[p] * members[p] for p in width) + silent * widest, widest


def slowest_rounds(got: Received, k: int = 5) -> list[float]:
    """The last delivery of each round, worst k: tells a slow round (a pause) from a slow client."""
    last = {int(r): float(got.latencies_ms[got.rounds == r].max()) for r in np.unique(got.rounds) if r >= 0}
    return sorted((round(v, 1) for v in last.values()), reverse=True)[:k]


# --- the feed: aggregates with changing values ------------------------------------------------------------
async def feed(settings: Settings, stop: asyncio.Event) -> None:
    city = load_city()
    groups: dict[str, list[str]] = {}
    for s in city.sensors_of("TrafficFlowObserved"):
        groups.setdefault(s.group, []).append(s.id)
    names = sorted(groups)
    rng = np.random.default_rng(7)
    producer = make_producer(settings, linger_ms=0)
    await producer.start()
    topic = Topics(settings.namespace).aggregates
    signer = load_keys(settings).document  # the wall shows only what the processors signed
    k = 0
    try:
        while not stop.is_set():
            group = names[k % len(names)]
            t = int(time.time() * 1000)
            lanes = groups[group]
            volumes, speeds = rng.integers(200, 1800, len(lanes)), rng.uniform(10, 50, len(lanes)).round(1)
            items = [
                {"id": lane, "t": t, "window_ms": 300_000, "volume_h": int(v), "vehicles": int(v // 12),
                 "speed": float(sp), "level": int(v > 1500), "congestion": "free"}
                for lane, v, sp in zip(lanes, volumes, speeds, strict=True)
            ]  # fmt: skip
            doc = {"v": 1, "kind": "traffic", "group": group, "window": [t, t + 300_000], "final": False,
                   "items": items}  # fmt: skip
            value, key = orjson.dumps(doc), group.encode()
            await producer.send_and_wait(topic, value, key=key, headers=signer.headers(topic, key, value))
            k += 1
            await asyncio.sleep(FEED_INTERVAL_S)
    finally:
        await producer.stop()


# --- the baseline: a bare websockets broadcast server ------------------------------------------------------
def raw_server(port: int, hz: float, size: int) -> None:
    async def main() -> None:
        conns: set[Any] = set()

        async def handler(ws: Any) -> None:
            conns.add(ws)
            try:
                await ws.wait_closed()
            finally:
                conns.discard(ws)

        async with serve(handler, "127.0.0.1", port, compression=None, max_size=None):
            push = 0
            loop = asyncio.get_running_loop()
            due = loop.time()
            while True:  # the same fixed cadence as the wall's hub
                due = max(due + 1 / hz, loop.time())
                await asyncio.sleep(due - loop.time())
                push += 1
                head = {"type": "delta", "push": push, "server_time": int(time.time() * 1000)}
                body = orjson.dumps({**head, "pad": "x" * max(0, size - 80)}).decode()
                broadcast(conns, body)

    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.run(main())
        return
    asyncio.run(main())


def direct_share(port: int) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    values = {f.name: sum(s.value for s in f.samples) for f in text_string_to_metric_families(text)}
    return values.get("ioc_web_direct_writes", 0.0) / max(1.0, values.get("ioc_web_messages", 0.0))


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its descendants (the wall's processes under `ioc web --processes`)."""
    total = 0.0
    for p in [pid, *procs.descendants(pid)]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def wait_processes(port: int, n: int, timeout: float = 120) -> None:
    """Until /health has answered from `n` distinct wall processes (each listens once it has started)."""
    seen: set[int] = set()

    def all_up() -> bool:
        with contextlib.suppress(OSError, ValueError):
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).read()
            seen.add(int(orjson.loads(body)["process"]))
        return len(seen) >= n

    procs.wait_for(all_up, timeout, 0.05, f"{n} wall server process(es)")


def main(clients: list[int], seconds: float, client_procs: int, push_hz: float, web_processes: int) -> None:
    print(f"websocket fan-out, {web_processes} wall server process(es), {push_hz:g} Hz, {seconds:g} s per "
          f"run, clients in {client_procs} processes, {os.cpu_count()} CPUs")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        broker = EmbeddedBroker("127.0.0.1", procs.free_port(), Path(tmp) / "broker.log").start()
        run = (seconds, client_procs, push_hz, web_processes, Path(tmp))
        try:
            rows = []
            for n in clients:
                rows += run_pair(broker.bootstrap, n, *run)
        finally:
            broker.stop()
    print("\nsummary (ratio = IOC wall p99 / raw websockets broadcast p99, same N, same message size)")
    for ioc_row, raw_row in zip(rows[::2], rows[1::2], strict=True):
        print(
            f"  N={ioc_row['clients']:<5} wall p50 {ioc_row['p50_ms']:.1f} ms p99 {ioc_row['p99_ms']:.1f} ms "
            f"delivered {ioc_row['delivered']:.4f} | raw p50 {raw_row['p50_ms']:.1f} ms p99 "
            f"{raw_row['p99_ms']:.1f} ms delivered {raw_row['delivered']:.4f} | p99 ratio "
            f"{ioc_row['p99_ms'] / raw_row['p99_ms']:.2f} | wall server CPU {ioc_row['cpu']:.0%}"
        )


def run_pair(
    bootstrap: str, n: int, seconds: float, client_procs: int, push_hz: float, web_processes: int, tmp: Path
) -> list[dict[str, Any]]:
    document_key, control_key = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    settings = Settings(
        bootstrap=bootstrap, namespace=f"wallbench{n}", document_key=document_key, control_key=control_key
    )
    asyncio.run(ensure_topics(settings, Topics(settings.namespace).layout(settings.partitions)))
    tokens = auth.dev_tokens()
    port = procs.free_port()
    env = procs.children_env(
        {"IOC_BOOTSTRAP": bootstrap, "IOC_NAMESPACE": settings.namespace, "IOC_WEB_PORT": str(port),
         "IOC_PUSH_HZ": str(push_hz), "IOC_TOKENS": tokens, "IOC_LOG_LEVEL": "warning",
         "IOC_DOCUMENT_KEY": document_key, "IOC_CONTROL_KEY": control_key,
         "IOC_WEB_PROCESSES": str(web_processes)}
    )  # fmt: skip
    server = procs.spawn([sys.executable, "-m", "ioc", "web"], tmp / f"web{n}.log", env)
    rows = []
    try:
        wait_processes(port, web_processes)
        connect_s = 5 + n / 100
        url = f"ws://127.0.0.1:{port}/ws?token={auth.token_of(tokens, 'viewer')}"
        got, cpu = with_feed(settings, lambda: measure(url, n, client_procs, connect_s, seconds), server.pid,
                             connect_s, seconds)  # fmt: skip
        rows.append({**summarise("wall", n, got, seconds), "cpu": cpu})
        # /metrics answers from one process: its own share, like the others' under the same load.
        print(f"        {direct_share(port):.0%} of deltas written straight onto the socket")
        size = int(rows[0]["msg_bytes"])
    finally:
        procs.stop(server)
    raw_port = procs.free_port()
    raw = procs.spawn(
        [sys.executable, "-m", "tests.benchmarks.bench_wall", "--raw-server", str(raw_port),
         "--push-hz", str(push_hz), "--bytes", str(size)], tmp / f"raw{n}.log", procs.children_env({}),
    )  # fmt: skip
    try:
        procs.wait_for(lambda: procs.port_open("127.0.0.1", raw_port), 30, 0.1, "the raw server")
        got = measure(f"ws://127.0.0.1:{raw_port}/", n, client_procs, 5 + n / 100, seconds)
        rows.append(summarise("raw", n, got, seconds))
    finally:
        procs.stop(raw)
    return rows


def with_feed(settings: Settings, run: Any, pid: int, connect_s: float, seconds: float) -> tuple[Any, float]:
    """Run `run()` (blocking) while the feed produces; return its result and the server's CPU share."""

    async def go() -> tuple[Any, float]:
        stop = asyncio.Event()
        producing = asyncio.create_task(feed(settings, stop))
        loop = asyncio.get_running_loop()
        measuring = loop.run_in_executor(None, run)
        await asyncio.sleep(connect_s)
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(seconds)
        cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
        result = await measuring
        stop.set()
        await producing
        return result, cpu

    return asyncio.run(go())


if __name__ == "__main__":
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--seconds", type=float, default=15.0, help="measurement window per run")
    parser.add_argument("--client-procs", type=int, default=2, help="processes the clients are spread over")
    parser.add_argument("--push-hz", type=float, default=4.0)
    parser.add_argument("--web-processes", type=int, default=1, help="wall server processes (SO_REUSEPORT)")
    parser.add_argument("--raw-server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bytes", type=int, default=2000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_server:
        raw_server(args.raw_server, args.push_hz, args.bytes)
    else:
        main(args.clients, args.seconds, args.client_procs, args.push_hz, args.web_processes)
