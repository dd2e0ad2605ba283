"""The event contract: round trips, determinism, and a clear reason for every kind of bad input."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ioc.contract import Frame, Reason, Rejection, TextMemo, decode, encode, parse, single, validate
from ioc.contract.frame import SHORT_COLUMN, _column, _out_of_range, _plain_short
from ioc.contract.schemas import SCHEMAS

T0 = 1_763_800_000_000


def aq_frame(**cols: object) -> Frame:
    base: dict[str, object] = {
        "id": np.array(["AQ-VIN-01", "AQ-VIN-02"]),
        "dateObserved": np.array([T0, T0]),
        "pm25": np.array([12.5, np.nan]),
        "pm10": np.array([20.0, 31.0]),
    }
    base.update(cols)
    return Frame("AirQualityObserved", "aq.vinh", 7, T0, base, "sim")


def wire(doc: dict[str, object]) -> bytes:
    return orjson.dumps(doc)


def envelope(cols: dict[str, object], **over: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "v": 1,
        "type": "AirQualityObserved",
        "group": "aq.vinh",
        "seq": 1,
        "tick": T0,
        "cols": cols,
    }
    doc.update(over)
    return doc


def test_round_trip_keeps_values_and_nulls() -> None:
    raw = encode(aq_frame())
    frame, rejected = parse(raw)
    assert rejected == []
    assert frame is not None
    assert frame.frame_id == "aq.vinh#7"
    assert frame.cols["id"].tolist() == ["AQ-VIN-01", "AQ-VIN-02"]
    assert frame.cols["pm25"][0] == 12.5 and np.isnan(frame.cols["pm25"][1])
    assert frame.reading_ids() == [f"AQ-VIN-01@{T0}", f"AQ-VIN-02@{T0}"]


def test_encoding_is_deterministic_and_null_for_nan() -> None:
    a, b = encode(aq_frame()), encode(aq_frame())
    assert a == b
    assert b'"pm25":[12.5,null]' in a


def test_single_reading_is_a_valid_frame() -> None:
    f = single("FloodMonitoring", "wl.vinh", 3, {"id": "WL-VIN-BT", "dateObserved": T0, "currentLevel": 1.23})
    frame, rejected = parse(encode(f))
    assert rejected == [] and frame is not None and frame.n == 1
    assert frame.cols["currentLevel"].tolist() == [1.23]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", Reason.MALFORMED_JSON),
        (b"[1, 2]", Reason.BAD_FRAME),
        (wire(envelope({}, v=2)), Reason.UNSUPPORTED_VERSION),
        (wire({"v": 1, "type": "AirQualityObserved"}), Reason.BAD_FRAME),
        (wire(envelope({}, type="Teleporter")), Reason.UNKNOWN_TYPE),
        (wire(envelope({}, group="")), Reason.BAD_FRAME),
        (wire(envelope({}, seq=-1)), Reason.BAD_FRAME),
        (wire(envelope({}, tick=12)), Reason.BAD_FRAME),
        (wire(envelope({"id": ["A"]})), Reason.BAD_COLUMNS),
        (wire(envelope({"id": ["A", "B"], "dateObserved": [T0]})), Reason.BAD_COLUMNS),
        (wire(envelope({"id": [], "dateObserved": []})), Reason.BAD_COLUMNS),
        (wire(envelope({"id": "A", "dateObserved": T0})), Reason.BAD_COLUMNS),
    ],
)
def test_whole_frame_errors_have_a_reason_and_no_frame(raw: bytes, reason: Reason) -> None:
    frame, rejected = parse(raw)
    assert frame is None
    assert [r.reason for r in rejected] == [reason]
    assert rejected[0].detail  # says what is wrong


def test_row_errors_refuse_only_the_bad_readings() -> None:
    cols = {
        "id": ["AQ-VIN-01", "AQ-VIN-02", "AQ-VIN-03", "AQ-VIN-04", "NOT-A-SENSOR"],
        "dateObserved": [T0, T0, 5, T0, T0],
        "pm25": [10.0, "high", 20.0, -3.0, 9.0],
    }
    known = lambda _type, _group, ids: ids != "NOT-A-SENSOR"  # noqa: E731
    frame, rejected = parse(wire(envelope(cols)), known)
    # One rejection per column and reason, so the detail names the offending column.
    assert sorted((r.reason, r.rows.tolist(), r.detail.split()[0]) for r in rejected) == [
        (Reason.BAD_VALUE_TYPE, [1], "pm25"),
        (Reason.OUT_OF_RANGE, [2], "dateObserved"),
        (Reason.OUT_OF_RANGE, [3], "pm25"),
        (Reason.UNKNOWN_SENSOR, [4], "id"),
    ]
    assert frame is not None
    assert frame.cols["id"].tolist() == ["AQ-VIN-01"]
    assert frame.cols["pm25"].tolist() == [10.0]


def test_each_reading_gets_only_its_first_reason() -> None:
    cols = {"id": ["X"], "dateObserved": [T0], "pm25": ["bad"]}
    _, rejected = parse(wire(envelope(cols)), lambda _t, _g, ids: np.zeros(len(ids), bool))
    assert [(r.reason, r.rows.tolist()) for r in rejected] == [(Reason.BAD_VALUE_TYPE, [0])]


def test_null_only_where_the_schema_allows_it() -> None:
    doc = {
        "v": 1,
        "type": "WeatherObserved",
        "group": "wx.vinh",
        "seq": 1,
        "tick": T0,
        "cols": {
            "id": ["WX-VIN-01", "WX-VIN-01"],
            "dateObserved": [T0, T0 + 1],
            "temperature": [30.1, None],
            "relativeHumidity": [0.7, 0.7],
            "precipitation": [0.0, 0.0],
            "windSpeed": [1.0, 1.0],
            "windDirection": [90.0, 90.0],
            "atmosphericPressure": [1010.0, 1010.0],
        },
    }
    frame, rejected = parse(wire(doc))
    assert [(r.reason, r.rows.tolist()) for r in rejected] == [(Reason.BAD_VALUE_TYPE, [1])]
    assert frame is not None and frame.n == 1


def test_enumerations_are_checked() -> None:
    doc = {
        "v": 1,
        "type": "Streetlight",
        "group": "LC-VIN-001",
        "seq": 1,
        "tick": T0,
        "cols": {
            "id": ["a", "b"],
            "dateObserved": [T0, T0],
            "powerState": ["on", "exploded"],
            "status": ["ok", "ok"],
            "illuminanceLevel": [1.0, 1.0],
            "powerConsumption": [120.0, 0.0],
        },
    }
    frame, rejected = parse(wire(doc))
    assert [(r.reason, r.rows.tolist()) for r in rejected] == [(Reason.OUT_OF_RANGE, [1])]
    assert "powerState" in rejected[0].detail
    assert frame is not None and frame.cols["powerState"].tolist() == ["on"]


def test_integers_must_be_integers() -> None:
    doc = {
        "v": 1,
        "type": "TrafficFlowObserved",
        "group": "tf.vinh.le-duan",
        "seq": 1,
        "tick": T0,
        "cols": {
            "id": ["a", "b"],
            "dateObserved": [T0, T0],
            "period": [60, 60],
            "intensity": [10, 10.5],
            "intensityMotorcycle": [9, 9],
            "intensityCar": [1, 1],
            "intensityHeavy": [0, 0],
            "occupancy": [0.1, 0.1],
            "averageVehicleSpeed": [35.0, None],
        },
    }
    frame, rejected = parse(wire(doc))
    assert [(r.reason, r.rows.tolist()) for r in rejected] == [(Reason.BAD_VALUE_TYPE, [1])]
    assert frame is not None and frame.cols["intensity"].dtype == np.int64


def test_validate_leaves_a_clean_frame_whole() -> None:
    decoded = decode(encode(aq_frame()))
    valid, rejected = validate(decoded, lambda _t, _g, ids: np.ones(len(ids), bool))
    assert rejected == [] and valid.n == 2


LAMP_GROUP = "LC-VIN-001"
REGISTERED = {(LAMP_GROUP, "L1"), (LAMP_GROUP, "L2"), ("LC-VIN-002", "L3")}


def lamp_frame(ids: list[object], states: list[object], group: str = LAMP_GROUP) -> Frame:
    n = len(ids)
    doc = {
        "v": 1,
        "type": "Streetlight",
        "group": group,
        "seq": 1,
        "tick": T0,
        "cols": {
            "id": ids,
            "dateObserved": [T0] * n,
            "powerState": states,
            "status": ["ok"] * n,
            "illuminanceLevel": [1.0] * n,
            "powerConsumption": [120.0] * n,
        },
    }
    return decode(wire(doc))


def registered(_type: str, group: str, ids: np.ndarray) -> np.ndarray:
    return np.array([(group, str(i)) in REGISTERED for i in ids], dtype=bool)


def outcome(
    result: tuple[Frame, list[Rejection]],
) -> tuple[dict[str, list[object]], list[tuple[str, list[int]]]]:
    valid, rejected = result
    return {k: v.tolist() for k, v in valid.cols.items()}, [(r.reason, r.rows.tolist()) for r in rejected]


# Frames in the order a worker would see them: the memo must never let a frame through that the city would
# refuse (another group, an unknown id, a number among the ids, a changed list) nor refuse a good one.
MEMO_SEQUENCE: list[tuple[list[object], list[object], str]] = [
    (["L1", "L2"], ["on", "off"], LAMP_GROUP),
    (["L1", "L2"], ["on", "on"], LAMP_GROUP),  # the usual repeat: taken from the memo
    (["L1", "L2"], ["on", "off"], "LC-VIN-002"),  # same ids, another group: L1 and L2 are not its lamps
    (["L1", "GHOST"], ["on", "off"], LAMP_GROUP),  # one id changed
    (["L1", 2], ["on", "off"], LAMP_GROUP),  # a number among the ids
    (["L1", "L2"], ["on", "exploded"], LAMP_GROUP),  # a bad state: the ids still from the memo
    (["L1", "L2"], [True, ["on"]], LAMP_GROUP),  # a boolean and a list where a state belongs
    (["L2", "L1"], ["on", "off"], LAMP_GROUP),  # the same lamps in another order
    (["L1", "L2"], ["on", "off"], LAMP_GROUP),
]


def test_memo_gives_what_the_city_and_the_schema_give() -> None:
    memo = TextMemo()
    for ids, states, group in MEMO_SEQUENCE:
        with_memo = outcome(validate(lamp_frame(ids, states, group), registered, memo))
        without = outcome(validate(lamp_frame(ids, states, group), registered))
        assert with_memo == without, (ids, states, group)


def test_memo_hands_on_one_read_only_array() -> None:
    memo = TextMemo()
    first, _ = validate(lamp_frame(["L1", "L2"], ["on", "off"]), registered, memo)
    again, _ = validate(lamp_frame(["L1", "L2"], ["on", "off"]), registered, memo)
    assert again.cols["id"] is first.cols["id"] and again.cols["powerState"] is first.cols["powerState"]
    with pytest.raises(ValueError, match="read-only"):
        again.cols["id"][0] = "L9"


def test_memo_is_bounded_and_keeps_nothing_refused() -> None:
    memo = TextMemo(limit=3)
    validate(lamp_frame(["GHOST"], ["exploded"]), registered, memo)
    assert memo.get(("Streetlight", LAMP_GROUP, "id"), ["GHOST"]) is None
    assert memo.get(("Streetlight", LAMP_GROUP, "powerState"), ["exploded"]) is None
    for group in ("a", "b", "c", "d"):
        memo.put(("Streetlight", group, "id"), ["x"], np.array(["x"]))
    assert memo.get(("Streetlight", "a", "id"), ["x"]) is None
    assert memo.get(("Streetlight", "d", "id"), ["x"]) is not None


def test_choice_columns_refuse_what_is_not_a_choice() -> None:
    valid, rejected = validate(lamp_frame(["L1", "L2", "L1"], ["on", 1, {"on": 1}]), registered)
    assert [(r.reason, r.rows.tolist()) for r in rejected] == [(Reason.BAD_VALUE_TYPE, [1, 2])]
    assert valid.cols["powerState"].tolist() == ["on"]


NUMBER_FIELDS = [(t, f.name) for t, s in sorted(SCHEMAS.items()) for f in s.columns if f.kind in "fi"]
short_cells = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**65), max_value=2**65),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, 0.0, 1.0, -1, 2**63 - 1, 2**63, T0, 100.0, 1e300, -1e300, math.nan, math.inf]),
    st.text(max_size=3),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(short_cells, min_size=1, max_size=SHORT_COLUMN), st.sampled_from(NUMBER_FIELDS))
@example([1.0, math.nan], ("Streetlight", "illuminanceLevel"))  # min and max of it are 1.0: a NaN hides
@example([0.5, True], ("Streetlight", "illuminanceLevel"))
def test_a_short_column_is_judged_as_the_general_conversion_judges_it(
    cells: list[object], where: tuple[str, str]
) -> None:
    # Up to SHORT_COLUMN values a number column is settled by Python's own loops: it must keep a column
    # exactly when the general per-value conversion finds nothing wrong in it, with the same values (a
    # null or a NaN, where allowed, is the general conversion's to keep as NaN).
    type_, name = where
    field = next(f for f in SCHEMAS[type_].columns if f.name == name)
    short = _plain_short(field, cells)
    values, bad_type = _column(field, cells)
    wrong = bad_type is not None or _out_of_range(field, values, cells) is not None
    nulls = field.nullable and any(c is None or c != c for c in cells)  # NaN, too, is a null there
    assert (short is None) == (wrong or nulls)
    if short is not None:
        assert short.dtype == values.dtype and short.tolist() == values.tolist()
