"""Short frames checked whole by msgspec: what the quick way accepts, the general way accepts whole, with the
same columns, on generated valid and broken frames of every type."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ioc.contract import ContractError, Frame, TextMemo, check, validate
from ioc.contract.frame import SHORT_COLUMN, from_document
from ioc.contract.schemas import EPOCH_MS_MAX, EPOCH_MS_MIN, MAX_TEXT_VALUE, SCHEMAS, Field
from ioc.contract.short_frames import parse_short

T0 = 1_763_800_000_000


def known(_type: str, _group: str, ids: np.ndarray) -> np.ndarray:
    """Sensors whose id starts with S are registered."""
    return np.array([str(i).startswith("S") for i in ids.tolist()], dtype=bool)


def value_of(f: Field) -> st.SearchStrategy[Any]:
    """A valid value of a field."""
    if f.name == "id":
        return st.sampled_from(["S-1", "S-2", "S-3", "Sé-4"])
    if f.kind == "s":
        return st.sampled_from(f.choices) if f.choices else st.text(max_size=MAX_TEXT_VALUE)
    if f.kind == "b":
        return st.booleans()
    lo = EPOCH_MS_MIN if f.lo is None else f.lo
    hi = EPOCH_MS_MAX if f.hi is None else f.hi
    if f.kind == "i":
        return st.integers(int(lo), int(hi))
    number = st.floats(lo, hi) | st.integers(int(lo), int(hi))
    return number | st.none() if f.nullable else number


# Anything JSON can hold, and the values on and just past the edges the checks draw.
odd = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64),
    st.sampled_from([0, 1, -1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, EPOCH_MS_MIN - 1, EPOCH_MS_MAX + 1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 1.0, -0.0, 1e300, -1e300, 1e299, 20_000.5, 1000.0000001, -5.000001]),
    st.text(max_size=3),
    st.text(min_size=MAX_TEXT_VALUE, max_size=MAX_TEXT_VALUE + 1),
    st.sampled_from(["on", "ok", "S-1", "1", "", "S" * MAX_TEXT_VALUE, "S" * (MAX_TEXT_VALUE + 1), "é" * 65]),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["a", "id"]), st.integers(0, 3), max_size=1),
)


ENVELOPE_EDGES = [
    *("", "x" * 128, "x" * 129, "é" * 129, "Streetlight", "streetlight", 1, 1.0, True, -1, 0, 2**63 - 1),
    *(2**63, T0, EPOCH_MS_MIN, EPOCH_MS_MAX, EPOCH_MS_MIN - 1, EPOCH_MS_MAX + 1, float(T0), str(T0)),
]
envelope_edges = st.sampled_from(ENVELOPE_EDGES)


@st.composite
def frames(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """(a decoded frame document, whether it was broken on purpose)."""
    schema = SCHEMAS[draw(st.sampled_from(sorted(SCHEMAS)))]
    n = draw(st.integers(1, SHORT_COLUMN + 2))
    cols = {
        f.name: draw(st.lists(value_of(f), min_size=n, max_size=n))
        for f in schema.columns
        if f.required or draw(st.booleans())
    }
    doc: dict[str, Any] = {"v": 1, "type": schema.type, "group": "g.1", "seq": 3, "tick": T0, "cols": cols}
    for key, value in (("src", "sim"), ("job", "j-1"), ("boot", draw(st.sampled_from(["b-1", 7])))):
        if draw(st.booleans()):
            doc[key] = value
    broken = False
    for _ in range(draw(st.integers(0, 3))):
        broken = True
        name = draw(st.sampled_from([*cols, "extra"]))  # an absent optional column too
        how = draw(st.sampled_from(["value", "length", "drop", "extra", "envelope", "envelope-drop"]))
        column = cols.get(name)
        if how == "value" and isinstance(column, list) and column:
            column[draw(st.integers(0, len(column) - 1))] = draw(odd)
        elif how == "length" and isinstance(column, list) and column:
            cols[name] = [*column, column[0]] if draw(st.booleans()) else column[1:]
        elif how == "drop":
            cols.pop(name, None)
        elif how == "extra":  # a column of no schema: the general way checks its shape, then drops it
            cols["extra"] = draw(st.sampled_from([[1] * n, [1] * (n + 1), "x" * n, None, {"a": 1}]))
        else:
            key = draw(st.sampled_from(["v", "type", "group", "seq", "tick", "cols", "src", "job", "boot"]))
            if how == "envelope-drop":
                doc.pop(key, None)
            else:
                doc[key] = draw(envelope_edges | odd)
    return doc, broken


def general(doc: dict[str, Any]) -> tuple[Frame, Frame, list[Any]] | None:
    try:
        original = from_document(doc)
    except ContractError:
        return None
    return (original, *validate(original, known))


def same_frame(a: Frame, b: Frame) -> None:
    assert (a.type, a.group, a.seq, a.tick, a.src, a.job, a.boot) == (
        b.type,
        b.group,
        b.seq,
        b.tick,
        b.src,
        b.job,
        b.boot,
    )
    assert list(a.cols) == list(b.cols)
    for name, column in a.cols.items():
        other = b.cols[name]
        if isinstance(column, list):
            assert column == other, name
            continue
        assert column.dtype == other.dtype, name
        assert np.array_equal(column, other, equal_nan=column.dtype.kind == "f"), name


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
@example(({"v": 1, "type": "FloodMonitoring", "group": "g", "seq": 0, "tick": T0,
           "cols": {"id": ["S-1"], "dateObserved": [T0], "currentLevel": [True]}}, True))  # fmt: skip
@example(({"v": 1, "type": "TrafficFlowObserved", "group": "g", "seq": 0, "tick": T0,
           "cols": {"id": ["S-1"], "dateObserved": [T0], "period": [60.0], "intensity": [1],
                    "intensityMotorcycle": [1], "intensityCar": [0], "intensityHeavy": [0],
                    "occupancy": [0.5], "averageVehicleSpeed": [None]}}, True))  # fmt: skip
@example(({"v": 1, "type": "HealthCardTap", "group": "g", "seq": 0, "tick": T0, "boot": True,
           "cols": {"id": ["S-1"], "dateObserved": [T0], "card": ["c"], "step": ["lab"],
                    "priority": [False], "ticket": [4]}}, True))  # fmt: skip
def test_what_the_quick_way_accepts_the_general_way_accepts_whole(case: tuple[dict[str, Any], bool]) -> None:
    doc, broken = case
    quick = parse_short(doc, known, None)
    slow = general(doc)
    whole = slow is not None and not slow[2]
    if quick is not None:
        assert slow is not None and whole, "the quick way accepted what the general way refuses"
        same_frame(quick[0], slow[0])
        same_frame(quick[1], slow[1])
        assert quick[0].raw_cols == slow[0].raw_cols
    n = (
        len(doc["cols"]["id"])
        if isinstance(doc.get("cols"), dict) and isinstance(doc["cols"].get("id"), list)
        else 0
    )
    if not broken and n <= SHORT_COLUMN:
        assert quick is not None, "a valid short frame went the general way"
        assert whole


def test_a_long_frame_goes_the_general_way() -> None:
    n = SHORT_COLUMN + 1
    cols = {"id": ["S-1"] * n, "dateObserved": [T0] * n, "currentLevel": [0.5] * n}
    doc = {"v": 1, "type": "FloodMonitoring", "group": "g", "seq": 0, "tick": T0, "cols": cols}
    assert parse_short(doc, known, None) is None
    assert general(doc) is not None


@pytest.mark.parametrize("memo", [None, TextMemo()])
def test_check_remembers_like_the_general_way(memo: TextMemo | None) -> None:
    import orjson

    def raw(ids: list[str], state: str) -> bytes:
        n = len(ids)
        cols = {"id": ids, "dateObserved": [T0] * n, "workingMode": [state] * n,
                "totalActivePower": [1] * n, "energyConsumed": [2.5] * n, "voltage": [220] * n}  # fmt: skip
        doc = {"v": 1, "type": "StreetlightControlCabinet", "group": "c", "seq": 1, "tick": T0, "cols": cols}
        return orjson.dumps(doc)

    first = check(raw(["S-1", "S-2"], "manual"), known, memo)[1]
    again = check(raw(["S-1", "S-2"], "manual"), known, memo)[1]
    same_frame(first, again)
    _, valid, refused = check(raw(["S-1", "X-2"], "manual"), known, memo)  # a sensor the city does not have
    assert valid.cols["id"].tolist() == ["S-1"] and [r.reason for r in refused] == ["unknown_sensor"]
    changed = check(raw(["S-1", "S-2"], "automatic"), known, memo)[1]
    assert changed.cols["workingMode"].tolist() == ["automatic", "automatic"]


def health_frame() -> dict[str, Any]:
    cols = {"id": ["S-1", "S-2"], "dateObserved": [T0, T0 + 1], "card": ["c1", "c2"], "step": ["lab", "exit"],
            "priority": [False, True], "ticket": [4, 5]}  # fmt: skip
    return {"v": 1, "type": "HealthCardTap", "group": "h.1", "seq": 3, "tick": T0, "cols": cols, "boot": 9}


EDGES = [*ENVELOPE_EDGES, None, [], {}]
LONG_TEXT = ["S" * MAX_TEXT_VALUE, "S" * (MAX_TEXT_VALUE + 1), "é" * (MAX_TEXT_VALUE + 1), 1, None, True]


@pytest.mark.parametrize(
    ("where", "value"),
    [(("envelope", key), v) for key in ("v", "group", "seq", "tick", "src", "job", "boot") for v in EDGES]
    + [(("cols", name), v) for name in ("id", "card") for v in LONG_TEXT]
    + [(("cols", "ticket"), v) for v in (-1, 0, 1_000_000, 1_000_001, 1.0, True, None, "1")]
    + [
        (("cols", "dateObserved"), v)
        for v in (EPOCH_MS_MIN - 1, EPOCH_MS_MIN, EPOCH_MS_MAX, EPOCH_MS_MAX + 1)
    ]
    + [(("cols", "priority"), v) for v in (0, 1, None, "true", False)]
    + [(("cols", "step"), v) for v in ("lab", "Lab", "", None, 1)],
)
def test_each_check_decides_as_the_general_way(where: tuple[str, str], value: Any) -> None:
    doc = health_frame()
    part, key = where
    if part == "envelope":
        doc[key] = value
    else:
        doc["cols"][key][1] = value
    quick = parse_short(doc, known, None)
    slow = general(doc)
    assert (quick is not None) == (slow is not None and not slow[2])
    if quick is not None and slow is not None:
        same_frame(quick[1], slow[1])
