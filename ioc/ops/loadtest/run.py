"""`ioc loadtest`: the whole pipeline under a target rate. Starts broker, worker and wall in a namespace of
their own, drives `ioc simulate --rate/--ramp` (over several processes if asked), and watches both ends: the
worker's counters every second, and a websocket client on the wall timing each new reading from its sensor
time to its delivery. Then a raw aiokafka baseline on the same broker, and the report (loadtest.report)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import websockets
from prometheus_client.parser import text_string_to_metric_families

from ioc import auth
from ioc.contract.documents import TIMED_KINDS, WorkerMetric
from ioc.kafka import ensure_topics, make_producer
from ioc.latency import Histogram
from ioc.ops import procs
from ioc.ops.stack import Part, Stack
from ioc.settings import Settings
from ioc.topics import Topics

# Wall items whose `t` is the newest reading's sensor time (a traffic item's `t` is its window's start).
TIMED = frozenset(TIMED_KINDS)
SAMPLE_EVERY_S = 0.25  # the worker's counters: lag resolution
PROBE = b"ioc loadtest warm-up probe (not JSON on purpose)"


@dataclass
class Plan:
    rate: str | None
    ramp: str | None
    duration: str | None
    processes: int
    drain_s: float
    baseline_s: float


@dataclass
class WallWatch:
    """What the websocket client saw: per receive second, sensor-to-screen latency of new readings."""

    t0: float
    per_second: dict[int, Histogram] = field(default_factory=dict)
    messages: int = 0
    snapshots: int = 0
    missed_pushes: int = 0
    disconnects: int = 0
    _last_push: int | None = None
    _seen: dict[str, int] = field(default_factory=dict)

    def take(self, raw: str | bytes, now_ms: float) -> None:
        msg = orjson.loads(raw)
        self.messages += 1
        if msg.get("type") == "snapshot":
            self.snapshots += 1
            self._last_push = None
        push = msg.get("push")
        if isinstance(push, int):
            if self._last_push is not None and push > self._last_push + 1:
                self.missed_pushes += push - self._last_push - 1
            self._last_push = push
        fresh = []
        for item in msg.get("items", ()):
            t = item.get("t")
            if item.get("kind") in TIMED and isinstance(t, int) and t > self._seen.get(item["key"], 0):
                self._seen[item["key"]] = t
                if msg.get("type") == "delta":  # a snapshot's readings may be old: only deltas are timed
                    fresh.append(now_ms - t)
        if fresh:
            second = int(now_ms / 1000 - self.t0)
            self.per_second.setdefault(second, Histogram()).add(fresh)


class WallClient:
    """A viewer on the wall in a thread of its own, so the supervisor's polling never delays a receive."""

    def __init__(self, url: str, watch: WallWatch) -> None:
        self.url, self.watch = url, watch
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                async with websockets.connect(self.url, max_size=None, open_timeout=30) as ws:
                    while not self._stop.is_set():
                        with contextlib.suppress(TimeoutError):
                            raw = await asyncio.wait_for(ws.recv(), 0.5)
                            self.watch.take(raw, time.time() * 1000)
            except (OSError, websockets.WebSocketException):
                self.watch.disconnects += 1
                await asyncio.sleep(0.5)


@dataclass
class Sample:
    """The worker's counters at one moment."""

    unix: float
    accepted: float
    deadletter: dict[str, float]
    frames: float


def scrape(port: int) -> Sample | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return None
    accepted = frames = 0.0
    dead: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == WorkerMetric.READINGS_ACCEPTED:
                accepted += sample.value
            elif sample.name == WorkerMetric.FRAMES:
                frames += sample.value
            elif sample.name == WorkerMetric.DEADLETTER_READINGS:
                reason = sample.labels.get("reason", "?")
                dead[reason] = dead.get(reason, 0.0) + sample.value
    return Sample(time.time(), accepted, dead, frames)


def _warm_up(s: Settings, stack: Stack) -> None:
    """One unreadable probe on every raw partition, then wait for the worker to dead-letter them all: it has
    joined, been assigned every partition and looked up their checkpoints before the clock starts."""
    probes = len(Topics(s.namespace).all_raw()) * s.partitions
    settings = s.model_copy(update={"bootstrap": stack.env["IOC_BOOTSTRAP"]})

    async def send() -> None:
        producer = make_producer(settings)
        await producer.start()
        try:
            for topic in Topics(s.namespace).all_raw():
                for p in range(s.partitions):
                    await producer.send_and_wait(topic, PROBE, partition=p)
        finally:
            await producer.stop()

    asyncio.run(send())

    def seen() -> bool:
        stack.check_alive()
        x = scrape(s.worker_web_port)
        return x is not None and sum(x.deadletter.values()) >= probes

    procs.wait_for(seen, 90, 0.2, f"the worker dead-lettering {probes} warm-up probes")


def simulate_argv(plan: Plan, report: Path) -> list[str]:
    argv = procs.python_module("ioc", "simulate", "--start", "now", "--processes", str(plan.processes))
    argv += ["--rate", plan.rate] if plan.rate else ["--ramp", str(plan.ramp)]
    if plan.duration:
        argv += ["--duration", plan.duration]
    return [*argv, "--report", str(report)]


def run(s: Settings, plan: Plan, out: Path, embedded_broker: bool = True) -> dict[str, Any]:
    """Run the load test; return the raw figures (ioc.ops.loadtest.report turns them into the report)."""
    namespace = f"loadtest-{secrets.token_hex(3)}"
    tokens = s.tokens or auth.dev_tokens()
    s = s.model_copy(update={"namespace": namespace, "tokens": tokens})
    env = {"IOC_NAMESPACE": namespace, "IOC_TOKENS": tokens, "IOC_LOG_LEVEL": "warning"}
    worker = Part("worker", procs.python_module("ioc", "worker"))
    stack = Stack(s, [worker, Part("web", procs.python_module("ioc", "web"))], out / "logs", env=env)
    samples: list[Sample] = []
    sim: subprocess.Popen[bytes] | None = None
    try:
        stack.start(embedded_broker)
        stack.wait_web()
        procs.wait_for(lambda: scrape(s.worker_web_port) is not None, 60, 0.2, "the worker's metrics")
        _warm_up(s, stack)
        t0 = time.time()
        watch = WallWatch(t0)
        viewer = auth.token_of(tokens, "viewer")
        client = WallClient(f"ws://{s.web_host}:{s.web_port}/ws?token={viewer}", watch)
        client.start()
        sim_report = out / "simulators.json"
        sim_report.unlink(missing_ok=True)
        if (before := scrape(s.worker_web_port)) is not None:
            samples.append(before)  # the counters' zero: what the warm-up left
        sim = procs.spawn(simulate_argv(plan, sim_report), out / "logs" / "simulators.log", stack.env)
        _sample_while(sim, stack, samples, s.worker_web_port)
        produced = orjson.loads(sim_report.read_bytes()) if sim_report.exists() else {}
        total = float(produced.get("readings", 0))
        drained_at = _drain(stack, samples, s.worker_web_port, total, plan.drain_s)
        time.sleep(1.0)  # the wall's last pushes
        client.stop()
        baseline = asyncio.run(_baseline(s, stack.env["IOC_BOOTSTRAP"], produced, plan.baseline_s))
        stack.check_alive()
    finally:
        if sim is not None:
            procs.stop(sim)  # a failure elsewhere must not leave simulators sending
        stack.stop()
    return {
        "plan": plan.__dict__,
        "namespace": namespace,
        "t0": t0,
        "simulators": produced,
        "simulators_exit": sim.returncode,
        "samples": [s_.__dict__ for s_ in samples],
        "drained_at": drained_at,
        "wall": {
            "per_second": {str(k): h.to_json() for k, h in sorted(watch.per_second.items())},
            "messages": watch.messages,
            "snapshots": watch.snapshots,
            "missed_pushes": watch.missed_pushes,
            "disconnects": watch.disconnects,
        },
        "baseline": baseline,
        "timings": stack.timings,
    }


def _sample_while(sim: subprocess.Popen[bytes], stack: Stack, samples: list[Sample], port: int) -> None:
    """The worker's counters on a fixed 0.25 s grid while the simulators run."""
    while sim.poll() is None:
        stack.check_alive()
        if (x := scrape(port)) is not None:
            samples.append(x)
        time.sleep(SAMPLE_EVERY_S - time.time() % SAMPLE_EVERY_S)


def _drain(stack: Stack, samples: list[Sample], port: int, total: float, limit_s: float) -> float | None:
    """Keep sampling until the worker has taken in (or dead-lettered) every reading sent; when it did."""
    end = time.time() + limit_s
    while time.time() < end:
        x = scrape(port)
        if x is not None:
            samples.append(x)
            if x.accepted + sum(x.deadletter.values()) >= total:
                return x.unix
        stack.check_alive()
        time.sleep(0.25)
    return None


async def _baseline(s: Settings, bootstrap: str, produced: dict[str, Any], seconds: float) -> dict[str, Any]:
    """Raw aiokafka on the same broker: records of the run's mean frame size, in batches, as fast as it goes.
    The run's figures are quoted against it, as these machines are noisy."""
    frames, size = int(produced.get("frames", 0)), int(produced.get("bytes", 0))
    record = b"x" * max(64, size // max(frames, 1))
    settings = s.model_copy(update={"bootstrap": bootstrap})
    topic = f"{s.namespace}.baseline"
    await ensure_topics(settings, {topic: s.partitions})
    producer = make_producer(settings)
    await producer.start()
    sent, started = 0, time.perf_counter()
    try:
        while time.perf_counter() - started < seconds:
            futures = []
            for p in range(s.partitions):
                batch = producer.create_batch()
                while batch.append(key=None, value=record, timestamp=None) is not None:
                    sent += 1
                batch.close()
                futures.append(await producer.send_batch(batch, topic, partition=p))
            await asyncio.gather(*futures)
    finally:
        await producer.stop()
    elapsed = time.perf_counter() - started
    return {
        "records_per_s": round(sent / elapsed, 1),
        "mb_per_s": round(sent * len(record) / elapsed / 1e6, 2),
        "record_bytes": len(record),
        "seconds": round(elapsed, 2),
    }
