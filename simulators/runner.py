"""The simulation loop: steps domain models on their ticks against a simulated clock and hands the frames
to a sink (a file, one frame per line, or Kafka)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from ioc.clock import SimClock
from ioc.contract import Frame, encode
from ioc.kafka import BatchProducer, make_producer
from ioc.settings import Settings
from ioc.topics import Topics

MAX_IN_FLIGHT = 64  # batches awaiting broker acks before the loop waits: bounds memory at max speed


class Model(Protocol):
    domain: str
    tick_ms: int

    def step(self, t_ms: int) -> list[Frame]: ...


class Sink(Protocol):
    async def write(self, frames: Sequence[Frame]) -> int:
        """Send or store the frames; return the bytes written."""
        ...

    async def close(self) -> None: ...


@dataclass
class Stats:
    frames: int = 0
    readings: int = 0
    bytes: int = 0
    started: float = field(default_factory=time.monotonic)
    sim_from_ms: int = 0
    sim_to_ms: int = 0

    @property
    def elapsed_s(self) -> float:
        return max(time.monotonic() - self.started, 1e-9)

    def summary(self) -> str:
        rate = self.readings / self.elapsed_s
        sim_h = (self.sim_to_ms - self.sim_from_ms) / 3_600_000
        return (
            f"{self.frames:,} frames, {self.readings:,} readings, {self.bytes / 1e6:.1f} MB "
            f"in {self.elapsed_s:.1f} s: {rate:,.0f} readings/s, {sim_h:.2f} simulated h"
        )


class FileSink:
    """One encoded frame per line; the bytes are what Kafka would carry."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed in close()

    async def write(self, frames: Sequence[Frame]) -> int:
        return self._fh.write(b"".join(encode(f) + b"\n" for f in frames))

    async def close(self) -> None:
        self._fh.close()


class KafkaSink:
    """Frames to their domain's raw topic, keyed by group, one batch per partition per step."""

    def __init__(self, settings: Settings, topics: Topics) -> None:
        self.topics = topics
        self.producer = make_producer(settings)
        self.batches = BatchProducer(self.producer)
        self._pending: list[asyncio.Future[Any]] = []

    async def start(self) -> None:
        await self.producer.start()

    async def write(self, frames: Sequence[Frame]) -> int:
        by_topic: dict[str, list[tuple[bytes, bytes]]] = {}
        size = 0
        for f in frames:
            value = encode(f)
            size += len(value)
            by_topic.setdefault(self.topics.raw(f.schema.domain), []).append((f.group.encode(), value))
        for topic, records in by_topic.items():
            self._pending += await self.batches.send_many(topic, records)
        if len(self._pending) > MAX_IN_FLIGHT:
            await asyncio.gather(*self._pending)
            self._pending.clear()
        return size

    async def close(self) -> None:
        try:
            if self._pending:
                await asyncio.gather(*self._pending)
        finally:
            await self.producer.stop()


async def run(
    models: Sequence[Model],
    sink: Sink,
    clock: SimClock,
    start_ms: int,
    end_ms: int | None = None,
    paced_from_ms: int | None = None,
    stop: asyncio.Event | None = None,
) -> Stats:
    """Step every model on its own tick from start_ms until end_ms (or until `stop` is set).

    Ticks before `paced_from_ms` run as fast as possible (history warm-up); later ones wait for `clock`.
    """
    stats = Stats(sim_from_ms=start_ms, sim_to_ms=start_ms)
    due = {i: _align(start_ms, m.tick_ms) for i, m in enumerate(models)}
    stop = stop or asyncio.Event()
    while not stop.is_set():
        t = min(due.values())
        if end_ms is not None and t > end_ms:
            break
        if paced_from_ms is None or t >= paced_from_ms:
            await _wait(clock, t, stop)
            if stop.is_set():
                break
        frames: list[Frame] = []
        for i, m in enumerate(models):
            if due[i] == t:
                frames += m.step(t)
                due[i] += m.tick_ms
        stats.bytes += await sink.write(frames)
        stats.frames += len(frames)
        stats.readings += sum(f.n for f in frames)
        stats.sim_to_ms = t
        if clock.as_fast_as_possible or (paced_from_ms is not None and t < paced_from_ms):
            await asyncio.sleep(0)  # let producer I/O and signals in
    return stats


async def _wait(clock: SimClock, t_ms: int, stop: asyncio.Event) -> None:
    waiter = asyncio.ensure_future(clock.wait_until(t_ms))
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for fut in (waiter, stopper):
            fut.cancel()


def _align(t_ms: int, tick_ms: int) -> int:
    """First tick boundary at or after t (ticks fall on whole minutes, hours ... like real loggers)."""
    return -(-t_ms // tick_ms) * tick_ms
