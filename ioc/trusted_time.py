"""Trusted time: the clock a reading's event time is checked against before it may move any watermark.

Live, that is the wall clock. A namespace whose time is simulated (`ioc simulate` at a speed, a replay) has
its own clock, declared by its time source on `<ns>.clock` and signed with the control key, so a device
cannot move it: {source, sim_ms, wall_ms, speed}, simulated time `sim_ms` at real time `wall_ms`, running at
`speed` (0 = paused; null = as fast as possible, `sim_ms` then being a horizon the source will not pass
without declaring again). The latest declaration rules; before any, the wall clock does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from ioc.clock import SimClock
from ioc.kafka import make_consumer
from ioc.settings import Settings
from ioc.signing import Signer
from ioc.topics import Topics

log = logging.getLogger("ioc.trusted_time")
SLACK_REAL_S = 2.0  # real seconds of skew between a paced source and a reader, scaled by the speed
# How far ahead a source running as fast as possible declares at a time, and renews when half is left: at
# full speed half a day of simulated time passes between a renewal and the frames that need it, long enough
# for every reader to have seen it (a reader that has not re-reads the clock topic once per MIN_SYNC_GAP_S).
HORIZON_MS = 24 * 3_600_000
MIN_SYNC_GAP_S = 0.5


@dataclass(frozen=True)
class Declaration:
    """A time source's statement: simulated time `sim_ms` at real time `wall_ms`, running at `speed`."""

    source: str
    sim_ms: int
    wall_ms: int
    speed: float | None  # simulated s per real s; 0 paused; None as fast as possible (sim_ms is a horizon)

    def at(self, wall_ms: int) -> int:
        """The declared simulated time at real time `wall_ms`."""
        if not self.speed:
            return self.sim_ms
        return self.sim_ms + int(max(0, wall_ms - self.wall_ms) * self.speed)

    def slack_ms(self) -> int:
        return int(SLACK_REAL_S * 1000 * (self.speed or 0))

    def document(self) -> bytes:
        return orjson.dumps({"v": 1, "kind": "clock", **asdict(self)})

    @classmethod
    def parse(cls, raw: bytes) -> Declaration:
        doc = orjson.loads(raw)
        if not isinstance(doc, dict) or doc.get("kind") != "clock":
            raise ValueError("not a clock declaration")
        speed = doc["speed"]
        if speed is not None and (not isinstance(speed, int | float) or speed < 0):
            raise ValueError(f"bad speed {speed!r}")
        return cls(str(doc["source"]), int(doc["sim_ms"]), int(doc["wall_ms"]), speed)


class TrustedClock:
    """The latest acceptable event time: the declared (or wall) clock plus the tolerance."""

    def __init__(self, tolerance_ms: int, wall: Callable[[], float] = time.time) -> None:
        self.tolerance_ms = tolerance_ms
        self.wall = wall
        self.declared: Declaration | None = None

    def declare(self, d: Declaration) -> None:
        if self.declared is None or d.wall_ms >= self.declared.wall_ms:
            self.declared = d

    def now_ms(self) -> int:
        wall_ms = int(self.wall() * 1000)
        return wall_ms if self.declared is None else self.declared.at(wall_ms)

    def limit_ms(self) -> int:
        slack = 0 if self.declared is None else self.declared.slack_ms()
        return self.now_ms() + self.tolerance_ms + slack

    def describe(self) -> str:
        if self.declared is None:
            return "wall clock"
        d = self.declared
        speed = "max" if d.speed is None else f"x{d.speed:g}"
        return f"declared by {d.source} ({speed})"


class ClockWatch:
    """Follows `<ns>.clock` into a TrustedClock; unsigned or unreadable declarations are counted and ignored.

    `sync()` reads to the topic's end: a reader that sees a reading beyond the limit calls it first, so a
    declaration published before the reading (a source always declares before it sends) is never missed
    because the two topics were fetched in another order."""

    def __init__(self, settings: Settings, clock: TrustedClock, signer: Signer) -> None:
        self.settings = settings
        self.clock = clock
        self.signer = signer
        self.topic = Topics(settings.namespace).clock
        self.refused = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()
        self._synced_at = 0.0

    async def start(self) -> None:
        consumer = make_consumer(self.settings, enable_auto_commit=False, group_id=None)
        await consumer.start()
        tp = TopicPartition(self.topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        self._consumer = consumer
        await self.sync()

    def may_sync(self) -> bool:
        """At most one sync on doubt per MIN_SYNC_GAP_S: a flood of readings from the future costs a fetch
        every half second, not one per reading (which stalled a domain at ~20 frames/s)."""
        return time.monotonic() - self._synced_at >= MIN_SYNC_GAP_S

    async def sync(self) -> None:
        """Apply every declaration published so far."""
        if self._consumer is None:
            return
        self._synced_at = time.monotonic()
        async with self._lock:
            tp = TopicPartition(self.topic, 0)
            end = (await self._consumer.end_offsets([tp]))[tp]
            while True:
                batch = await self._consumer.getmany(tp, timeout_ms=self.settings.fetch_max_wait_ms * 2)
                for record in batch.get(tp, []):
                    self._apply(record.key, record.value, record.headers)
                if not batch and await self._consumer.position(tp) >= end:
                    return

    async def follow(self, interval_s: float = 0.5) -> None:
        """Keep applying declarations until cancelled."""
        while True:
            with contextlib.suppress(Exception):  # a broker restart: the next round reconnects
                await self.sync()
            await asyncio.sleep(interval_s)

    def _apply(self, key: bytes | None, value: bytes | None, headers: Any) -> None:
        if not self.signer.verify(self.topic, key, value, headers):
            self.refused += 1
            if self.refused <= 10 or self.refused % 1000 == 0:
                log.warning("unsigned clock declaration on %s ignored (%d so far)", self.topic, self.refused)
            return
        try:
            declaration = Declaration.parse(value or b"")
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
            self.refused += 1
            if self.refused <= 10 or self.refused % 1000 == 0:
                log.warning("unreadable clock declaration ignored: %s", str(exc)[:200])
            return
        before = self.clock.describe()
        self.clock.declare(declaration)
        if self.clock.describe() != before:
            log.info("trusted clock now %s", self.clock.describe())

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None


async def declare(
    producer: AIOKafkaProducer, settings: Settings, signer: Signer, declaration: Declaration
) -> None:
    """Publish a declaration and wait for the broker to hold it (before sending what it covers)."""
    topic = Topics(settings.namespace).clock
    key, value = declaration.source.encode(), declaration.document()
    await producer.send_and_wait(topic, value, key=key, headers=signer.headers(topic, key, value))


class TimeSource:
    """A namespace's time source (a simulator): declares its clock before sending what that clock covers.

    Paced, one declaration carries it (the reader extrapolates); as fast as possible, it declares a horizon
    a day ahead at a time, renewed half a day before the frames reach it."""

    def __init__(
        self, producer: AIOKafkaProducer, settings: Settings, signer: Signer, source: str, clock: SimClock
    ) -> None:
        self.producer = producer
        self.settings = settings
        self.signer = signer
        self.source = source
        self.clock = clock
        self.horizon = -1

    async def announce(self, t_ms: int | None = None) -> None:
        """Declare the clock now (at start, after a change of speed, after a broker came back empty)."""
        if self.clock.as_fast_as_possible:
            self.horizon = max(t_ms or 0, self.clock.now_ms()) + HORIZON_MS
            d = Declaration(self.source, self.horizon, int(time.time() * 1000), None)
        else:
            d = Declaration(self.source, self.clock.now_ms(), int(time.time() * 1000), self.clock.speed)
        await declare(self.producer, self.settings, self.signer, d)

    async def cover(self, t_ms: int) -> None:
        """Before sending frames up to `t_ms`: renew the horizon if they would reach past half of it."""
        if self.clock.as_fast_as_possible and t_ms > self.horizon - HORIZON_MS // 2:
            await self.announce(t_ms)
