"""The raw stage's bulk intake (RawStage.take_records, fed a fetch's records by the consumer): it takes
records as one at a time would; stops taking a partition the moment the consumer says it is no longer
this worker's (a rebalance landing inside a batch), leaving the rest untouched for the next owner; makes a
revocation wait for a record it is in the middle of; and hands a partition it failed to take (a broker
error) back to be read again from the right offset, taking the other partitions all the same."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import replace
from functools import cache
from types import SimpleNamespace
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
    """The raw stage's outlet: dead letters and checkpoints kept to be read by the test; a send of a frame
    to another partition held until `gate` is set; dead letters fail `failures` times (a broker error)."""

    def __init__(self) -> None:
        self.sent: list[DeadLetter] = []
        self.checkpoints: dict[int, list[bytes]] = {}
        self.gate = asyncio.Event()
        self.failures = 0

    async def dead_letters(self, letters: list[DeadLetter], domain: str) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the broker did not answer")
        self.sent += letters

    async def checkpoint(self, name: str, key: bytes, parts: list[bytes], partition: int) -> None:
        self.checkpoints[partition] = parts

    def raw(self, domain: str) -> Letters:
        return self

    async def send(self, **_: Any) -> None:  # a frame sent on to its group's partition
        await self.gate.wait()


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
    # Of the Faust app only the assignment is asked, and the clock watch is not reached by records on their
    # own partitions with readings before the trusted clock's limit; the checkpoints count as looked up.
    given = set(fetch(pipeline, traffic_records()))
    app = SimpleNamespace(consumer=SimpleNamespace(assignment=lambda: given))  # what the worker was given
    raw = RawStage(cast(Any, app), pipeline, cast(Any, letters), cast(Any, None), _broker_unchanged)
    pipeline.restored.update((tp.topic, tp.partition) for tp in given)
    return raw, letters


async def _broker_unchanged() -> None:
    return None


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


def test_a_revocation_waits_for_the_record_being_taken_and_checkpoints_it() -> None:
    # A frame that arrived on another partition than its group's is being sent on when the rebalance comes:
    # the revocation must not checkpoint and forget the partition under it (the record would then be
    # recorded into a partition already given away, and a stale checkpoint written for it later).
    raw, letters = stage()
    fetched = fetch(raw.pipeline, traffic_records())
    home, batch = next(iter(fetched.items()))
    elsewhere = TopicPartition(home.topic, (home.partition + 1) % SETTINGS.partitions)
    first = batch[0]
    stray = ConsumerRecord(*elsewhere, 7, 0, 0, first.key, first.value, None, 0, len(first.value or b""), ())
    owned = {elsewhere}

    async def rebalance() -> tuple[bool, set[Any]]:
        taking = asyncio.create_task(raw.take_records({elsewhere: [stray]}, lambda tp: tp in owned))
        await asyncio.sleep(0.01)  # the frame is being sent on to its group's partition
        owned.clear()  # Faust stops the flow, then signals the revocation
        revoking = asyncio.create_task(raw.revoked({elsewhere}))
        await asyncio.sleep(0.01)
        waited = not revoking.done()
        letters.gate.set()
        await asyncio.gather(taking, revoking)
        return waited, raw.pipeline.ledger.owned()

    waited, owned_after = asyncio.run(rebalance())
    assert waited, "the revocation ran while a record was half taken"
    assert owned_after == set()  # forgotten once the record was recorded, not brought back after
    assert elsewhere.partition in letters.checkpoints  # the next owner starts after the sent-on frame


def test_a_partition_that_failed_is_read_again_and_the_others_are_taken() -> None:
    raw, letters = stage()
    fetched = fetch(raw.pipeline, traffic_records())
    broken, whole = list(fetched)[:2]
    junk = ConsumerRecord(*broken, len(fetched[broken]), 0, 0, b"x", b"{", None, 0, 1, ())
    batch = [*fetched[broken][:3], junk, *fetched[broken][3:]]
    batch = [replace(r, offset=i) for i, r in enumerate(batch)]
    letters.failures = 1  # the dead letter of the malformed record meets a broker error

    again = asyncio.run(raw.take_records({broken: batch, whole: fetched[whole]}, lambda tp: True))

    assert again == {broken: 4}  # the malformed record (offset 3) was recorded; its letter is lost
    processed = raw.pipeline.ledger.processed
    assert processed[(broken.topic, broken.partition)] == 4  # nothing past the failure taken
    assert processed[(whole.topic, whole.partition)] == len(fetched[whole])


def test_the_first_fetch_reads_the_checkpoints_of_every_raw_topic_given_at_once() -> None:
    # A worker's first fetches bring some topics before others: each topic's checkpoints read only when its
    # records came held a later fetch up (the 1 h benchmark measured those waits).
    raw, _ = stage()
    p = raw.pipeline
    lighting = TopicPartition(p.topics.raw("lighting"), 2)
    raw.app.consumer.assignment().add(lighting)  # given, its records not yet fetched, its checkpoint not read
    read: list[list[str]] = []
    reading: set[str] = set()

    async def restore(topic: str) -> None:
        reading.add(topic)
        await asyncio.sleep(0.01)  # a broker round trip: the others are read meanwhile
        read.append(sorted(reading))
        p.restored.update(
            (tp.topic, tp.partition) for tp in raw.app.consumer.assignment() if tp.topic == topic
        )

    raw._restore = restore  # type: ignore[method-assign]
    traffic = p.topics.raw("traffic")
    p.restored -= {tp for tp in p.restored if tp[0] == traffic}
    asyncio.run(raw.take_records(fetch(p, traffic_records()), lambda tp: True))
    assert read == [sorted([traffic, lighting.topic])] * 2  # both read, at the same time, before any record
    assert p.ledger.processed  # and the records were taken after
