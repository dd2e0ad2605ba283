"""The raw stage's bulk intake (RawStage.take_records, fed a fetch's records by the consumer): it takes
records as one at a time would, and stops taking a partition the moment the consumer says it is no longer
this worker's (a rebalance landing inside a batch), leaving the rest of it untouched for the next owner."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from functools import cache
from typing import Any, cast

from aiokafka.structs import ConsumerRecord, TopicPartition

from ioc.contract.deadletter import DeadLetter, Source
from ioc.kafka import partition_for
from ioc.settings import Settings
from processors.pipeline import Pipeline
from processors.raw_stage import RawStage
from simulators.faults import Record
from tests.unit.simkit import city, simulate

SETTINGS = Settings(namespace="unit", partitions=4)
Fetch = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]


class Letters:
    """Where the raw stage sends dead letters: kept to be read by the test."""

    def __init__(self) -> None:
        self.sent: list[DeadLetter] = []

    async def dead_letters(self, letters: list[DeadLetter], domain: str) -> None:
        self.sent += letters


@cache
def traffic_records() -> list[Record]:
    return simulate(["traffic"], "2025-10-14T07:00", 0.5, seed=5).records


def fetch(pipeline: Pipeline, records: list[Record]) -> Fetch:
    """The records as a consumer's fetch returns them: by partition (as the simulator keys them), offsets
    counted from 0."""
    out: Fetch = defaultdict(list)
    topic = pipeline.topics.raw("traffic")
    for r in records:
        tp = TopicPartition(topic, partition_for(r.key, SETTINGS.partitions))
        offset = len(out[tp])
        out[tp].append(ConsumerRecord(*tp, offset, 0, 0, r.key, r.value, None, 0, len(r.value), ()))
    return dict(out)


def stage() -> tuple[RawStage, Letters]:
    pipeline, letters = Pipeline(SETTINGS, city()), Letters()
    # Neither the Faust app nor the clock watch is reached by records on their own partitions with readings
    # before the trusted clock's limit; the checkpoints count as looked up already.
    raw = RawStage(cast(Any, None), pipeline, cast(Any, letters), cast(Any, None), cast(Any, None))
    pipeline.restored.update((tp.topic, tp.partition) for tp in fetch(pipeline, traffic_records()))
    return raw, letters


def taken_one_by_one(fetched: Fetch, upto: dict[TopicPartition, int]) -> tuple[dict[Any, int], Any]:
    """A pipeline fed each partition's first `upto[tp]` records one at a time: (its ledger, its state)."""
    pipeline = Pipeline(SETTINGS, city())
    for tp, batch in fetched.items():
        for record in batch[: upto[tp]]:
            pipeline.take_in(
                "traffic", record.value or b"", Source(tp.topic, tp.partition, record.offset, record.key)
            )
    return dict(pipeline.ledger.processed), pipeline.states["traffic"].drain()


def test_a_fetch_is_taken_as_one_record_at_a_time_would_be() -> None:
    raw, letters = stage()
    fetched = fetch(raw.pipeline, traffic_records())
    assert len(fetched) == SETTINGS.partitions and min(map(len, fetched.values())) > 10

    asyncio.run(raw.take_records(fetched, lambda tp: True))

    ledger, state = taken_one_by_one(fetched, {tp: len(batch) for tp, batch in fetched.items()})
    assert dict(raw.pipeline.ledger.processed) == ledger
    assert raw.pipeline.states["traffic"].drain() == state
    assert letters.sent == []


def test_a_partition_revoked_inside_a_batch_is_not_taken_past_that_point() -> None:
    raw, _ = stage()
    fetched = fetch(raw.pipeline, traffic_records())
    revoked, kept = list(fetched)[:2]
    cut = len(fetched[revoked]) // 3
    asked: dict[TopicPartition, int] = defaultdict(int)

    def live(tp: TopicPartition) -> bool:
        # The consumer's answer flips for one partition after `cut` of its records, as if the rebalance
        # came in while the worker gave the event loop a turn.
        asked[tp] += 1
        return tp != revoked or asked[tp] <= cut

    asyncio.run(raw.take_records({revoked: fetched[revoked], kept: fetched[kept]}, live))

    upto = {revoked: cut, kept: len(fetched[kept])}
    ledger, state = taken_one_by_one({revoked: fetched[revoked], kept: fetched[kept]}, upto)
    assert raw.pipeline.ledger.processed[(revoked.topic, revoked.partition)] == cut  # the next offset to take
    assert dict(raw.pipeline.ledger.processed) == ledger
    assert raw.pipeline.states["traffic"].drain() == state
