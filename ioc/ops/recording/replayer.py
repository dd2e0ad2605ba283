"""`ioc replay`: play a recording into its own namespace at N× simulated time or as fast as possible, every
record tagged with the replay job id (the frame's `job` and an `ioc-job` header); pause, resume, seek to a
simulated time, dry run.

Order: each recorded partition's records keep their order and their partition; partitions are merged by
record timestamp. Pacing follows simulated time: the running maximum of the raw frames' ticks, so ×1 plays
the city's own clock whatever speed the recording was made at; records before the first frame go with it.

The simulator's status (the scenario and its current stage, for the wall's banner) is replayed in order with
the data, re-signed for the replay's namespace and stamped with the time it is sent again; after a seek the
status in force at the new position goes out first, so the banner names the stage playing there."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import heapq
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from aiokafka import TopicPartition

from ioc.clock import local_iso
from ioc.contract.documents import ReplayState, ReplayStatus, simulator_status
from ioc.kafka import BatchProducer, ensure_topics, make_consumer, make_producer
from ioc.ops.recording.file import Entry
from ioc.settings import Settings
from ioc.signing import Keys, load_keys
from ioc.topics import Topics
from ioc.trusted_time import Declaration, declare

log = logging.getLogger("ioc.replay")
HEADER = "ioc-job"
CHUNK = 2000  # records sent per step at full speed: responsive to pause/seek, still batched
STATUS_EVERY_S = 1.0
STATUS_TOPIC = "simulator"  # relative to the namespace: the scenario and stage the recorded simulator played
DEFAULT_TOPICS = f"raw,actions,{STATUS_TOPIC}"


@dataclass(frozen=True)
class Item:
    topic: str  # relative to the namespace
    partition: int
    key: bytes
    value: bytes
    sim_ms: int  # the pacing clock when this record was produced


def _wall_ms() -> int:
    return int(time.time() * 1000)


def plan(entries: Iterable[Entry], topics: set[str] | None, job: str) -> list[Item]:
    """The records to replay, in order, tagged with the job id."""
    per_partition: dict[tuple[str, int], list[Entry]] = {}
    for e in entries:
        if topics is not None and e.topic not in topics:
            continue
        if e.topic == STATUS_TOPIC and not _is_status(e.value):
            # Re-signed with the control key, a status must be one: anything else stays out of the replay.
            log.warning("not a simulator status, left out: %r", (e.value or b"")[:200])
            continue
        per_partition.setdefault((e.topic, e.partition), []).append(e)
    streams = [sorted(v, key=lambda e: e.offset) for v in per_partition.values()]
    items, clock = [], 0
    for e in heapq.merge(*streams, key=lambda e: e.timestamp):  # keeps each partition's own order
        value, tick = _tagged(e, job)
        clock = max(clock, tick)
        items.append(Item(e.topic, e.partition, e.key or b"", value, clock))
    # Records before the first frame (the status in force when the recording began, an early action) go
    # out with it: a simulated time of 0 would hold the replay's pacing and clock at 1970.
    first = next((i.sim_ms for i in items if i.sim_ms), 0)
    return [i if i.sim_ms else replace(i, sim_ms=first) for i in items]


def _is_status(value: bytes | None) -> bool:
    try:
        return simulator_status(orjson.loads(value or b"null")) is not None
    except orjson.JSONDecodeError:
        return False


def _tagged(e: Entry, job: str) -> tuple[bytes, int]:
    """(value with the job id, its tick) for a raw frame; anything else (or a frame that is not JSON, which
    the recording may hold on purpose) goes out unchanged, and only the header carries the job."""
    if e.value is None:
        return b"", 0
    if e.topic.startswith("raw."):
        try:
            doc = orjson.loads(e.value)
        except orjson.JSONDecodeError:
            return e.value, 0
        if isinstance(doc, dict):
            doc["job"] = job
            tick = doc.get("tick")
            return orjson.dumps(doc), tick if isinstance(tick, int) else 0
    return e.value, 0


@dataclass
class Summary:
    records: Counter[str]
    sim_from: int
    sim_to: int

    def describe(self, speed: float | None) -> str:
        lines = [f"  {topic:<24} {n:>10,} records" for topic, n in sorted(self.records.items())]
        span_s = max(0, self.sim_to - self.sim_from) / 1000
        pace = f"about {span_s / speed:,.0f} s at ×{speed:g}" if speed else "as fast as possible"
        lines.append(f"  simulated span {span_s / 3600:.2f} h: {pace}")
        return "\n".join(lines)


def summarise(items: list[Item]) -> Summary:
    ticks = [i.sim_ms for i in items if i.sim_ms]
    return Summary(Counter(i.topic for i in items), min(ticks, default=0), max(ticks, default=0))


@dataclass
class Player:
    """Plays a plan; `pause`, `resume` and `seek` may be called while it plays (from signals or stdin)."""

    settings: Settings  # its namespace is the replay's
    items: list[Item]
    job: str
    speed: float | None  # simulated seconds per real second; None = as fast as possible
    on_progress: Callable[[int], None] = lambda sent: None
    stay: bool = False  # at the end, wait (still seekable) until stopped instead of returning
    clock: Callable[[], float] = time.monotonic  # wall seconds; passed in so pacing is testable
    position: int = 0
    keys: Keys | None = None  # None: load_keys(settings) when playing
    _running: asyncio.Event = field(default_factory=asyncio.Event)
    _announce_now: asyncio.Event = field(default_factory=asyncio.Event)
    _seek: int | None = None
    _anchor: tuple[float, int] | None = None
    _woken: asyncio.Event = field(default_factory=asyncio.Event)  # a seek after the end

    def __post_init__(self) -> None:
        self._running.set()
        self._sims = [i.sim_ms for i in self.items]
        self._statuses = [n for n, i in enumerate(self.items) if i.topic == STATUS_TOPIC]

    def pause(self) -> None:
        self._running.clear()
        self._announce_now.set()

    def resume(self) -> None:
        self._running.set()
        self._announce_now.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def span(self) -> tuple[int, int] | None:
        """The recording's simulated span (first and last record's time), None when it holds nothing."""
        ticks = [t for t in self._sims if t]
        return (min(ticks), max(ticks)) if ticks else None

    @property
    def pending_from(self) -> int:
        """Where playing starts or continues: a pending seek's position, else the current one."""
        return self._seek if self._seek is not None else self.position

    @property
    def finished(self) -> bool:
        return self.position >= len(self.items) and self._seek is None

    def seek(self, sim_ms: int) -> None:
        """Continue from the first record at or after this simulated time (forwards or backwards); also
        after the end while the player stays. A time outside the recording's span is refused (ValueError
        saying the span): seeking past the end used to end the replay with no way back."""
        span = self.span
        if span is None or not span[0] <= sim_ms <= span[1]:
            raise ValueError(f"{local_iso(sim_ms)} is outside the recording: {describe_span(span)}")
        self._seek = bisect.bisect_left(self._sims, sim_ms)
        self._announce_now.set()
        self._woken.set()

    def in_force(self, position: int) -> list[Item]:
        """The simulator's status in force at `position`: the latest before it of each simulator (keyed by
        its source), in their order; what a seek to there must send first for the banner to be right."""
        seen: set[bytes] = set()
        latest: list[int] = []
        for n in reversed(self._statuses[: bisect.bisect_left(self._statuses, position)]):
            if self.items[n].key not in seen:
                seen.add(self.items[n].key)
                latest.append(n)
        return [self.items[n] for n in reversed(latest)]

    def obey(self, command: dict[str, Any]) -> bool:
        """Apply a control command {action: pause|resume|seek, sim_ms (seek), job?}; False if it is not for
        this job or not understood."""
        if command.get("job") not in (None, self.job):
            return False
        action, sim_ms = command.get("action"), command.get("sim_ms")
        if action == "pause":
            self.pause()
        elif action == "resume":
            self.resume()
        elif action == "seek" and isinstance(sim_ms, int) and not isinstance(sim_ms, bool):
            try:
                self.seek(sim_ms)
            except ValueError as exc:
                log.warning("seek refused: %s", exc)
                return False
        else:
            return False
        return True

    def status(self, state: ReplayState) -> dict[str, Any]:
        """What the wall's banner shows: job, speed (None = max), playing/paused/finished, where it is."""
        at = min(self.position, len(self.items) - 1)
        return ReplayStatus(
            job=self.job,
            speed=self.speed,
            state=state,
            sim_ms=self.items[at].sim_ms if self.items else None,
            position=self.position,
            records=len(self.items),
            at=int(time.time() * 1000),
            sim_from=self.span[0] if self.span else None,
            sim_to=self.span[1] if self.span else None,
            stays=self.stay,
        ).model_dump(mode="json")

    async def play(self) -> int:
        partitions = max([i.partition for i in self.items], default=0) + 1
        layout = Topics(self.settings.namespace).layout(max(partitions, self.settings.partitions))
        await ensure_topics(self.settings, layout)
        self.keys = self.keys or load_keys(self.settings)
        producer = make_producer(self.settings)
        await producer.start()
        sender = BatchProducer(producer)
        headers = [(HEADER, self.job.encode())]
        sent = 0
        announcer = asyncio.create_task(self._announce(producer))
        listener = asyncio.create_task(self._listen(int(time.time() * 1000)))
        try:
            while True:
                if self.finished:
                    if not self.stay:
                        break
                    await self._wait_at_end()
                    continue
                if not self._running.is_set():
                    await self._running.wait()
                    self._anchor = None
                if self._seek is not None:
                    self.position, self._seek, self._anchor = self._seek, None, None
                    # What came before the new position is skipped: the scenario's stage there is not.
                    await asyncio.gather(*await self._send(sender, self.in_force(self.position), headers))
                    continue
                if self._anchor is None:
                    # (wall time, sim time) the pacing is measured from; the namespace's clock is declared
                    # from it before anything it covers goes out.
                    self._anchor = anchor = (self.clock(), self.items[self.position].sim_ms)
                    await self._declare(producer, ReplayState.PLAYING)
                anchor = self._anchor
                end = self._due(anchor)
                if end == self.position:
                    await asyncio.sleep(self._wait_s(anchor))
                    continue
                futures = await self._send(sender, self.items[self.position : end], headers)
                await asyncio.gather(*futures)
                sent += end - self.position
                self.position = end
                self.on_progress(sent)
        finally:
            for task in (announcer, listener):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(Exception):
                await self._publish(producer, ReplayState.FINISHED)
            await producer.stop()
        return sent

    async def _wait_at_end(self) -> None:
        """Played to the end and staying: say so, and wait for a seek (or to be stopped)."""
        self._anchor = None
        self._announce_now.set()
        self._woken.clear()
        while self.finished:
            await self._woken.wait()
            self._woken.clear()

    @property
    def state(self) -> ReplayState:
        if self.finished:
            return ReplayState.FINISHED
        return ReplayState.PAUSED if self.paused else ReplayState.PLAYING

    async def _announce(self, producer: Any) -> None:
        """The replay's status on `<ns>.replay` at once on pause, resume or seek, else every second."""
        while True:
            await self._publish(producer, self.state)
            self._announce_now.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._announce_now.wait(), STATUS_EVERY_S)

    async def _listen(self, since_ms: int) -> None:
        """Obey commands on `<ns>.replay.control` sent after this replay started (older ones, which the
        broker's short end offset may hand back, are someone else's)."""
        tp = TopicPartition(Topics(self.settings.namespace).replay_control, 0)
        consumer = make_consumer(self.settings, enable_auto_commit=False, group_id=None)
        await consumer.start()
        try:
            consumer.assign([tp])
            await consumer.seek_to_end(tp)
            while True:
                for record in (await consumer.getmany(timeout_ms=500)).get(tp, []):
                    if record.timestamp >= since_ms:
                        self._obey_record(record)
        finally:
            await consumer.stop()

    def _obey_record(self, record: Any) -> None:
        """Commands must carry the wall's signature (control key): anyone else is ignored, and logged."""
        assert self.keys is not None
        value = record.value
        if not self.keys.control.verify(record.topic, record.key, value, record.headers):
            log.warning("unsigned replay command ignored: %r", (value or b"")[:200])
            return
        try:
            command = orjson.loads(value or b"null")
            obeyed = isinstance(command, dict) and self.obey(command)
        except orjson.JSONDecodeError:
            obeyed, command = False, value
        log.info("replay command %s: %s", "obeyed" if obeyed else "ignored", command)

    async def _publish(self, producer: Any, state: ReplayState) -> None:
        assert self.keys is not None
        topic = Topics(self.settings.namespace).replay_status
        key, value = self.job.encode(), orjson.dumps(self.status(state))
        await producer.send_and_wait(
            topic, value, key=key, headers=self.keys.control.headers(topic, key, value)
        )
        await self._declare(producer, state)

    async def _declare(self, producer: Any, state: ReplayState) -> None:
        """The replay's clock for the namespace: where it is and how fast it goes (0 unless playing; as
        fast as possible: the recording's end, a horizon it never passes)."""
        assert self.keys is not None
        if not self.items:
            return
        if self.speed is None:
            sim, speed = self.items[-1].sim_ms, None
        else:
            at = self.items[min(self.position, len(self.items) - 1)].sim_ms
            if self._anchor is not None and state == ReplayState.PLAYING:
                at = max(at, int(self._anchor[1] + (self.clock() - self._anchor[0]) * self.speed * 1000))
            sim, speed = at, (self.speed if state == ReplayState.PLAYING else 0.0)
        source = f"replay:{self.job}"
        await declare(producer, self.settings, self.keys.control, Declaration(source, sim, _wall_ms(), speed))

    def _due(self, anchor: tuple[float, int]) -> int:
        """Index after the last record due now (at most CHUNK ahead)."""
        limit = min(len(self.items), self.position + CHUNK)
        if self.speed is None:
            return limit
        now_sim = anchor[1] + (self.clock() - anchor[0]) * self.speed * 1000
        return max(self.position, min(limit, bisect.bisect_right(self._sims, now_sim, self.position, limit)))

    def _wait_s(self, anchor: tuple[float, int]) -> float:
        assert self.speed is not None
        due_at = anchor[0] + (self.items[self.position].sim_ms - anchor[1]) / (self.speed * 1000)
        return min(0.2, max(0.001, due_at - self.clock()))  # short naps: pause and seek stay prompt

    async def _send(
        self, sender: BatchProducer, items: list[Item], headers: list[tuple[str, bytes]]
    ) -> list[asyncio.Future[Any]]:
        prefix = f"{self.settings.namespace}."
        runs: dict[tuple[str, int], list[tuple[bytes, bytes]]] = {}
        for item in items:
            runs.setdefault((item.topic, item.partition), []).append((item.key, item.value))
        futures: list[asyncio.Future[Any]] = []
        for (topic, partition), records in runs.items():
            if topic.startswith("raw."):
                futures += await sender.send_partition(prefix + topic, partition, records, headers)
                continue
            # Documents (operator actions, or aggregates and alerts if asked for) are signed for the topic
            # they now go to: the recording's signatures name the recorded namespace. The simulator's
            # status is the time source's, signed with the control key, and published now.
            assert self.keys is not None
            status = topic == STATUS_TOPIC
            signer = self.keys.control if status else self.keys.document
            for key, recorded in records:
                value = _restamped(recorded) if status else recorded
                signed = [*headers, *signer.headers(prefix + topic, key, value)]
                futures += await sender.send_partition(prefix + topic, partition, [(key, value)], signed)
        return futures


def _restamped(value: bytes) -> bytes:
    """A status with `at` (when it was published) now: the wall keeps a simulator's latest status by it, so a
    status sent again after a seek back must not look older than the one it replaces."""
    doc = orjson.loads(value)
    doc["at"] = _wall_ms()
    return orjson.dumps(doc)


def describe_span(span: tuple[int, int] | None) -> str:
    """'2025-10-14T17:00:00+07:00 .. 2025-10-15T05:00:00+07:00' (Vietnam time), or that there is none."""
    if span is None:
        return "it holds no timed records"
    return f"{local_iso(span[0])} .. {local_iso(span[1])} (Vietnam time)"
