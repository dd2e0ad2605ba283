"""Partition checkpoints: a worker that restores another's checkpoints and then sees the rest of the stream
(including records the first worker had already folded in) publishes exactly what one worker would have."""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson

from ioc.contract import Reason
from ioc.contract.deadletter import Source
from ioc.kafka import partition_for
from ioc.topics import Topics
from processors import checkpoint
from processors.checkpoint import TP, Checkpointed, Ledger
from processors.environment import EnvironmentState
from processors.health import MAX_HOUR_EVENTS, MAX_WAITING, HealthState, HospitalState
from processors.intake import Intake
from processors.lighting import LightingState
from processors.traffic import TrafficState
from simulators.faults import Record
from tests.unit.simkit import city, simulate

TOPICS = Topics("unit")
PARTITIONS = 6
LATENESS_MS = 300_000


class Worker:
    """The raw stage of one worker, without Faust: intake, one state per domain and the ledger."""

    def __init__(self) -> None:
        self.intake = Intake(city().known, LATENESS_MS)
        self.states: dict[str, Any] = {
            "traffic": TrafficState(city(), LATENESS_MS),
            "health": HealthState(),
            "lighting": LightingState(city()),
            "environment": EnvironmentState(city()),
        }
        self.ledger = Ledger(topics=frozenset(TOPICS.all_raw()))
        self.offsets: dict[TP, int] = {}
        self.duplicates = 0

    def feed(self, domain: str, record: Record) -> None:
        tp = (TOPICS.raw(domain), partition_for(record.key, PARTITIONS))
        offset = self.offsets.get(tp, 0)
        self.offsets[tp] = offset + 1
        frame, letters = self.intake.accept(record.value, Source(*tp, offset, record.key))
        self.duplicates += sum(letter.reason == Reason.DUPLICATE for letter in letters)
        key = None
        if frame is not None:
            self.states[domain].add(frame)
            key = (frame.type, frame.group)
        self.ledger.record(tp, offset, key)

    def state_of(self, tp: TP) -> Checkpointed:
        return self.states[tp[0].rsplit(".", 1)[1]]

    def drain(self) -> dict[str, list[Any]]:
        return {d: s.drain() for d, s in self.states.items()}


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
    checkpoints = {
        tp: first.ledger.snapshot(tp, first.intake, first.state_of(tp)) for tp in first.ledger.due()
    }

    assert any(h.registered for h in first.states["health"].hospitals.values())
    second = Worker()
    for tp, (offset, raw) in checkpoints.items():
        assert second.ledger.restore(tp, raw, second.intake, second.state_of(tp)) == offset
    second.offsets = dict(first.offsets)
    # At-least-once: the new owner re-reads the last records the first worker had already folded in.
    replayed = records[half - 40 : half]
    for tp in second.offsets:
        second.offsets[tp] -= sum(1 for d, r in replayed if (TOPICS.raw(d), partition_for(r.key, 6)) == tp)
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
    tp = next(tp for tp in w.ledger.due() if tp[0] == TOPICS.raw("traffic"))
    groups = {g for _, g in w.ledger.keys[tp]}
    w.ledger.forget(tp, w.intake, w.state_of(tp))
    assert not groups & set(w.states["traffic"].groups)
    assert tp not in w.ledger.owned() and not w.intake.export(*tp)


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
