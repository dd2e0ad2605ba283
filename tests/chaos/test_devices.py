"""One bad device must never cost valid data: the cases an earlier hostile test found, against a real
worker and wall, with confluent-kafka as the device. Each case sends valid readings around the fault and
counts them in the worker's own metrics: everything valid is accepted, everything else dead-lettered."""

from __future__ import annotations

import asyncio
import random
import time
import zlib
from collections.abc import Callable

import orjson
import pytest
from aiokafka import TopicPartition

from ioc.kafka import make_consumer, partition_for
from ioc.ops import procs
from ioc.signing import Signer
from ioc.topics import Topics
from tests.chaos.conftest import Stack, record
from tests.chaos.device import MINUTE, Device, frame, minute_now, sensors
from tests.support.frames import street_levels
from tests.support.records import produce
from tests.support.wall import http_json, metric

pytestmark = pytest.mark.chaos
YEAR = 365 * 86_400_000
FLOOD, CABINETS, WEATHER = (
    ("FloodMonitoring", "wl.hoang-mai"),
    ("StreetlightControlCabinet", "sl.hoang-mai.01"),
    (
        "WeatherObserved",
        "wx.vinh",
    ),
)


def settle(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    procs.wait_for(check, timeout, 0.2, what)


def count(value: Callable[[], float], expected: int, timeout: float = 60) -> int:
    """Wait until `value()` reaches `expected` (or the time is up), then a little longer so that anything
    counted twice would show; the count seen."""
    deadline = time.monotonic() + timeout
    while value() < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    return int(value())


def test_a_reading_a_year_ahead_costs_its_group_nothing(stack: Stack) -> None:
    """+1 year on WL-HM-01 and on one cabinet of sl.hoang-mai.01, then a worker restart: every later frame
    of both groups is accepted, no false cabinet-offline alert, the wall shows the genuine level."""
    device = Device(stack.broker.bootstrap, stack.settings.namespace, partitioner="murmur2_random")
    t0 = minute_now() - 40 * MINUTE
    cabinets = sensors(*CABINETS)
    env0, lit0, future0 = stack.accepted("environment"), stack.accepted("lighting"), stack.letters("future")

    def minutes(ks: range) -> None:
        flood = [(FLOOD[1], frame(*FLOOD, k, t0 + k * MINUTE, currentLevel=0.3 + k / 100)) for k in ks]
        lamps = [(CABINETS[1], frame(*CABINETS, k, t0 + k * MINUTE, energyConsumed=1000.0 + k)) for k in ks]
        device.send("environment", flood)
        device.send("lighting", lamps)

    minutes(range(0, 8))
    poison_times = [t0 + 8 * MINUTE - 30_000] * (len(cabinets) - 1) + [t0 + YEAR]  # its own, valid time
    device.send("environment", [(FLOOD[1], frame(*FLOOD, 1000, t0 + YEAR))])
    device.send(
        "lighting", [(CABINETS[1], frame(*CABINETS, 1000, t0 + 8 * MINUTE, dateObserved=poison_times))]
    )
    minutes(range(8, 15))
    settle(lambda: stack.accepted("environment") - env0 >= 15, "15 flood readings")
    settle(lambda: stack.letters("future") - future0 >= 2, "2 future dead letters")
    assert stack.letters("late") == stack.letters("duplicate") == 0
    accepted_before = (stack.accepted("environment") - env0, stack.accepted("lighting") - lit0)
    time.sleep(1.5)  # a checkpoint round: what would have carried a poisoned watermark to the next worker
    stack.restart_worker()  # counters start again at 0 in the new process
    minutes(range(15, 30))
    settle(lambda: stack.accepted("environment") >= 15, "15 more flood readings after the restart")
    settle(lambda: stack.accepted("lighting") >= 15 * len(cabinets), "15 more lamp frames after the restart")
    env_accepted = accepted_before[0] + stack.accepted("environment")
    lit_accepted = accepted_before[1] + stack.accepted("lighting")
    sent = 30 + 30 * len(cabinets) + len(cabinets) - 1
    record("reading dated +1 year, worker restarted", "61 frames of two groups", "2 readings at +1 year",
           sent, int(env_accepted + lit_accepted))  # fmt: skip
    assert (env_accepted, lit_accepted) == (30, 30 * len(cabinets) + len(cabinets) - 1)
    assert stack.letters("late") == stack.letters("duplicate") == 0  # the new worker, after the restore

    def gauge() -> dict[str, object]:
        shown = http_json(f"{stack.web}/api/sensors?area=hoang-mai&type=FloodMonitoring", role="viewer")
        latest: dict[str, object] = next(s for s in shown["sensors"] if s["id"] == "WL-HM-01")["latest"] or {}
        return latest

    settle(lambda: gauge().get("t") == t0 + 29 * MINUTE, "the wall showing the last genuine level", 15)
    assert gauge()["currentLevel"] == pytest.approx(0.59)
    assert stack.health()["sim_time"] <= time.time() * 1000 + 60_000  # the wall's clock did not jump a year
    offline = http_json(f"{stack.web}/api/alerts?rule=cabinet-offline", role="viewer")
    assert offline["count"] == 0


def test_seq_jumps_reboots_and_refused_frames_cost_nothing(stack: Stack) -> None:
    device = Device(stack.broker.bootstrap, stack.settings.namespace, partitioner="murmur2_random")
    t0 = minute_now() - 120 * MINUTE
    env0, dup0 = stack.accepted("environment"), stack.letters("duplicate")
    unknown0 = stack.letters("unknown_sensor")
    key = WEATHER[1]

    def at(k: int, seq: int, **kw: object) -> tuple[str, bytes]:
        return key, frame(*WEATHER, seq, t0 + k * MINUTE, **kw)  # type: ignore[arg-type]

    records = [(key, frame(*WEATHER, 2**63 - 1, t0, ids=["WX-NOWHERE"]))]  # refused: unknown sensor
    records += [at(k, k) for k in range(1, 11)]  # 10 frames, seq 1..10
    records += [at(10 + k, k - 1) for k in range(1, 11)]  # the device reboots: seq 0..9 again, time goes on
    records += [at(21, 2**63 - 1), at(22, 11), at(23, 12)]  # one absurd seq, then its own seqs again
    records += [at(24, 13, temperature=999.0), at(24, 13)]  # refused (out of range), then corrected
    records += [at(25 + k, k, boot="boot-1") for k in range(5)]  # a device that sends a boot id
    records += [at(30 + k, k, boot="boot-2") for k in range(5)]  # ... rebooted: seqs from 0 in boot-2
    records += [at(34, 4, boot="boot-2")]  # a genuine re-delivery: the one duplicate here
    device.send("environment", records)
    accepted = count(lambda: stack.accepted("environment") - env0, 34)
    record("seq 2^63-1, reboots with and without boot id, refused then corrected", f"{len(records)} frames",
           "absurd seq on an unknown sensor and on a valid one, 2 reboots, 1 out-of-range frame",
           34, accepted)  # fmt: skip
    assert accepted == 34
    assert stack.letters("duplicate") - dup0 == 1
    assert stack.letters("unknown_sensor") - unknown0 == 1


def test_records_that_crashed_the_intake_are_dead_lettered_and_nothing_stalls(stack: Stack) -> None:
    """50 records with ragged nested arrays or objects in a choice column among 420 good frames."""
    device = Device(stack.broker.bootstrap, stack.settings.namespace, partitioner="murmur2_random")
    group = ("StreetlightControlCabinet", "sl.vinh.01")
    n = len(sensors(*group))
    t0 = minute_now() - 600 * MINUTE
    ragged = [[1, [2, 3]], [[4.0]]] + [5.0] * (n - 2)
    objects = [{"mode": "auto"}, ["automatic"]] + ["automatic"] * (n - 2)
    broken_after = set(random.Random(7).sample(range(420), 50))  # each next to a good frame of its time
    stream = []
    for k in range(420):
        t = t0 + k * 1000
        stream.append((group[1], frame(*group, k, t)))
        if k in broken_after:  # its valid readings are of their own time: new readings, not duplicates
            bad = {"totalActivePower": ragged} if len(stream) % 2 else {"workingMode": objects}
            stream.append((group[1], frame(*group, 10_000 + k, t + 500, **bad)))
    lit0, bad0, err0 = (
        stack.accepted("lighting"),
        stack.letters("bad_value_type"),
        stack.letters("processing_error"),
    )
    started = time.monotonic()
    device.send("lighting", stream)
    accepted = count(lambda: stack.accepted("lighting") - lit0, 420 * n + 50 * (n - 2), 120)
    took = time.monotonic() - started
    # Each bad frame has 2 bad readings and n - 2 good ones, which are valid readings too.
    record("ragged arrays and objects in a choice column", f"420 good + 50 bad frames ({took:.1f} s)",
           "50 records that crashed the intake", 420 * n + 50 * (n - 2), accepted)  # fmt: skip
    assert accepted == 420 * n + 50 * (n - 2)
    assert stack.letters("bad_value_type") - bad0 == 50
    assert stack.letters("processing_error") - err0 == 0
    assert "Traceback" not in stack.services.log("worker")


def test_junk_on_the_area_stage_topics_is_dead_lettered_and_the_stage_goes_on(stack: Stack) -> None:
    topics = Topics(stack.settings.namespace)
    forged = {
        "v": 1,
        "kind": "aqi",
        "group": "aq.vinh",
        "items": [{"id": "AQ-VIN-01", "t": minute_now(), "aqi": 480}],
    }
    wrong_key = Signer(b"not-the-processors-key-000")
    aggregates = [(b"vinh", b"\x00\xff junk")] * 10 + [(b"vinh", orjson.dumps(forged))] * 10
    actions = [(b"vinh", b"{not json")] * 5 + [
        (b"vinh", orjson.dumps({"alert": "x", "action": "resolve"}))
    ] * 5
    agg0 = stack.letters("unauthenticated", "aggregates")
    act0 = stack.letters("unauthenticated", "operator-actions")
    env0 = stack.accepted("environment")

    async def send() -> None:
        await produce(stack.settings, topics.aggregates, aggregates)
        await produce(stack.settings, topics.aggregates, [(b"vinh", orjson.dumps(forged))] * 5, wrong_key)
        await produce(stack.settings, topics.operator_actions_by_area, actions)
        await produce(stack.settings, topics.operator_actions, actions)
        # The area stage still works: a genuine street flood raises an alert.
        await produce(
            stack.settings, topics.raw("environment"), [street_levels(1, minute_now() - MINUTE, 0.45)]
        )

    asyncio.run(send())
    settle(lambda: stack.letters("unauthenticated", "aggregates") - agg0 >= 25, "25 refused aggregates")
    settle(lambda: stack.letters("unauthenticated", "operator-actions") - act0 >= 20, "20 refused actions")

    def raised() -> bool:
        alerts = http_json(f"{stack.web}/api/alerts?rule=flood-level", role="viewer")["alerts"]
        return any(a["entity"] == "WL-VIN-NVC" for a in alerts)

    settle(raised, "the genuine flood alert")
    station = next(
        s
        for s in http_json(f"{stack.web}/api/sensors?area=vinh&type=AirQualityObserved", role="viewer")[
            "sensors"
        ]
        if s["id"] == "AQ-VIN-01"
    )
    assert (station.get("latest") or {}).get("aqi") != 480  # the forged VN_AQI 480 is not shown
    assert metric(stack.web.rsplit(":", 1)[1], "ioc_web_feed_refused_total", reason="unauthenticated") >= 25
    record(
        "junk and forgeries on aggregates and actions",
        "25 aggregates, 10 by-area and 10 actions",
        "garbage bytes, unsigned and wrongly signed documents",
        5,
        int(stack.accepted("environment") - env0),
    )
    assert stack.accepted("environment") - env0 == 5  # fmt: skip


def test_a_device_with_librdkafkas_default_partitioner_loses_nothing(stack: Stack) -> None:
    """librdkafka hashes keys with CRC32 (consistent_random): aq.vinh lands on another partition than the
    group's (murmur2); the worker sends such frames on, and each reading counts once."""
    group = ("AirQualityObserved", "aq.vinh")
    ours = partition_for(group[1].encode(), stack.settings.partitions)
    theirs = zlib.crc32(group[1].encode()) % stack.settings.partitions
    assert ours != theirs, "pick a group the two partitioners place apart"
    t0 = minute_now() - 300 * MINUTE
    env0 = stack.accepted("environment")
    rerouted0 = metric(stack.worker_port, "ioc_rerouted_frames_total")
    default = Device(stack.broker.bootstrap, stack.settings.namespace)  # librdkafka's default partitioner
    default.send("environment", [(group[1], frame(*group, k, t0 + k * MINUTE)) for k in range(50)])
    count(lambda: stack.accepted("environment") - env0, 200)
    # The device is reconfigured as the README says (its later frames must not overtake the detour).
    right = Device(stack.broker.bootstrap, stack.settings.namespace, partitioner="murmur2_random")
    right.send("environment", [(group[1], frame(*group, 50 + k, t0 + (50 + k) * MINUTE)) for k in range(50)])
    accepted = count(lambda: stack.accepted("environment") - env0, 400)
    rerouted = metric(stack.worker_port, "ioc_rerouted_frames_total") - rerouted0
    record(
        "librdkafka's default partitioner",
        "100 frames",
        f"50 on partition {theirs}, not {ours}",
        400,
        accepted,
    )
    assert accepted == 400 and rerouted == 50


def test_junk_groups_create_no_state_and_offsets_advance(stack: Stack) -> None:
    """Three times 75,000 frames of distinct unknown groups: no clock, no state, small checkpoints, offsets
    committed; the process grows less with every round (allocator and client buffers settling, not state)."""
    device = Device(stack.broker.bootstrap, stack.settings.namespace, partitioner="murmur2_random")
    worker = stack.services.procs["worker"]
    groups0 = metric(stack.worker_port, "ioc_state_entries", part="intake_groups")
    t = minute_now() - MINUTE
    rss = [procs.rss_mb(worker.pid)]
    for round_ in range(3):
        unknown0 = stack.refused_readings("unknown_sensor")
        names = [f"junk-{round_}-{k}" for k in range(75_000)]
        device.send("environment", [(g, frame(*FLOOD[:1], g, 0, t, ids=["WL-HM-01"])) for g in names])

        def refused(since: float = unknown0) -> float:
            return stack.refused_readings("unknown_sensor") - since

        count(refused, 75_000, 300)
        rss.append(procs.rss_mb(worker.pid))
    groups = metric(stack.worker_port, "ioc_state_entries", part="intake_groups")
    checkpoint = metric(stack.worker_port, "ioc_checkpoint_bytes", domain="environment")
    topic = Topics(stack.settings.namespace).raw("environment")

    async def lag() -> int:
        consumer = make_consumer(stack.settings, group_id=f"{stack.settings.namespace}-processors")
        await consumer.start()
        try:
            tps = [TopicPartition(topic, p) for p in range(stack.settings.partitions)]
            ends = await consumer.end_offsets(tps)
            behind = 0
            for tp in tps:
                behind += max(0, ends[tp] - ((await consumer.committed(tp)) or 0))
            return behind
        finally:
            await consumer.stop()

    settle(lambda: asyncio.run(lag()) == 0, "offsets committed to the end", 60)
    effect = " -> ".join(f"{x:.0f}" for x in rss) + f" MB, checkpoint {checkpoint:.0f} B"
    record("3 x 75,000 unknown groups", "225,000 frames", f"worker RSS {effect}", 0, 0)
    assert groups == groups0  # no clock for a junk group
    assert checkpoint < 64 * 1024
    assert rss[3] - rss[2] < rss[1] - rss[0]
