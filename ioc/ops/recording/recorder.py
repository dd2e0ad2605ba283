"""`ioc record`: capture chosen topics of a namespace (raw, aggregates, alerts, ...) into a recording file,
from now or from the beginning, until a duration, a size or (from the beginning) the end is reached.

The simulator's status (`simulator`: the scenario and its current stage) is recorded by default, so a
replay's banner can name them; recording from now, the status in force when it starts is taken as well."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition

from ioc.kafka import make_consumer
from ioc.ops.recording.file import Entry, Writer
from ioc.settings import Settings
from ioc.topics import DOMAINS

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
    bytes: int = 0
    done: bool = False


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
    """Capture until the duration or size bound; from the beginning with no bound, until caught up."""
    consumer = make_consumer(settings, enable_auto_commit=False)
    await consumer.start()
    prefix = f"{settings.namespace}."
    header = {"namespace": settings.namespace, "topics": topics, "started": int(time.time() * 1000)}
    writer = Writer(out, header)
    progress = Progress()
    try:
        tps = await _partitions(consumer, [prefix + t for t in topics])
        consumer.assign(tps)
        kept = {tp.topic for tp in tps if tp.topic.removeprefix(prefix) in IN_FORCE}
        ends = await consumer.end_offsets(tps)
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
        since = 0 if from_beginning else header["started"]
        deadline = time.monotonic() + duration_s if duration_s else None
        idle_fetches = 0
        while True:
            batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for tp, records in batch.items():
                writer.write(
                    Entry(tp.topic.removeprefix(prefix), tp.partition, r.offset, r.timestamp, r.key, r.value)
                    for r in records
                    if r.timestamp >= since or tp.topic in kept
                )
            progress.entries, progress.bytes = writer.entries, writer.size
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
        writer.close()
        await consumer.stop()
    progress.entries, progress.bytes, progress.done = writer.entries, writer.size, True
    on_progress(progress)
    return progress


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
