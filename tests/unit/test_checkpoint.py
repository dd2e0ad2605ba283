"""Partition checkpoints: a worker that restores another's checkpoints and then sees the rest of the stream
(including records the first worker had already folded in) publishes exactly what one worker would have."""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson

from ioc.contract import Reason
from ioc.contract.deadletter import Source
from ioc.kafka import partition_for
from ioc.settings import Settings
from processors import checkpoint
from processors.checkpoint import TP
from processors.health import MAX_HOUR_EVENTS, MAX_WAITING, HealthState, HospitalState
from processors.pipeline import Pipeline
from processors.traffic import TrafficState
from simulators.faults import Record
from tests.unit.simkit import city, simulate

SETTINGS = Settings(namespace="unit", partitions=6, allowed_lateness_s=300)


class Worker:
    """The raw stage of one worker without Faust: its Pipeline fed record by record, offsets counted."""

    def __init__(self) -> None:
        self.pipeline = Pipeline(SETTINGS, city())
        self.offsets: dict[TP, int] = {}
        self.duplicates = 0

    def feed(self, domain: str, record: Record) -> None:
        tp = (self.pipeline.topics.raw(domain), partition_for(record.key, SETTINGS.partitions))
        offset = self.offsets.get(tp, 0)
        self.offsets[tp] = offset + 1
        _, letters = self.pipeline.take_in(domain, record.value, Source(*tp, offset, record.key))
        self.duplicates += sum(letter.reason == Reason.DUPLICATE for letter in letters)

    def drain(self) -> dict[str, list[Any]]:
        return {d: s.drain() for d, s in self.pipeline.states.items()}


@cache
def domain_records() -> list[tuple[str, Record]]:
    # A weekday late morning: patients registering and waiting, so hospital state is far from empty.
    run = simulate(["traffic", "health", "lighting", "environment"], "2025-10-14T10:30", 1.0, seed=8)
    return [(r.domain, r) for r in run.records]


def test_a_restored_worker_publishes_what_one_worker_would_have() -> None:
    records = domain_records()
    assert {d for d, _ in records} == {"traffic", "health", "lighting", "environment"}
    half = len(records) // 2

    straight = Worker()
    for domain, r in records:
        straight.feed(domain, r)

    first = Worker()
    for domain, r in records[:half]:
        first.feed(domain, r)
    checkpoints = {tp: first.pipeline.snapshot(tp) for tp in first.pipeline.ledger.due()}

    health = first.pipeline.states["health"]
    assert isinstance(health, HealthState) and any(h.registered for h in health.hospitals.values())
    second = Worker()
    for tp, (offset, raw) in checkpoints.items():
        assert second.pipeline.restore(tp, raw) == offset
    second.offsets = dict(first.offsets)
    # At-least-once: the new owner re-reads the last records the first worker had already folded in.
    replayed = records[half - 40 : half]
    raw_topic = second.pipeline.topics.raw
    for tp in second.offsets:
        second.offsets[tp] -= sum(1 for d, r in replayed if (raw_topic(d), partition_for(r.key, 6)) == tp)
    for domain, r in records[half - 40 :]:
        second.feed(domain, r)

    assert second.duplicates == len(replayed)
    want, got = straight.drain(), second.drain()
    assert got["traffic"] == want["traffic"]  # every window, final and open, counted exactly once
    for domain in ("health", "lighting", "environment"):
        published = dict(got[domain])
        assert published, domain
        expected = {k: v for k, v in want[domain] if k in published}
        for group, doc in published.items():
            if doc["kind"] == "water":  # every reading since the last drain: the new owner's are the tail
                mine, all_ = doc.pop("items"), expected[group].pop("items")
                assert mine and mine == all_[-len(mine) :], group
        assert published == expected, domain


def test_forgetting_a_partition_drops_its_groups_and_clocks() -> None:
    records = domain_records()
    w = Worker()
    for domain, r in records[:500]:
        w.feed(domain, r)
    p = w.pipeline
    tp = next(tp for tp in p.ledger.due() if tp[0] == p.topics.raw("traffic"))
    groups = {g for _, g in p.ledger.keys[tp]}
    p.forget(tp)
    traffic = p.states["traffic"]
    assert isinstance(traffic, TrafficState) and groups and not groups & set(traffic.groups)
    assert tp not in p.ledger.owned() and not p.intake.export(*tp)


def test_checkpoints_are_cut_into_parts_and_the_last_complete_one_counts() -> None:
    raw = orjson.dumps({"blob": [str(k) for k in range(400_000)]})
    parts = checkpoint.pack(raw)
    assert len(parts) > 1 and all(len(p) <= checkpoint.PART_BYTES + 32 for p in parts)
    assert checkpoint.unpack(list(reversed(parts))) == raw
    older = checkpoint.pack(b'{"older": true}')
    # A writer died after the first part of a newer checkpoint: the older complete one is used.
    assert checkpoint.latest([*older, parts[0], b"junk"]) == older
    assert checkpoint.latest([*older, *parts]) == parts
    assert checkpoint.latest([b"junk"]) is None


def test_a_hospital_at_every_cap_still_checkpoints_within_the_part_limit() -> None:
    """The health state's caps bound its checkpoint: a flood of valid-looking taps cannot make one that
    the broker refuses (which would stop the offsets from advancing)."""
    state = HealthState()
    h = state.hospitals["hc.hn-friendship"] = HospitalState()
    t0 = 1_763_800_000_000
    h.registered = {f"card-{k:08d}": t0 + k for k in range(MAX_WAITING)}
    h.arrivals.extend(t0 + k for k in range(MAX_HOUR_EVENTS))
    h.waits.extend((t0 + k, 60_000 + k, k % 7 == 0) for k in range(MAX_HOUR_EVENTS))
    state.hospitals["hc.vinh-general"] = h  # two such hospitals on one partition
    snap = state.export({("HealthCardTap", "hc.hn-friendship"), ("HealthCardTap", "hc.vinh-general")})
    parts = checkpoint.pack(orjson.dumps({"state": snap}))
    assert len(parts) <= checkpoint.MAX_PARTS
    assert orjson.loads(checkpoint.unpack(parts))["state"] == orjson.loads(orjson.dumps(snap))
