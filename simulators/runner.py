"""The simulation loop: steps domain models on their ticks against a simulated clock, applies the scenario
and faults, and hands encoded records to a sink (a file, one frame per line, or Kafka)."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from ioc.clock import SimClock
from ioc.contract import Frame, encode
from ioc.kafka import BatchProducer, BrokerLost, BrokerWatch, make_producer, settle
from ioc.latency import Histogram, merged
from ioc.rate import RatePlan
from ioc.settings import Settings
from ioc.topics import Topics
from ioc.trusted_time import TimeSource
from simulators.faults import FaultInjector, Record
from simulators.overrides import Overrides
from simulators.scenario import Scenario
from simulators.status import StatusBeacon

MAX_IN_FLIGHT = 64  # batches awaiting broker acks before the loop waits: bounds memory at max speed
BROKER_CHECK_S = 2.0  # how often a Kafka sink makes sure its broker has not been replaced by an empty one


class Model(Protocol):
    domain: str
    tick_ms: int
    scales_with_rate: bool

    def step(self, t_ms: int) -> list[Frame]: ...

    def set_overrides(self, overrides: Overrides) -> None: ...

    def targets(self) -> set[str]: ...

    def readings_per_tick(self) -> float: ...


class Sink(Protocol):
    async def write(self, records: Sequence[Record]) -> int:
        """Send or store the records; return the bytes written."""
        ...

    async def close(self) -> None: ...

    def take_latencies(self) -> list[float]:
        """Send-to-acknowledgement times (ms) of the batches acknowledged since the last call."""
        ...


@dataclass
class Stats:
    frames: int = 0
    readings: int = 0
    bytes: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None  # set when the run ends, so the figures stop moving
    sim_from_ms: int = 0
    sim_to_ms: int = 0
    seconds: list[list[float]] = field(default_factory=list)  # [elapsed s, readings, target] per second
    domain_seconds: dict[str, dict[int, int]] = field(default_factory=dict)  # domain → second → readings
    largest_step: int = 0  # readings in the largest single step: how finely a load test can pace
    started_unix: float = field(default_factory=time.time)  # to line the seconds up with other processes
    produce_ms: dict[int, Histogram] = field(default_factory=dict)  # per second: batches acknowledged

    @property
    def elapsed_s(self) -> float:
        return max((self.finished or time.monotonic()) - self.started, 1e-9)

    @property
    def rate(self) -> float:
        return self.readings / self.elapsed_s

    def tally(self, readings: dict[str, int], target: float | None) -> None:
        second = int(self.elapsed_s)
        if not self.seconds or self.seconds[-1][0] != second:
            self.seconds.append([second, 0, target or 0.0])
        self.seconds[-1][1] += sum(readings.values())
        for domain, n in readings.items():
            per_second = self.domain_seconds.setdefault(domain, {})
            per_second[second] = per_second.get(second, 0) + n

    def acknowledged(self, latencies_ms: list[float]) -> None:
        if latencies_ms:
            self.produce_ms.setdefault(int(self.elapsed_s), Histogram()).add(latencies_ms)

    def summary(self) -> str:
        sim_h = (self.sim_to_ms - self.sim_from_ms) / 3_600_000
        return (
            f"{self.frames:,} frames, {self.readings:,} readings, {self.bytes / 1e6:.1f} MB "
            f"in {self.elapsed_s:.1f} s: {self.rate:,.0f} readings/s, {sim_h:.2f} simulated h"
        )

    def report(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "readings": self.readings,
            "bytes": self.bytes,
            "elapsed_s": round(self.elapsed_s, 3),
            "readings_per_s": round(self.rate, 1),
            "sim_from_ms": self.sim_from_ms,
            "sim_to_ms": self.sim_to_ms,
            "per_second": self.seconds,
            "per_second_by_domain": {d: sorted(x.items()) for d, x in sorted(self.domain_seconds.items())},
            "largest_step_readings": self.largest_step,
            "started_unix": self.started_unix,
            "produce_latency_ms": merged(self.produce_ms.values()).summary(),
            "produce_per_second": [[s, h.to_json()] for s, h in sorted(self.produce_ms.items())],
        }


@dataclass
class Simulation:
    """Models plus what changes them: a scenario's overrides and the fault injector."""

    models: list[Model]
    faults: FaultInjector
    scenario: Scenario | None = None
    scenario_start_ms: int = 0
    fault_targets: set[str] = field(default_factory=set)  # sensor ids, groups and domains faults may name
    boot: str = ""  # on every frame: a restarted run numbers its frames from 0 in a sequence space of its own
    _applied: dict[str, Overrides] | None = None

    def step(self, t_ms: int, due: Sequence[Model]) -> tuple[list[Record], dict[str, int]]:
        """Records for the models due at t_ms, and how many readings they carry per domain."""
        self._apply_scenario(t_ms)
        frames = [f for m in due for f in m.step(t_ms)]
        for f in frames:
            f.boot = self.boot
        frames = self.faults.frames(frames)
        records = [Record(f.schema.domain, f.group.encode(), encode(f), t_ms) for f in frames]
        if self.faults.active:
            records = self.faults.records(records, t_ms)
        readings: dict[str, int] = {}
        for f in frames:
            readings[f.schema.domain] = readings.get(f.schema.domain, 0) + f.n
        return records, readings

    def _apply_scenario(self, t_ms: int) -> None:
        if self.scenario is None:
            return
        overrides = self.scenario.overrides(t_ms - self.scenario_start_ms)
        if overrides == self._applied:
            return
        self._applied = overrides
        for m in self.models:
            m.set_overrides(overrides.get(m.domain, {}))
        self.faults.set_overrides(overrides.get("faults", {}))

    def unknown_targets(self) -> list[str]:
        """Scenario targets no model answers to (a typo would otherwise silently do nothing)."""
        if self.scenario is None:
            return []
        known = {m.domain: m.targets() for m in self.models}
        known["faults"] = self.fault_targets
        bad = []
        for stage in self.scenario.stages:
            for s in stage.settings:
                pool = known.get(s.domain)
                if pool is not None and s.target != "*" and s.target not in pool:
                    bad.append(f"{s.domain}.{s.target}")
        return sorted(set(bad))

    def base_rate(self) -> float:
        """Readings per simulated second from the models a rate plan scales (at their natural ticks)."""
        return sum(m.readings_per_tick() / (m.tick_ms / 1000) for m in self.models if m.scales_with_rate)


class FileSink:
    """One record value per line; the bytes are what Kafka would carry."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed in close()

    async def write(self, records: Sequence[Record]) -> int:
        return self._fh.write(b"".join(r.value + b"\n" for r in records))

    async def close(self) -> None:
        self._fh.close()

    def take_latencies(self) -> list[float]:
        return []


class MemorySink:
    """Keeps the records in memory: for tests, and to send exactly the same bytes again."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    async def write(self, records: Sequence[Record]) -> int:
        self.records += records
        return sum(len(r.value) for r in records)

    async def close(self) -> None:
        return None

    def take_latencies(self) -> list[float]:
        return []


class NullSink:
    """Counts bytes only: measures generation without any output."""

    async def write(self, records: Sequence[Record]) -> int:
        return sum(len(r.value) for r in records)

    async def close(self) -> None:
        return None

    def take_latencies(self) -> list[float]:
        return []


class KafkaSink:
    """Records to their domain's raw topic, keyed by group, one batch per partition per step. With a time
    source, the namespace's clock is declared before the records it covers; a broker that comes back empty
    (another cluster id) raises BrokerLost."""

    def __init__(self, settings: Settings, topics: Topics, headers: Sequence[tuple[str, bytes]] = ()) -> None:
        self.topics = topics
        self.producer = make_producer(settings)
        self.batches = BatchProducer(self.producer)
        self.headers = list(headers)
        self.time_source: TimeSource | None = None
        self.status: StatusBeacon | None = None  # the scenario and stage, for the wall's banner
        self._pending: list[asyncio.Future[Any]] = []
        self._latencies: list[float] = []
        self._watch: BrokerWatch | None = None
        self._checked = 0.0

    async def start(self) -> None:
        await self.producer.start()
        self._watch = BrokerWatch(self.producer.client)
        await self._watch.check()
        self._checked = time.monotonic()
        if self.time_source is not None:
            await self.time_source.announce()

    async def _check_broker(self) -> None:
        if self._watch is None or time.monotonic() - self._checked < BROKER_CHECK_S:
            return
        self._checked = time.monotonic()
        changed = await self._watch.check()
        if changed is not None:
            raise BrokerLost(f"cluster {self._watch.known} is now {changed}")

    async def write(self, records: Sequence[Record]) -> int:
        await self._check_broker()
        newest = max((r.t_ms for r in records), default=None)
        if self.time_source is not None and newest is not None:
            await self.time_source.cover(newest)
        if self.status is not None and newest is not None:
            await self.status.tick(newest)
        by_topic: dict[str, list[tuple[bytes, bytes]]] = {}
        size = 0
        for r in records:
            size += len(r.value)
            by_topic.setdefault(self.topics.raw(r.domain), []).append((r.key, r.value))
        sent = time.perf_counter()  # before send_many: waiting for room in the producer counts as latency
        for topic, batch in by_topic.items():
            futures = await self.batches.send_many(topic, batch, self.headers or None)
            for fut in futures:
                fut.add_done_callback(functools.partial(self._acked, sent))
            self._pending += futures
        self._pending = await settle(self._pending, MAX_IN_FLIGHT)
        return size

    def _acked(self, sent: float, _: object) -> None:
        self._latencies.append((time.perf_counter() - sent) * 1e3)

    def take_latencies(self) -> list[float]:
        taken, self._latencies = self._latencies, []
        return taken

    async def flush(self) -> None:
        """Wait until the broker has acknowledged every batch sent."""
        if self._pending:
            await asyncio.gather(*self._pending)
            self._pending.clear()

    async def close(self) -> None:
        try:
            await self.flush()
        finally:
            await self.producer.stop()


Progress = Callable[[Stats, float | None], None]


async def run(
    sim: Simulation,
    sink: Sink,
    clock: SimClock,
    start_ms: int,
    end_ms: int | None = None,
    paced_from_ms: int | None = None,
    stop: asyncio.Event | None = None,
    rate: RatePlan | None = None,
    progress: Progress | None = None,
    progress_every_s: float = 5.0,
    history_ms: dict[str, int] | None = None,
) -> Stats:
    """Step every model on its own tick from start_ms until end_ms, the rate plan's end, or `stop`.

    Ticks before `paced_from_ms` run as fast as possible (history warm-up); later ones wait for `clock`.
    `history_ms` shortens the warm-up of some domains (only air quality's NowCast needs 12 hours).
    With a rate plan, models that scale report `target / base rate` times as often as their natural tick.
    """
    stats = Stats(sim_from_ms=start_ms, sim_to_ms=start_ms)
    models = sim.models
    base = sim.base_rate() or 1.0
    # Loggers tick on whole minutes; a load test starts sampling at once.
    due = [float(start_ms if rate is not None else _align(start_ms, m.tick_ms)) for m in models]
    if rate is not None:
        _stagger(models, due, max((rate.target(0) or 0.0) / base, 1e-6))
    if paced_from_ms is not None and history_ms:
        for i, m in enumerate(models):
            if m.domain in history_ms:
                due[i] = max(due[i], _align(paced_from_ms - history_ms[m.domain], m.tick_ms))
    stop = stop or asyncio.Event()
    next_progress = progress_every_s
    while not stop.is_set():
        target = rate.target(stats.elapsed_s) if rate is not None else None
        if rate is not None and target is None:
            break
        t_float = min(due)
        t = int(t_float)
        if end_ms is not None and t > end_ms:
            break
        if paced_from_ms is None or t >= paced_from_ms:
            await _wait(clock, t, stop)
            if stop.is_set():
                break
        multiplier = max(target / base, 1e-6) if target is not None else 1.0
        ready = [m for i, m in enumerate(models) if due[i] <= t_float]
        for i, m in enumerate(models):
            if due[i] <= t_float:
                due[i] += m.tick_ms / multiplier if m.scales_with_rate else m.tick_ms
        records, readings = sim.step(t, ready)
        stats.bytes += await sink.write(records)
        stats.acknowledged(sink.take_latencies())
        stats.frames += len(records)
        stats.readings += sum(readings.values())
        stats.largest_step = max(stats.largest_step, sum(readings.values()))
        stats.sim_to_ms = t
        stats.tally(readings, target)
        if progress is not None and stats.elapsed_s >= next_progress:
            progress(stats, target)
            next_progress += progress_every_s
        if clock.as_fast_as_possible or (paced_from_ms is not None and t < paced_from_ms):
            await asyncio.sleep(0)  # let producer I/O and signals in
    stats.finished = time.monotonic()
    return stats


async def _wait(clock: SimClock, t_ms: int, stop: asyncio.Event) -> None:
    if clock.as_fast_as_possible or clock.now_ms() >= t_ms:
        await clock.wait_until(t_ms)
        return
    waiter = asyncio.ensure_future(clock.wait_until(t_ms))
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for fut in (waiter, stopper):
            fut.cancel()


def _stagger(models: Sequence[Model], due: list[float], multiplier: float) -> None:
    """Spread the first steps of a domain's slices (domains.build, step_at_most) over one step interval, so
    a load test's readings leave evenly rather than a whole city's lamps in one burst."""
    slices: dict[str, list[int]] = {}
    for i, m in enumerate(models):
        if m.scales_with_rate:
            slices.setdefault(m.domain, []).append(i)
    for members in slices.values():
        for j, i in enumerate(members):
            due[i] += j / len(members) * models[i].tick_ms / multiplier


def _align(t_ms: int, tick_ms: int) -> int:
    """First tick boundary at or after t (ticks fall on whole minutes, hours ... like real loggers)."""
    return -(-t_ms // tick_ms) * tick_ms
