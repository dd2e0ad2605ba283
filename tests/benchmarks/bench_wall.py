"""Websocket fan-out benchmark: N clients on `ioc web` (one process, or `--web-processes` sharing the port,
IOC_WEB_PROCESSES) receiving coalesced deltas at IOC_PUSH_HZ, with delivery latency p50/p99 and the delivered
fraction, next to a raw `websockets` broadcast server (one process) sending the wall's own delta bytes (the
one captured in the wall's run nearest its mean size, its `server_time` and `push` set anew each round) at
the same rate to the same number of clients.

    python -m tests.benchmarks.bench_wall [--clients 100 500 1000] [--seconds 15] [--client-procs 2]
                                          [--web-processes 1] [--client-parse head|full]

Feed: a fresh embedded broker; traffic aggregate documents (one sensor group, 8 lanes, new values each time)
are produced to `<ns>.aggregates` every 125 ms, so every push round has changes, as in a live run.
Latency = a client's receive time − the `server_time` the server stamped when it encoded the round (one
machine, one clock). Delivered = delta rounds received / (rounds pushed in the window × clients): a client
that fell behind and got a fresh snapshot instead of its backlog counts the skipped rounds as not delivered.
Each wall process numbers its own rounds, so a round is (process, push), the process from the handshake.
Clients run in `--client-procs` processes of their own so the measuring side is not the bottleneck (each
raises its open-files limit to the hard limit: 5,000 clients need a descriptor each). The measuring clients
share this machine's CPUs with the servers, so what they do per message counts: by default a client reads
only a message's type, `server_time` and `push` from its head and tail; `--client-parse full` parses it
whole with orjson (as a browser would, on its own machine) and drops it at once. A client that kept each
parsed message until the next one came (as this bench's clients once did) took 1.2 CPUs for 5,000 clients
and turned a ~100 ms p99 into 310 ms. The CPU shares printed are of the window: the wall's (all its
processes; 1.0 = one CPU busy), the clients', the whole machine's and any the hypervisor stole."""

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
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
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
from tests.support.wall import wait_wall_processes

FEED_INTERVAL_S = 0.125
PARSES = {"head": "type, server_time and push only", "full": "whole messages (orjson)"}
PROCESS_ROUNDS = 10_000_000  # round id = process id × this + push: every wall process numbers its own pushes
SAMPLES = 100  # deltas each client process keeps, for the raw server's message


@dataclass
class Received:
    latencies_ms: np.ndarray  # of every message stamped inside the window
    rounds: np.ndarray  # the delta round (process, push) of each latency (-1 for a snapshot)
    pushes: list[set[int]]  # per client: delta rounds received from the window
    snapshots: int
    bytes: int
    connected: int
    clients_cpu: float = 0.0  # CPUs the client processes kept busy in the window (1.0 = one CPU)
    machine_cpu: float = 0.0  # CPUs the whole machine kept busy in the window
    stolen_cpu: float = 0.0  # CPUs the hypervisor took in the window (a shared virtual machine)
    samples: list[str] = field(default_factory=list)  # deltas as received: the raw server sends one


# --- clients (run in worker processes) -----------------------------------------------------------------
def run_clients(url: str, n: int, t_start: float, t_end: float, parse: str) -> Received:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with contextlib.suppress(ImportError):
        import uvloop

        return uvloop.run(_clients(url, n, t_start, t_end, parse))
    return asyncio.run(_clients(url, n, t_start, t_end, parse))


def head_of(text: str) -> tuple[str, int, int | None]:
    """(type, server_time, push) of a wall message read from its head and tail, not parsed whole: the hub
    writes `{"type":..,"version":..,"sim_time":..,"server_time":..,"mode":{..},"items":[..],..extra}`
    and a delta's last key is `push`."""
    kind = "delta" if text.startswith('{"type":"delta"') else "snapshot"
    at = text.index('"server_time":') + 14
    stamped = int(text[at : text.index(",", at)])
    push = None
    if kind == "delta":
        at = text.rindex('"push":') + 7
        push = int(text[at:-1])
    return kind, stamped, push


def head_parsed(text: str) -> tuple[str, int, int | None]:
    msg = orjson.loads(text)
    return msg["type"], msg["server_time"], msg.get("push")


async def _clients(url: str, n: int, t_start: float, t_end: float, parse: str) -> Received:
    read = head_parsed if parse == "full" else head_of
    latencies: list[float] = []
    rounds: list[int] = []
    pushes: list[set[int]] = [set() for _ in range(n)]
    stats: Counter[str] = Counter()
    samples: dict[int, str] = {}
    handshakes = asyncio.Semaphore(50)  # connect in waves, as walls come up, not 1000 handshakes at once

    async def one(k: int) -> None:
        async with handshakes:
            ws = await websockets.connect(url, max_size=None, compression=None, open_timeout=120)
        stats["connected"] += 1
        served_by = int(ws.response.headers.get("x-wall-process", "0")) if ws.response is not None else 0
        try:
            async for message in ws:
                now = time.time()
                text = message if isinstance(message, str) else message.decode()
                kind, stamped_ms, number = read(text)
                stamped = stamped_ms / 1000
                if stamped > t_end:
                    break
                if stamped >= t_start:
                    latencies.append((now - stamped) * 1000)
                    push = served_by * PROCESS_ROUNDS + number if number is not None else -1
                    rounds.append(push)
                    stats["bytes"] += len(text)
                    if kind == "delta":
                        pushes[k].add(push)
                        if len(samples) < SAMPLES:
                            samples.setdefault(push, text)  # one per round: every client gets each
                    else:
                        stats["snapshots"] += 1
        finally:
            await ws.close()

    async def cpu_in_window() -> float:
        await asyncio.sleep(max(0.0, t_start - time.time()))
        cpu0 = time.process_time()
        await asyncio.sleep(max(0.0, t_end - time.time()))
        return (time.process_time() - cpu0) / (t_end - t_start)

    cpu = asyncio.create_task(cpu_in_window())
    results = await asyncio.gather(*(one(k) for k in range(n)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        print(f"  {len(failures)} client(s) failed: {failures[0]!r}", file=sys.stderr)
    return Received(
        np.array(latencies), np.array(rounds), pushes, stats["snapshots"], stats["bytes"], stats["connected"],
        clients_cpu=await cpu, samples=list(samples.values()),
    )  # fmt: skip


def measure(
    url: str, clients: int, client_procs: int, connect_s: float, seconds: float, parse: str
) -> Received:
    t_start = time.time() + connect_s
    t_end = t_start + seconds
    shares = [clients // client_procs + (k < clients % client_procs) for k in range(client_procs)]
    with ProcessPoolExecutor(client_procs) as pool, ThreadPoolExecutor(1) as clock:
        machine = clock.submit(machine_cpu, t_start, t_end)
        parts = list(pool.map(run_clients, [url] * client_procs, shares, [t_start] * client_procs,
                              [t_end] * client_procs, [parse] * client_procs))  # fmt: skip
    return Received(
        np.concatenate([p.latencies_ms for p in parts]),
        np.concatenate([p.rounds for p in parts]),
        [s for p in parts for s in p.pushes],
        sum(p.snapshots for p in parts),
        sum(p.bytes for p in parts),
        sum(p.connected for p in parts),
        sum(p.clients_cpu for p in parts),
        *machine.result(),
        [text for p in parts for text in p.samples],
    )


def machine_cpu(t_start: float, t_end: float) -> tuple[float, float]:
    """(CPUs kept busy by all processes, CPUs taken by the hypervisor) between two wall-clock times, from
    /proc/stat: on a shared virtual machine stolen time slows every process without showing in their own."""

    def ticks() -> np.ndarray:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
        return np.array([int(x) for x in fields])  # user nice system idle iowait irq softirq steal

    time.sleep(max(0.0, t_start - time.time()))
    before = ticks()
    time.sleep(max(0.0, t_end - time.time()))
    spent = ticks() - before
    cpus, total = os.cpu_count() or 1, max(1, int(spent.sum()))
    busy = int(spent.sum() - spent[3] - spent[4] - spent[7])
    return cpus * busy / total, cpus * int(spent[7]) / total


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
    busy = f"clients {got.clients_cpu:.2f}, whole machine {got.machine_cpu:.2f} of {os.cpu_count()}"
    busy += f" (and {got.stolen_cpu:.2f} stolen by the hypervisor)"
    print(f"        CPUs busy in the window: {busy}")
    print(f"        slowest rounds (first, median, last client's latency, ms): {row['slowest_rounds_ms']}")
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


def slowest_rounds(got: Received, k: int = 5) -> list[tuple[float, float, float]]:
    """The worst k rounds by last delivery, each as (first, median, last) latency: a round whose first
    client is late was late leaving the server (a pause there); one whose first client is on time but whose
    last is late was slow to reach or be read by the clients."""
    rows = []
    for r in np.unique(got.rounds):
        if r >= 0:
            lat = got.latencies_ms[got.rounds == r]
            rows.append(
                (round(float(lat.min()), 1), round(float(np.median(lat)), 1), round(float(lat.max()), 1))
            )
    return sorted(rows, key=lambda row: row[2], reverse=True)[:k]


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
def raw_server(port: int, hz: float, template: Path) -> None:
    """Broadcast the wall's own delta bytes (its `server_time` and `push` set anew each round) with
    `websockets.broadcast`, at the wall's cadence."""
    text = template.read_text()
    at = text.index('"server_time":') + 14
    head, middle = text[:at], text[text.index(",", at) : text.rindex('"push":') + 7]

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
                broadcast(conns, f"{head}{int(time.time() * 1000)}{middle}{push}}}")

    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.run(main())
        return
    asyncio.run(main())


def direct_share(port: int) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    values = {f.name: sum(s.value for s in f.samples) for f in text_string_to_metric_families(text)}
    return values.get("ioc_web_direct_writes", 0.0) / max(1.0, values.get("ioc_web_messages", 0.0))


def main(
    clients: list[int], seconds: float, client_procs: int, push_hz: float, web_processes: int, parse: str
) -> None:
    print(f"websocket fan-out, {web_processes} wall server process(es), {push_hz:g} Hz, {seconds:g} s per "
          f"run, clients in {client_procs} processes reading {PARSES[parse]}, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        broker = EmbeddedBroker("127.0.0.1", procs.free_port(), Path(tmp) / "broker.log").start()
        run = (seconds, client_procs, push_hz, web_processes, parse, Path(tmp))
        try:
            rows = []
            for n in clients:
                rows += run_pair(broker.bootstrap, n, *run)
        finally:
            broker.stop()
    print("\nsummary (ratio = IOC wall p99 / raw websockets broadcast p99 of the same bytes, same N)")
    for ioc_row, raw_row in zip(rows[::2], rows[1::2], strict=True):
        print(
            f"  N={ioc_row['clients']:<5} wall p50 {ioc_row['p50_ms']:.1f} ms p99 {ioc_row['p99_ms']:.1f} ms "
            f"delivered {ioc_row['delivered']:.4f} | raw p50 {raw_row['p50_ms']:.1f} ms p99 "
            f"{raw_row['p99_ms']:.1f} ms delivered {raw_row['delivered']:.4f} | p99 ratio "
            f"{ioc_row['p99_ms'] / raw_row['p99_ms']:.2f} | wall server CPU {ioc_row['cpu']:.0%}"
        )


def run_pair(
    bootstrap: str,
    n: int,
    seconds: float,
    client_procs: int,
    push_hz: float,
    web_processes: int,
    parse: str,
    tmp: Path,
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
        wait_wall_processes(f"http://127.0.0.1:{port}/health", web_processes, 120)
        connect_s = 5 + n / 100
        url = f"ws://127.0.0.1:{port}/ws?token={auth.token_of(tokens, 'viewer')}"
        clients = (url, n, client_procs, connect_s, seconds, parse)
        got, cpu = with_feed(settings, lambda: measure(*clients), server.pid, connect_s, seconds)
        rows.append({**summarise("wall", n, got, seconds), "cpu": cpu})
        # /metrics answers from one process: its own share, like the others' under the same load.
        print(f"        {direct_share(port):.0%} of deltas written straight onto the socket")
        if not got.samples:
            raise RuntimeError(f"no delta reached the clients; see {tmp / f'web{n}.log'}")
        template = tmp / f"delta{n}.json"
        # Deltas differ in size round to round: the raw server sends the one nearest the wall's mean.
        template.write_text(min(got.samples, key=lambda text: abs(len(text) - rows[0]["msg_bytes"])))
    finally:
        procs.stop(server)
    raw_port = procs.free_port()
    raw = procs.spawn(
        [sys.executable, "-m", "tests.benchmarks.bench_wall", "--raw-server", str(raw_port),
         "--push-hz", str(push_hz), "--template", str(template)], tmp / f"raw{n}.log", procs.children_env({}),
    )  # fmt: skip
    try:
        procs.wait_for(lambda: procs.port_open("127.0.0.1", raw_port), 30, 0.1, "the raw server")
        got = measure(f"ws://127.0.0.1:{raw_port}/", n, client_procs, 5 + n / 100, seconds, parse)
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
        cpu0, t0 = procs.tree_cpu_s(pid), time.monotonic()
        await asyncio.sleep(seconds)
        cpu = (procs.tree_cpu_s(pid) - cpu0) / (time.monotonic() - t0)
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
    parser.add_argument(
        "--client-parse", choices=sorted(PARSES), default="head",
        help="what a measuring client reads of each message (default head: the least CPU taken from servers)",
    )  # fmt: skip
    parser.add_argument("--template", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_server:
        raw_server(args.raw_server, args.push_hz, args.template)
    else:
        main(
            args.clients, args.seconds, args.client_procs, args.push_hz, args.web_processes, args.client_parse
        )
