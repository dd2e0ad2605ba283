"""Intake rules: duplicate frames, out-of-order frames, late readings and the dead-letter documents."""

from __future__ import annotations

import numpy as np
import orjson

from ioc.contract import Frame, Reason, encode
from processors.intake import SEQ_WINDOW, GroupClock, Intake, Source

T0 = 1_763_800_000_000
SRC = Source("ioc.raw.environment", 2, 41, b"wl.vinh")


def level_frame(seq: int, times: list[int], group: str = "wl.vinh") -> bytes:
    n = len(times)
    cols = {
        "id": np.array(["WL-VIN-BT"] * n),
        "dateObserved": np.array(times, dtype=np.int64),
        "currentLevel": np.full(n, 1.5),
    }
    return encode(Frame("FloodMonitoring", group, seq, max(times), cols))


def test_group_clock_window() -> None:
    c = GroupClock()
    assert c.admit(5) and c.admit(7)
    assert not c.admit(7) and not c.admit(5)  # duplicates
    assert c.admit(6)  # late but new
    assert not c.admit(6)
    assert c.admit(7 + SEQ_WINDOW)  # a big jump forward is fine
    assert not c.admit(7)  # now too old to tell: refused as a duplicate
    restored = GroupClock.restore(c.snapshot())
    assert restored == c


def test_duplicate_frame_is_dead_lettered_once() -> None:
    intake = Intake(None, 60_000)
    frame, letters = intake.accept(level_frame(1, [T0]), SRC)
    assert frame is not None and letters == []
    frame, letters = intake.accept(level_frame(1, [T0]), SRC)
    assert frame is None
    assert [letter.reason for letter in letters] == [Reason.DUPLICATE]
    assert "wl.vinh#1" in letters[0].detail


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
