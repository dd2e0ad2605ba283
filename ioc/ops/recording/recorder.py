"""`ioc record`: capture chosen topics of a namespace (raw, aggregates, alerts, ...) into a recording file,
from now or from the beginning, until a duration, a size or (from the beginning) the end is reached.

The simulator's status (`simulator`: the scenario and its current stage) is recorded by default, so a
replay's banner can name them; recording from now, the status in force when it starts is taken as well."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import TopicPartition

from ioc.clock import VN_TZ
from ioc.kafka import make_consumer
from ioc.ops.recording.file import Entry, Writer
from ioc.settings import Settings
from ioc.topics import DOMAINS

FLUSH_EVERY_S = 1.0  # at most this much of a recording is lost if its recorder is killed (SIGKILL)
TOPIC_GROUPS = {
    "raw": [f"raw.{d}" for d in DOMAINS],
    "aggregates": ["aggregates"],
    "alerts": ["alerts"],
    "actions": ["operator-actions"],
    "deadletter": ["deadletter"],
}
DEFAULT_TOPICS = "raw,aggregates,alerts,simulator"
# Topics read for their latest value: recording from now starts with the value in force, not after it.
IN_FORCE = ("simulator",)


def relative_topics(spec: str) -> list[str]:
    """'raw,alerts' → ['raw.traffic', ..., 'alerts']; a single topic may be named as well ('raw.traffic')."""
    out: list[str] = []
    for name in (x.strip() for x in spec.split(",") if x.strip()):
        for topic in TOPIC_GROUPS.get(name, [name]):
            if topic not in out:
                out.append(topic)
    return out


@dataclass
class Progress:
    entries: int = 0
    size: int = 0  # compressed bytes written
    done: bool = False
    topics: Counter[str] = field(default_factory=Counter)  # records per topic (relative)
    first_ms: int | None = None  # the records' broker timestamps, first and last
    last_ms: int | None = None
    sim_from: int | None = None  # the raw frames' ticks (simulated time), lowest and highest
    sim_to: int | None = None
    stopped_by: str | None = None  # the signal that ended it ("SIGINT", "SIGTERM"), if one did

    def count(self, topic: str, records: Sequence[Any]) -> None:
        """One fetched batch of a topic's records (each with `timestamp` and `value`)."""
        if not records:
            return
        self.topics[topic] += len(records)
        stamps = [r.timestamp for r in records]
        self.first_ms = min(stamps if self.first_ms is None else [self.first_ms, *stamps])
        self.last_ms = max(stamps if self.last_ms is None else [self.last_ms, *stamps])
        if not topic.startswith("raw."):
            return
        ticks = [t for r in records if r.value and (t := _tick(r.value)) is not None]
        if ticks:
            self.sim_from = min(ticks if self.sim_from is None else [self.sim_from, *ticks])
            self.sim_to = max(ticks if self.sim_to is None else [self.sim_to, *ticks])

    def summary(self, out: Path, topics: list[str]) -> str:
        """What was recorded: records per topic, the time it spans, the file's size and path."""
        lines = [f"stopped by {self.stopped_by}; the file is closed"] if self.stopped_by else []
        lines.append(f"recorded {self.entries:,} records, {self.size / 1e6:.2f} MB compressed, to {out}")
        counts = [f"{t} {self.topics[t]:,}" for t in topics] + [
            f"{t} {n:,}" for t, n in sorted(self.topics.items()) if t not in topics
        ]
        lines.append(f"  topics: {', '.join(counts)}")
        if self.sim_from is not None and self.sim_to is not None:
            lines.append(f"  simulated time (the raw frames' ticks): {_span(self.sim_from, self.sim_to)}")
        if self.first_ms is not None and self.last_ms is not None:
            lines.append(f"  broker time (the records' timestamps): {_span(self.first_ms, self.last_ms)}")
        return "\n".join(lines)


def _span(first_ms: int, last_ms: int) -> str:
    """'2025-10-14 10:00:00 → 10:20:00 (20 min 0 s)' in Vietnam time; the date again if it changed."""
    a, b = (datetime.fromtimestamp(t / 1000, VN_TZ) for t in (first_ms, last_ms))
    end = b.strftime("%H:%M:%S" if a.date() == b.date() else "%Y-%m-%d %H:%M:%S")
    return f"{a:%Y-%m-%d %H:%M:%S} → {end} Vietnam time ({_length((last_ms - first_ms) / 1000)})"


def _length(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


# A frame as the contract encodes it names its tick in its first bytes, before the columns: read there
# (0.5 µs) instead of parsing the whole frame (28 µs for the simulators' 12 KB frames); others in full.
_HEAD_TICK = re.compile(rb'[{,]"tick":(-?\d+)[,}]')
_HEAD_BYTES = 256


def _tick(value: bytes) -> int | None:
    head = _HEAD_TICK.search(value, 0, _HEAD_BYTES)
    if head is not None:
        return int(head[1])
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None  # recorded as it came: the worker dead-letters it
    tick = doc.get("tick") if isinstance(doc, dict) else None
    return tick if isinstance(tick, int) and not isinstance(tick, bool) else None


async def record(
    settings: Settings,
    topics: list[str],
    out: Path,
    *,
    duration_s: float | None = None,
    max_bytes: int | None = None,
    from_beginning: bool = False,
    on_progress: Callable[[Progress], None] = lambda p: None,
) -> Progress:
    """Capture until the duration or size bound; from the beginning with no bound, until caught up; in any
    case until SIGINT or SIGTERM, after which the file is closed whole as after a bound."""
    progress = Progress()
    stop = asyncio.Event()
    _stop_on_signals(stop, progress)
    consumer = make_consumer(settings, enable_auto_commit=False)
    try:
        await consumer.start()
    except BaseException:
        await consumer.stop()  # else aiokafka warns of an unclosed consumer on the way out
        raise
    prefix = f"{settings.namespace}."
    writer: Writer | None = None
    try:
        tps = await _partitions(consumer, [prefix + t for t in topics])
        consumer.assign(tps)
        kept = {tp.topic for tp in tps if tp.topic.removeprefix(prefix) in IN_FORCE}
        started = int(time.time() * 1000)
        firsts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        earlier = sum(ends[tp] - firsts[tp] for tp in tps)
        header = {
            "namespace": settings.namespace,
            "topics": topics,
            "started": started,
            "from_beginning": from_beginning,
            # Records already on the topics when a recording from now began (Tansu may under-report them):
            # above 0 it starts mid-stream, which `ioc compare` warns about.
            "earlier_records": 0 if from_beginning else earlier,
        }
        writer = Writer(out, header)
        if from_beginning:
            await consumer.seek_to_beginning(*tps)
        else:
            await consumer.seek_to_end(*tps)
            for tp in tps:
                if tp.topic in kept:  # from its last record (with a short end: its last batch's first one)
                    consumer.seek(tp, max(0, ends[tp] - 1))
        # From now means records produced from now: the broker may report an end short of the true one
        # (Tansu: the last batch's first offset + 1), so older records of that batch are dropped by time;
        # on a status topic they are what is in force when the recording starts, and kept.
        since = 0 if from_beginning else started
        deadline = time.monotonic() + duration_s if duration_s else None
        idle_fetches = 0
        flushed = time.monotonic()
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for tp, records in batch.items():
                topic = tp.topic.removeprefix(prefix)
                wanted = [r for r in records if r.timestamp >= since or tp.topic in kept]
                writer.write(
                    Entry(topic, tp.partition, r.offset, r.timestamp, r.key, r.value) for r in wanted
                )
                progress.count(topic, wanted)
            if time.monotonic() - flushed >= FLUSH_EVERY_S:
                writer.flush()
                flushed = time.monotonic()
            progress.entries, progress.size = writer.entries, writer.size
            on_progress(progress)
            if deadline is not None and time.monotonic() >= deadline:
                break
            if max_bytes is not None and writer.size >= max_bytes:
                break
            idle_fetches = 0 if batch else idle_fetches + 1
            unbounded = from_beginning and deadline is None and max_bytes is None
            # Caught up: quiet and past every reported end (which the broker may under-report).
            if unbounded and idle_fetches >= 2 and await _at_ends(consumer, ends):
                break
    finally:
        if writer is not None:
            writer.close()
        await consumer.stop()
    assert writer is not None
    progress.entries, progress.size, progress.done = writer.entries, writer.size, True
    on_progress(progress)
    return progress


def _stop_on_signals(stop: asyncio.Event, progress: Progress) -> None:
    """SIGINT (Ctrl-C) and SIGTERM end the recording as a bound would: the loop stops, the file is closed.
    A SIGINT the parent told this process to ignore (a job started in the background) stays ignored."""
    loop = asyncio.get_running_loop()

    def stopped(name: str) -> None:
        progress.stopped_by = progress.stopped_by or name
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        if sig == signal.SIGINT and signal.getsignal(sig) == signal.SIG_IGN:
            continue
        loop.add_signal_handler(sig, stopped, sig.name)


async def _at_ends(consumer: Any, ends: dict[TopicPartition, int]) -> bool:
    return all([await consumer.position(tp) >= end for tp, end in ends.items()])


async def _partitions(consumer: Any, names: list[str]) -> list[TopicPartition]:
    await consumer._client.force_metadata_update()
    missing = [n for n in names if not consumer.partitions_for_topic(n)]
    if missing:
        raise ValueError(f"no such topics: {', '.join(missing)}")
    return [TopicPartition(n, p) for n in names for p in sorted(consumer.partitions_for_topic(n))]


def run(settings: Settings, topics: list[str], out: Path, **bounds: Any) -> Progress:
    return asyncio.run(record(settings, topics, out, **bounds))
