"""`ioc loadtest`: the whole pipeline under a target rate. Starts broker, worker and wall in a namespace of
their own, drives `ioc simulate --rate/--ramp` (over several processes if asked), and watches both ends: the
worker's counters every 0.25 s, and a websocket client on the wall timing each new reading from its sensor
time to its delivery; a line on the console each second. Then a raw aiokafka baseline on the same broker.

SIGINT (Ctrl-C) and SIGTERM stop it early, once (a second is ignored while it stops): the simulators are asked
to stop and report, the stack is stopped, and what was measured goes into a partial report. A part that fails
ends the run the same way, its last error line on the console."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
import websockets
from prometheus_client.parser import text_string_to_metric_families

from ioc import auth
from ioc.contract.documents import TIMED_KINDS, WorkerMetric
from ioc.kafka import ensure_topics, make_producer
from ioc.latency import Histogram, merged
from ioc.ops import procs
from ioc.ops.broker import BrokerError
from ioc.ops.loadtest import metadata
from ioc.ops.loadtest.report import domain_of_kind, shards_of, taken_of
from ioc.ops.stack import Part, Stack, StackError
from ioc.rate import RatePlan
from ioc.settings import Settings
from ioc.topics import Topics

# Wall items whose `t` is the newest reading's sensor time (a traffic item's `t` is its window's start).
TIMED = frozenset(TIMED_KINDS)
SAMPLE_EVERY_S = 0.25  # the worker's counters: lag resolution
LIVE_EVERY_S = 1.0  # the console line
LIVE_WINDOW_S = 10  # the console's sensor → screen p99: over the last 10 s
PROBE = b"ioc loadtest warm-up probe (not JSON on purpose)"
Say = Callable[[str], None]


@dataclass
class Plan:
    rate: str | None
    ramp: str | None
    duration: str | None
    processes: int
    drain_s: float
    baseline_s: float
    rate_plan: RatePlan
    warmup_s: float = 5.0
    percentiles: tuple[float, ...] = (50.0, 95.0, 99.0)
    thresholds: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        doc = {k: v for k, v in self.__dict__.items() if k != "rate_plan"}
        doc["stages"] = [s.__dict__ for s in self.rate_plan.stages]
        doc["forever"] = self.rate_plan.forever
        return {**doc, "percentiles": list(self.percentiles), "thresholds": list(self.thresholds)}


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived: stop, and report what there is."""

    def __init__(self, signum: int) -> None:
        self.signum, self.name = signum, signal.Signals(signum).name
        super().__init__(self.name)


_pending: list[int] = []  # the signal that arrived, until the run raises it (see stop_on_signals)


def stop_on_signals() -> None:
    """The first SIGINT or SIGTERM raises Interrupted; any after it is ignored, so the orderly stop and the
    partial report always happen. A SIGINT ignored at start (a background job) stays ignored.

    Raised inside a running event loop (creating topics, the warm-up probes, the baseline), an exception
    can leave the loop waiting forever on a half-closed client: there the signal is only noted, and the run
    raises it as soon as the loop returns (`interrupted`). It is noted in any case: raised where Python
    cannot pass it on (logging's fork hook while a child is spawned: "Exception ignored in _releaseLock"),
    it was lost and the run went on; every poll of the stack (`_check`) raises a noted one."""

    def handler(signum: int, frame: FrameType | None) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        _pending[:] = [signum]
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise Interrupted(signum) from None

    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def interrupted() -> None:
    """Raise the signal noted while an event loop ran, if any."""
    if _pending:
        raise Interrupted(_pending.pop())


@dataclass
class WallWatch:
    """What the websocket client saw: per receive second and per domain, sensor-to-screen latency of new
    readings. Filled by the client's thread, read by the console's."""

    t0: float
    per_second: dict[int, Histogram] = field(default_factory=dict)
    by_domain: dict[str, Histogram] = field(default_factory=dict)
    messages: int = 0
    snapshots: int = 0
    missed_pushes: int = 0
    disconnects: int = 0
    _last_push: int | None = None
    _seen: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

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
        fresh: dict[str, list[float]] = {}
        for item in msg.get("items", ()):
            t = item.get("t")
            if item.get("kind") in TIMED and isinstance(t, int) and t > self._seen.get(item["key"], 0):
                self._seen[item["key"]] = t
                if msg.get("type") == "delta":  # a snapshot's readings may be old: only deltas are timed
                    fresh.setdefault(domain_of_kind(item["kind"]), []).append(now_ms - t)
        if fresh:
            second = int(now_ms / 1000 - self.t0)
            with self._lock:
                for domain, values in fresh.items():
                    self.per_second.setdefault(second, Histogram()).add(values)
                    self.by_domain.setdefault(domain, Histogram()).add(values)

    def recent(self, now: float, seconds: int) -> Histogram:
        last = int(now - self.t0)
        with self._lock:
            return merged(
                [self.per_second[k] for k in range(last - seconds + 1, last + 1) if k in self.per_second]
            )

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "per_second": {str(k): h.to_json() for k, h in sorted(self.per_second.items())},
                "by_domain": {d: h.to_json() for d, h in sorted(self.by_domain.items())},
                "messages": self.messages,
                "snapshots": self.snapshots,
                "missed_pushes": self.missed_pushes,
                "disconnects": self.disconnects,
            }


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


def scrape(port: int) -> dict[str, Any] | None:
    """The worker's counters now: readings accepted per domain, dead-lettered per domain and reason."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return None
    accepted: dict[str, float] = {}
    dead: dict[str, dict[str, float]] = {}
    frames = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            domain = sample.labels.get("domain", "?")
            if sample.name == WorkerMetric.READINGS_ACCEPTED:
                accepted[domain] = accepted.get(domain, 0.0) + sample.value
            elif sample.name == WorkerMetric.FRAMES:
                frames += sample.value
            elif sample.name == WorkerMetric.DEADLETTER_READINGS:
                reasons = dead.setdefault(domain, {})
                reason = sample.labels.get("reason", "?")
                reasons[reason] = reasons.get(reason, 0.0) + sample.value
    return {"unix": time.time(), "accepted": accepted, "deadletter": dead, "frames": frames}


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
    interrupted()

    def seen() -> bool:
        _check(stack)
        x = scrape(s.worker_web_port)
        return x is not None and sum(sum(r.values()) for r in x["deadletter"].values()) >= probes

    procs.wait_for(seen, 90, 0.2, f"the worker dead-lettering {probes} warm-up probes")


def _check(stack: Stack) -> None:
    """Raise Interrupted if a signal was noted, StackError if the broker or a part has died."""
    interrupted()
    broker = stack.broker
    if broker is not None and broker.proc is not None and broker.proc.poll() is not None:
        raise StackError(f"broker exited with code {broker.proc.returncode}")
    stack.check_alive()


def simulate_argv(plan: Plan, report: Path) -> list[str]:
    argv = procs.python_module("ioc", "simulate", "--start", "now", "--processes", str(plan.processes))
    argv += ["--rate", str(plan.rate)] if plan.rate else ["--ramp", str(plan.ramp)]
    if plan.duration:
        argv += ["--duration", plan.duration]
    return [*argv, "--report", str(report)]


def read_json(path: Path) -> dict[str, Any]:
    """A JSON file its writer replaces whole (the simulators' report), {} while there is none."""
    try:
        doc: dict[str, Any] = orjson.loads(path.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {}
    return doc


def run(
    s: Settings,
    plan: Plan,
    out: Path,
    argv: list[str],
    embedded_broker: bool = True,
    say: Say = print,
) -> dict[str, Any]:
    """Run the load test; return the raw figures (loadtest.report makes the report of them), also when it
    was interrupted or a part failed (then `status` says so)."""
    namespace = f"loadtest-{secrets.token_hex(3)}"
    tokens = s.tokens or auth.dev_tokens()
    s = s.model_copy(update={"namespace": namespace, "tokens": tokens})
    env = {"IOC_NAMESPACE": namespace, "IOC_TOKENS": tokens, "IOC_LOG_LEVEL": "warning"}
    worker = Part("worker", procs.python_module("ioc", "worker"))
    stack = Stack(s, [worker, Part("web", procs.python_module("ioc", "web"))], out / "logs", env=env)
    status: dict[str, Any] = {"phase": "start-up", "interrupted": None, "failure": None}
    raw: dict[str, Any] = {
        "plan": plan.to_json(), "namespace": namespace, "meta": {}, "status": status,
        "t0": None, "simulators": {}, "simulators_exit": None, "simulators_error": None, "samples": [],
        "drained_at": None, "wall": {}, "baseline": None, "timings": stack.timings,
    }  # fmt: skip
    samples: list[dict[str, Any]] = raw["samples"]
    sim: subprocess.Popen[bytes] | None = None
    client: WallClient | None = None
    watch: WallWatch | None = None
    sim_report, sim_log = out / "simulators.json", out / "logs" / "simulators.log"
    started = time.monotonic()
    try:
        raw["meta"] = metadata.collect(s, argv)
        where = f"{s.broker_host}:{s.broker_port}" if embedded_broker else s.bootstrap
        say(f"starting the broker ({where}), the worker and the wall in namespace {namespace}; logs in "
            f"{out / 'logs'}")  # fmt: skip
        stack.start(embedded_broker)
        interrupted()  # the topics are created in an event loop
        stack.wait_web()
        interrupted()

        def metrics_up() -> bool:
            _check(stack)
            return scrape(s.worker_web_port) is not None

        procs.wait_for(metrics_up, 60, 0.2, "the worker's metrics")
        up = time.monotonic() - started
        say(f"up in {up:.1f} s; warm-up: waiting until the worker holds every partition")
        status["phase"] = "warm-up"
        _warm_up(s, stack)
        status["phase"] = "load"
        t0 = time.time()
        raw["t0"] = t0
        watch = WallWatch(t0)
        viewer = auth.token_of(tokens, "viewer")
        client = WallClient(f"ws://{s.web_host}:{s.web_port}/ws?token={viewer}", watch)
        client.start()
        sim_report.unlink(missing_ok=True)
        if (before := scrape(s.worker_web_port)) is not None:
            samples.append(before)  # the counters' zero: what the warm-up left
        ready = time.monotonic() - started
        say(f"worker ready after {ready:.1f} s; sending ({_describe(plan)}), a line a second:")
        sim = procs.spawn(simulate_argv(plan, sim_report), sim_log, stack.env)
        _sample_while(sim, stack, samples, s.worker_web_port, sim_report, watch, say)
        raw["simulators"] = read_json(sim_report)
        if sim.returncode != 0:
            raw["simulators_error"] = procs.last_line(sim_log) or None
            say(
                f"the simulators exited with code {sim.returncode}: {raw['simulators_error']} (log {sim_log})"
            )
        status["phase"] = "drain"
        total = float(raw["simulators"].get("readings", 0))
        say(f"simulators done: {int(total):,} readings; waiting up to {plan.drain_s:g} s for the worker to "
            f"take in the rest")  # fmt: skip
        raw["drained_at"] = _drain(stack, samples, s.worker_web_port, total, plan.drain_s, say)
        time.sleep(1.0)  # the wall's last pushes
        client.stop()
        if plan.baseline_s > 0:
            status["phase"] = "baseline"
            say(f"baseline: a bare aiokafka producer on the same broker for {plan.baseline_s:g} s")
            bootstrap = stack.env["IOC_BOOTSTRAP"]
            raw["baseline"] = asyncio.run(_baseline(s, bootstrap, raw["simulators"], plan.baseline_s))
            interrupted()
        _check(stack)
        status["phase"] = "done"
    except Interrupted as exc:
        _pending.clear()  # raised: handled here, once
        at = time.time() - raw["t0"] if raw["t0"] else time.monotonic() - started
        status["interrupted"] = {"signal": exc.name, "phase": status["phase"], "at_s": round(at, 1)}
        say(f"\n{exc.name}: stopping during {status['phase']}; a partial report follows")
    except (StackError, BrokerError, TimeoutError, OSError) as exc:
        status["failure"] = _explain(exc, stack)
        say(f"error: {status['failure']}")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # whatever comes now, the stop and the report happen
            signal.signal(sig, signal.SIG_IGN)
        if sim is not None:
            raw["simulators_exit"] = procs.stop(sim)  # asked to stop, they write their report
            raw["simulators"] = read_json(sim_report) or raw["simulators"]
        if client is not None:
            client.stop()
        if watch is not None:
            raw["wall"] = watch.to_json()
        stack.stop()
        raw["meta"] = metadata.finish(raw["meta"] or metadata.collect(s, argv))
    return raw


def _describe(plan: Plan) -> str:
    stages = ", then ".join(st.describe() for st in plan.rate_plan.stages)
    return stages + (f" over {plan.processes} processes" if plan.processes > 1 else "")


def _explain(exc: Exception, stack: Stack) -> str:
    """What failed, with the dead child's last error line and its log."""
    broker = stack.broker
    if broker is not None and broker.proc is not None and broker.proc.poll() is not None:
        line = procs.last_line(broker.log) or "no output"
        return f"the broker exited early with code {broker.proc.returncode}: {line} (log {broker.log})"
    for part in stack.parts:
        if part.proc is not None and part.proc.poll() is not None:
            line = procs.last_line(part.log) or "no output"
            return f"the {part.name} exited early with code {part.proc.returncode}: {line} (log {part.log})"
    if isinstance(exc, TimeoutError):
        return f"{exc} (logs in {stack.log_dir})"
    return str(exc)


def _sample_while(
    sim: subprocess.Popen[bytes],
    stack: Stack,
    samples: list[dict[str, Any]],
    port: int,
    sim_report: Path,
    watch: WallWatch,
    say: Say,
) -> None:
    """The worker's counters on a fixed 0.25 s grid while the simulators run, and the console's line."""
    next_line = time.time() + LIVE_EVERY_S
    while sim.poll() is None:
        _check(stack)
        if (x := scrape(port)) is not None:
            samples.append(x)
        if time.time() >= next_line:
            next_line += LIVE_EVERY_S
            say(live_line(read_json(sim_report), samples, watch, time.time()))
        time.sleep(SAMPLE_EVERY_S - time.time() % SAMPLE_EVERY_S)


def live_line(sim: dict[str, Any], samples: list[dict[str, Any]], watch: WallWatch, now: float) -> str:
    """Target, sent in the simulators' last whole second, taken in over the last second, the lag when the
    simulators last reported (up to a second ago: sent then minus taken in by then), sensor → screen p99
    over the last 10 s with its sample count."""
    shards = shards_of(sim)
    target = sum(x["per_second"][-1][2] for x in shards if x.get("per_second"))
    sent = sum(x["per_second"][-2][1] for x in shards if len(x.get("per_second", ())) >= 2)
    processed = lag = 0.0
    if samples:
        zero = taken_of(samples[0])
        second_ago = next((x for x in reversed(samples) if x["unix"] <= now - 1.0), samples[0])
        processed = taken_of(samples[-1]) - taken_of(second_ago)
        if shards:
            reported = min(float(x["started_unix"]) + float(x["elapsed_s"]) for x in shards)
            by_then = next((x for x in reversed(samples) if x["unix"] <= reported), samples[0])
            lag = sum(int(x.get("readings", 0)) for x in shards) - (taken_of(by_then) - zero)
    recent = watch.recent(now, LIVE_WINDOW_S)
    p99 = recent.quantile(0.99)
    e2e = f"{p99:,.0f} ms (n {recent.count:,})" if p99 is not None else "—"
    return (
        f"{now - watch.t0:5.0f} s  target {target:>9,.0f}/s  sent {sent:>9,.0f}/s  "
        f"taken in {processed:>9,.0f}/s  lag {max(lag, 0):>9,.0f}  sensor→screen p99 {e2e}"
    )


def _drain(
    stack: Stack, samples: list[dict[str, Any]], port: int, total: float, limit_s: float, say: Say
) -> float | None:
    """Keep sampling until the worker has taken in (or dead-lettered) every reading sent; when it did."""
    start = time.time()
    end, next_line = start + limit_s, start + LIVE_EVERY_S
    zero = taken_of(samples[0]) if samples else 0.0
    while time.time() < end:
        x = scrape(port)
        if x is not None:
            samples.append(x)
            if taken_of(x) - zero >= total:
                say(
                    f"the worker took in every reading {x['unix'] - start:.1f} s after the simulators stopped"
                )
                return float(x["unix"])
            if time.time() >= next_line:
                next_line += LIVE_EVERY_S
                to_go = total - (taken_of(x) - zero)
                say(f"drain {time.time() - start:4.0f} s  {to_go:>11,.0f} readings to go")
        _check(stack)
        time.sleep(SAMPLE_EVERY_S)
    say(f"the worker had not taken in every reading after {limit_s:g} s (--drain)")
    return None


async def _baseline(s: Settings, bootstrap: str, produced: dict[str, Any], seconds: float) -> dict[str, Any]:
    """Raw aiokafka on the same broker: records of the run's mean frame size, in batches, as fast as it goes.
    The run's figures are quoted against it, as these machines are noisy."""
    shards = shards_of(produced)
    frames, size = sum(int(x.get("frames", 0)) for x in shards), sum(int(x.get("bytes", 0)) for x in shards)
    record = b"x" * max(64, size // max(frames, 1))
    settings = s.model_copy(update={"bootstrap": bootstrap})
    topic = f"{s.namespace}.baseline"
    await ensure_topics(settings, {topic: s.partitions})
    producer = make_producer(settings)
    await producer.start()
    sent, started = 0, time.perf_counter()
    try:
        while time.perf_counter() - started < seconds and not _pending:
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
