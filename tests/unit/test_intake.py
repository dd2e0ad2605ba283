"""Intake rules: duplicate frames, reboots and sequence jumps, readings from the future, out-of-order frames,
late readings and the dead-letter documents."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from ioc.contract import Frame, Reason, encode
from ioc.contract.deadletter import DeadLetter, Source
from processors import duplicates
from processors.duplicates import MAX_BOOTS, MAX_INTERVALS, RING, RING_TAPS, ReadingRing, SeqSpace
from processors.intake import GroupClock, Intake

T0 = 1_763_800_000_000
SRC = Source("ioc.raw.environment", 2, 41, b"wl.vinh")


def level_frame(
    seq: int, times: list[int], group: str = "wl.vinh", boot: str = "", level: float = 1.5
) -> bytes:
    n = len(times)
    cols = {
        "id": np.array(["WL-VIN-BT"] * n),
        "dateObserved": np.array(times, dtype=np.int64),
        "currentLevel": np.full(n, level),
    }
    return encode(Frame("FloodMonitoring", group, seq, max(times), cols, boot=boot))


def reasons(letters: list[DeadLetter]) -> list[Reason]:
    return [letter.reason for letter in letters]


def test_seq_space_keeps_runs_and_joins_the_closest_when_full() -> None:
    space = SeqSpace()
    for seq in (5, 7, 6, 8, 2**63 - 1):
        space.add(seq, T0)
    assert space.lo == [5, 2**63 - 1] and space.hi == [8, 2**63 - 1]
    assert 6 in space and 9 not in space and 4 not in space
    for k in range(MAX_INTERVALS + 5):
        space.add(100 + 10 * k, T0)
    assert len(space.lo) == MAX_INTERVALS
    assert 5 in space and 2**63 - 1 in space  # joining never forgets what was admitted
    old = SeqSpace()
    old.add(1, T0 - 1_000)
    old.add(5, T0)
    old.prune(T0)  # a run whose frames are all older than the horizon can only come back late
    assert 1 not in old and 5 in old


def test_group_clock_round_trips() -> None:
    c = GroupClock(ReadingRing())
    rows = c.ring.rows(np.array(["B", "A"]))
    c.ring.remember(rows, np.array([T0, T0 + 1]), np.zeros(2, dtype=np.int64))
    c.admit("", 5, T0, 60_000)
    c.admit("b1", 1, T0 + 10, 60_000)
    back = GroupClock.restore(orjson.loads(orjson.dumps(c.snapshot())))
    assert back.snapshot() == c.snapshot() and back.ring.seen(
        rows, np.array([T0, T0]), np.zeros(2, np.int64)
    ).tolist() == [True, False]


def test_duplicate_frame_is_dead_lettered_once() -> None:
    intake = Intake(None, 60_000)
    frame, letters = intake.accept(level_frame(1, [T0]), SRC)
    assert frame is not None and letters == []
    frame, letters = intake.accept(level_frame(1, [T0]), SRC)
    assert frame is None
    assert [letter.reason for letter in letters] == [Reason.DUPLICATE]
    assert "already accepted" in letters[0].detail
    frame, letters = intake.accept(level_frame(1, [T0], boot="b"), SRC)  # same content, any number: known
    assert frame is None and reasons(letters) == [Reason.DUPLICATE]


def test_same_seq_in_another_group_is_not_a_duplicate() -> None:
    intake = Intake(None, 60_000)
    intake.accept(level_frame(1, [T0]), SRC)
    frame, letters = intake.accept(level_frame(1, [T0], group="wl.cua-lo"), SRC)
    assert frame is not None and letters == []


def test_late_readings_leave_and_the_rest_stay() -> None:
    intake = Intake(None, 60_000)
    intake.accept(level_frame(1, [T0 + 600_000]), SRC)  # watermark 10 min ahead
    frame, letters = intake.accept(level_frame(2, [T0, T0 + 550_000]), SRC)
    assert frame is not None and frame.cols["dateObserved"].tolist() == [T0 + 550_000]
    assert [letter.reason for letter in letters] == [Reason.LATE]
    doc = letters[0].document(123)
    assert doc["readings"]["dateObserved"] == [T0]
    assert "behind the group watermark" in doc["detail"]


def test_out_of_order_within_lateness_is_accepted() -> None:
    intake = Intake(None, 60_000)
    intake.accept(level_frame(2, [T0 + 30_000]), SRC)
    frame, letters = intake.accept(level_frame(1, [T0]), SRC)
    assert frame is not None and letters == []


def test_dead_letter_documents_carry_reason_source_and_payload() -> None:
    intake = Intake(None, 60_000)
    frame, letters = intake.accept(b'{"v": 1, "type": "FloodMon', SRC)
    assert frame is None
    doc = orjson.loads(orjson.dumps(letters[0].document(99)))
    assert doc["reason"] == "malformed_json"
    assert doc["source"] == {"topic": "ioc.raw.environment", "partition": 2, "offset": 41, "key": "wl.vinh"}
    assert doc["raw"].startswith('{"v": 1')

    bad = orjson.dumps(
        {
            "v": 1,
            "type": "FloodMonitoring",
            "group": "wl.vinh",
            "seq": 9,
            "tick": T0,
            "cols": {"id": ["WL-VIN-BT", "WL-VIN-BT"], "dateObserved": [T0, T0], "currentLevel": [1.0, 99.0]},
        }
    )
    frame, letters = intake.accept(bad, SRC)
    assert frame is not None and frame.n == 1
    doc = letters[0].document(99)
    assert doc["reason"] == "out_of_range" and doc["readings"]["currentLevel"] == [99.0]
    assert doc["group"] == "wl.vinh" and doc["seq"] == 9


def test_unknown_sensors_use_the_city() -> None:
    from ioc.city import load_city

    intake = Intake(load_city().known, 60_000)
    raw = orjson.dumps(
        {
            "v": 1,
            "type": "FloodMonitoring",
            "group": "wl.vinh",
            "seq": 1,
            "tick": T0,
            "cols": {"id": ["WL-VIN-BT", "WL-NOWHERE"], "dateObserved": [T0, T0], "currentLevel": [1.0, 1.0]},
        }
    )
    frame, letters = intake.accept(raw, SRC)
    assert frame is not None and frame.cols["id"].tolist() == ["WL-VIN-BT"]
    assert [(x.reason, x.rows.tolist()) for x in letters] == [(Reason.UNKNOWN_SENSOR, [1])]


def test_a_sensor_sent_in_another_group_or_an_unknown_group_is_refused() -> None:
    from ioc.city import load_city

    intake = Intake(load_city().known, 60_000)

    def frame(group: str, ids: list[str], seq: int) -> bytes:
        cols = {"id": ids, "dateObserved": [T0] * len(ids), "currentLevel": [1.0] * len(ids)}
        return orjson.dumps(
            {"v": 1, "type": "FloodMonitoring", "group": group, "seq": seq, "tick": T0, "cols": cols}
        )

    # WL-CL-CH is a real gauge, but of Cửa Lò's group: the Vinh aggregates have no row for it.
    frame_, letters = intake.accept(frame("wl.vinh", ["WL-VIN-BT", "WL-CL-CH"], 1), SRC)
    assert frame_ is not None and frame_.cols["id"].tolist() == ["WL-VIN-BT"]
    assert [(x.reason, x.rows.tolist()) for x in letters] == [(Reason.UNKNOWN_SENSOR, [1])]
    assert "group" in letters[0].detail
    frame_, letters = intake.accept(frame("wl.bench", ["WL-VIN-BT"], 1), SRC)
    assert frame_ is None and [x.reason for x in letters] == [Reason.UNKNOWN_SENSOR]


def test_a_reboot_without_boot_id_loses_nothing() -> None:
    """The tester's case: a sender restarts and counts from 0 again; its new readings are newer than any
    accepted, so they are new whatever their seq says, while a real re-delivery is still refused."""
    intake = Intake(None, 60_000)
    for seq in range(1, 2001):
        frame, letters = intake.accept(level_frame(seq, [T0 + seq * 1000]), SRC)
        assert frame is not None and not letters
    for seq in range(1, 50):  # rebooted: seqs start again, times go on
        frame, letters = intake.accept(level_frame(seq, [T0 + 3_000_000 + seq * 1000]), SRC)
        assert frame is not None and not letters, seq
    frame, letters = intake.accept(level_frame(49, [T0 + 3_000_000 + 49 * 1000]), SRC)
    assert frame is None and reasons(letters) == [Reason.DUPLICATE]


def test_a_boot_id_gives_each_boot_its_own_sequence_space() -> None:
    intake = Intake(None, 600_000)
    intake.accept(level_frame(1, [T0 + 60_000], boot="boot-a"), SRC)
    # After a reboot a late frame of the new boot reuses seq 1 with an older time: new, not a duplicate.
    frame, letters = intake.accept(level_frame(1, [T0 + 30_000], boot="boot-b"), SRC)
    assert frame is not None and not letters
    frame, letters = intake.accept(level_frame(1, [T0 + 30_000], boot="boot-b"), SRC)
    assert frame is None and reasons(letters) == [Reason.DUPLICATE]
    for k in range(MAX_BOOTS + 3):  # boots are capped per group; the least recently used goes first
        intake.accept(level_frame(1, [T0 + 100_000 + k], boot=f"boot-{k}"), SRC)
    assert len(intake.clocks["FloodMonitoring|wl.vinh"].spaces) == MAX_BOOTS


def test_a_huge_seq_is_not_a_barrier() -> None:
    intake = Intake(None, 60_000)
    intake.accept(level_frame(10, [T0]), SRC)
    frame, _ = intake.accept(level_frame(2**63 - 1, [T0 + 1000]), SRC)
    assert frame is not None
    for seq in (11, 12):  # the sender's next frames, even out of order, still count
        frame, letters = intake.accept(level_frame(seq, [T0 + 500 + seq]), SRC)
        assert frame is not None and not letters


def test_a_frame_with_no_acceptable_reading_uses_up_nothing() -> None:
    intake = Intake(None, 60_000)
    frame, letters = intake.accept(level_frame(7, [T0], level=99.0), SRC)  # out of range
    assert frame is None and reasons(letters) == [Reason.OUT_OF_RANGE]
    assert intake.clocks == {}
    frame, letters = intake.accept(level_frame(7, [T0], level=1.0), SRC)  # the corrected resend
    assert frame is not None and not letters


def test_readings_from_the_future_are_refused_and_move_nothing() -> None:
    intake = Intake(None, 60_000)
    year = 365 * 86_400_000
    frame, letters = intake.accept(level_frame(1, [T0, T0 + year]), SRC, limit_ms=T0 + 120_000)
    assert frame is not None and frame.cols["dateObserved"].tolist() == [T0]
    assert reasons(letters) == [Reason.FUTURE]
    assert letters[0].document(1)["readings"]["dateObserved"] == [T0 + year]
    assert intake.clocks["FloodMonitoring|wl.vinh"].watermark == T0
    frame, letters = intake.accept(level_frame(2, [T0 + 60_000]), SRC, limit_ms=T0 + 180_000)
    assert frame is not None and not letters  # the group's next reading is on time, not "late"
    frame, letters = intake.accept(level_frame(3, [T0 + year]), SRC, limit_ms=T0 + 180_000)
    assert frame is None and reasons(letters) == [Reason.FUTURE]


def test_a_sender_with_a_boot_id_is_deduplicated_at_any_rate() -> None:
    """10 readings a second of one sensor: far more than its ring holds. A sender that names its boot is
    still recognised by (boot, seq) however far its group has moved on."""
    intake = Intake(None, 600_000)
    for seq in range(1, 3000):
        intake.accept(level_frame(seq, [T0 + seq * 100], boot="gw-1"), SRC)
    frame, letters = intake.accept(level_frame(5, [T0 + 500], boot="gw-1"), SRC)
    assert frame is None and reasons(letters) == [Reason.DUPLICATE]
    intake.accept(level_frame(5000, [T0 + 10_000_000], boot="gw-1"), SRC)  # the group moves on by hours
    frame, letters = intake.accept(level_frame(5, [T0 + 500], boot="gw-2"), SRC)
    assert frame is None and reasons(letters) == [Reason.LATE]


def test_without_a_boot_id_content_decides_within_each_sensors_last_readings() -> None:
    intake = Intake(None, 600_000)
    for seq in range(RING + 3):
        intake.accept(level_frame(seq, [T0 + seq * 60_000]), SRC)
    frame, letters = intake.accept(level_frame(999, [T0 + RING * 60_000]), SRC)  # among the last RING
    assert frame is None and reasons(letters) == [Reason.DUPLICATE]
    frame, letters = intake.accept(level_frame(999, [T0 + 30_000]), SRC)  # new, late but in the lateness
    assert frame is not None and not letters


def test_two_devices_counting_in_one_group_lose_nothing() -> None:
    """Two gauges of wl.vinh publish on their own, each numbering its frames 1, 2, 3 ... with no boot id,
    one clock 0.7 s behind the other."""
    intake = Intake(None, 60_000)
    for seq in range(1, 11):
        t = T0 + seq * 60_000
        for sensor, offset in (("WL-VIN-BT", 0), ("WL-VIN-LN", -700)):
            cols = {
                "id": np.array([sensor]),
                "dateObserved": np.array([t + offset]),
                "currentLevel": np.array([1.0]),
            }
            frame, letters = intake.accept(encode(Frame("FloodMonitoring", "wl.vinh", seq, t, cols)), SRC)
            assert frame is not None and not letters, (seq, sensor)


def test_a_restarted_sender_resending_its_recent_readings_is_not_counted_twice() -> None:
    intake = Intake(None, 300_000)
    for seq in range(10):
        intake.accept(level_frame(seq, [T0 + seq * 60_000], boot="run-1"), SRC)
    # Restarted (a new boot), it sends its history again, overlapping the last minutes, then goes on.
    got = [intake.accept(level_frame(seq, [T0 + (5 + seq) * 60_000], boot="run-2"), SRC) for seq in range(8)]
    assert [reasons(letters) for _, letters in got] == [[Reason.DUPLICATE]] * 5 + [[]] * 3


def test_card_taps_are_told_apart_by_card() -> None:
    intake = Intake(None, 300_000)

    def taps(seq: int, cards: list[str]) -> bytes:
        n = len(cards)
        cols = {"id": np.array(["HC-1"] * n), "dateObserved": np.full(n, T0), "card": np.array(cards),
                "step": np.array(["register"] * n), "priority": np.zeros(n, bool),
                "ticket": np.arange(n)}  # fmt: skip
        return encode(Frame("HealthCardTap", "hc.x", seq, T0, cols))

    frame, letters = intake.accept(taps(1, ["c1", "c2", "c1"]), SRC)  # one reader, one millisecond
    assert frame is not None and frame.n == 2 and reasons(letters) == [Reason.DUPLICATE]
    frame, letters = intake.accept(taps(2, ["c3", "c2"]), SRC)
    assert frame is not None and frame.cols["card"].tolist() == ["c3"]


def test_junk_groups_create_no_state() -> None:
    from ioc.city import load_city

    intake = Intake(load_city().known, 60_000)
    for k in range(2000):
        cols = {"id": ["WL-VIN-BT"], "dateObserved": [T0], "currentLevel": [1.0]}
        raw = orjson.dumps({"v": 1, "type": "FloodMonitoring", "group": f"junk-{k}", "seq": 1, "tick": T0,
                            "cols": cols})  # fmt: skip
        frame, letters = intake.accept(raw, SRC)
        assert frame is None and reasons(letters) == [Reason.UNKNOWN_SENSOR]
    assert intake.clocks == {} and intake.origin == {}


def test_a_resent_reading_is_seen_after_new_sensors_moved_every_row() -> None:
    # A live frame (every reading newer than its sensor's latest) skips the look through the rings: each
    # sensor's latest time must follow it when new sensors sort in before and between the known ones.
    ring, none = ReadingRing(), np.zeros(2, dtype=np.int64)
    first = ring.rows(np.array(["S5", "S7"]))
    ring.remember(first, np.array([T0, T0 + 5]), none)
    grown = ring.rows(np.array(["S1", "S5", "S6", "S7"]))
    t = np.array([T0, T0, T0, T0 + 5])
    assert ring.seen(grown, t, np.zeros(4, dtype=np.int64)).tolist() == [False, True, False, True]
    fresh = np.array([T0 + 60_000] * 4)
    assert not ring.seen(grown, fresh, np.zeros(4, dtype=np.int64)).any()
    # Asked alone, so that no other reading of the frame keeps it off the shortcut.
    assert ring.seen(ring.rows(np.array(["S7"])), np.array([T0 + 5]), np.zeros(1, dtype=np.int64)).all()
    restored = ReadingRing.restore(ring.snapshot())  # the latest times are derived again from the rings
    assert restored.seen(restored.rows(np.array(["S5", "S7"])), np.array([T0, T0 + 5]), none).all()


@pytest.mark.parametrize("seed", range(40))
def test_repeats_within_a_short_frame_are_found_as_in_a_long_one(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to FEW_READINGS readings, repeats in a frame are found with a set; the numpy way, forced, agrees."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, duplicates.FEW_READINGS))
    # n readings of three sensors over three milliseconds, then the first one again.
    ids = np.append(picked := rng.choice(np.array(["S1", "S2", "S3"]), size=n), picked[0])
    t = np.append(times := T0 + rng.integers(0, 3, size=n), times[0])
    tags = np.append(cards := rng.integers(0, 2, size=n) * 77 * (seed % 2), cards[0])
    ring = ReadingRing(RING_TAPS)
    ring.remember(ring.rows(np.array(["S1"])), np.array([T0]), np.zeros(1, dtype=np.int64))  # one seen before
    rows = ring.rows(ids)
    quick = ring.seen(rows, t, tags)
    monkeypatch.setattr(duplicates, "FEW_READINGS", 0)
    assert quick.tolist() == ring.seen(rows, t, tags).tolist()
    assert quick[-1]


def test_a_group_reporting_in_order_is_remembered_as_by_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Consecutive rows with one next slot are written as a slice; the row-by-row way, forced, agrees on
    every ring, position and latest time, and on what is seen, through frames in order, subsets, reversed
    lists and repeats."""
    rng = np.random.default_rng(3)
    ids = np.array([f"L{i:03d}" for i in range(40)])
    frames = []
    for k in range(300):
        pick = (
            ids[: rng.integers(1, 41)]
            if k % 3
            else np.sort(rng.choice(ids, rng.integers(1, 41), replace=False))
        )
        pick = pick[::-1] if k % 7 == 0 else pick
        t = T0 + k * 1000 - rng.integers(0, 4000, len(pick)) * (k % 5 == 0)  # some re-sent, some late
        frames.append((pick, t))
    quick, rows_way = ReadingRing(), ReadingRing()
    monkeypatch.setattr(rows_way, "_span", lambda rows: rows)
    none = np.zeros(40, dtype=np.int64)
    for pick, t in frames:
        results = []
        for ring in (quick, rows_way):
            rows = ring.rows(pick)
            seen = ring.seen(rows, t, none[: len(pick)])
            keep = ~seen  # as the intake does: the rows themselves when all are kept
            kept_rows, kept_t = (rows, t) if keep.all() else (rows[keep], t[keep])
            ring.remember(kept_rows, kept_t, none[: keep.sum()])
            results.append(seen.tolist())
        assert results[0] == results[1]
    for name in ("times", "tags", "pos", "latest"):
        assert np.array_equal(getattr(quick, name), getattr(rows_way, name)), name
    assert quick.times.min() >= 0  # every slot of every ring was written
