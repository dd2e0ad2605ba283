"""Columns written run by run, from codes or from JSON the sender kept give exactly the bytes orjson gives for
the whole column, and a frame never carries JSON that no longer matches its column."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ioc.contract import Frame, encode
from ioc.contract.column_json import NUMPY, RUNS_FROM, coded_json, column_json, runs_json
from tests.support.frames import plain_encode

DTYPES = ["float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint64", "uint8", "bool"]
WIDTHS: dict[int, Literal[16, 32, 64]] = {2: 16, 4: 32, 8: 64}
SPECIAL = [0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 1e16, 1e-7, 0.1, 226.4, 2.0**53]


def plain_json(values: Any) -> bytes:
    """orjson on the whole column, as encode did before columns were written in bulk."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "USO":
        return orjson.dumps(values.tolist(), option=NUMPY)
    return orjson.dumps(
        np.ascontiguousarray(values) if isinstance(values, np.ndarray) else values, option=NUMPY
    )


@st.composite
def runny(draw: st.DrawFn) -> np.ndarray:
    """A column of runs of a few values (specials included), or of values that all differ."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    if dtype.kind == "f":
        fits = [x for x in SPECIAL if not np.isfinite(x) or abs(x) <= float(np.finfo(dtype).max)]
        pool = st.sampled_from(fits) | st.floats(allow_nan=True, width=WIDTHS[dtype.itemsize])
    elif dtype.kind == "b":
        pool = st.booleans()
    else:
        info = np.iinfo(dtype.name)
        pool = st.integers(int(info.min), int(info.max))
    values = draw(st.lists(pool, min_size=1, max_size=6))
    lengths = draw(st.lists(st.integers(1, 80), min_size=1, max_size=12))
    picks = draw(st.lists(st.integers(0, len(values) - 1), min_size=len(lengths), max_size=len(lengths)))
    runs = [np.full(n, values[k], dtype=dtype) for n, k in zip(lengths, picks, strict=True)]
    column = np.concatenate(runs)
    if draw(st.booleans()):  # every value its own run: the plain way must be taken and be right too
        column = np.array(draw(st.lists(pool, min_size=0, max_size=200)), dtype=dtype)
    return column


@settings(max_examples=1_500, deadline=None)
@given(runny(), st.booleans())
@example(np.array([0.0] * 40 + [-0.0] * 40), False)  # equal as numbers, not as text
@example(np.array([np.nan] * 100), False)  # NaN is not equal to itself, still one run
@example(np.zeros(RUNS_FROM, dtype=np.int64), True)
@example(np.arange(RUNS_FROM * 3, dtype=np.int8) // RUNS_FROM, False)
def test_a_column_by_runs_is_what_orjson_writes(values: np.ndarray, strided: bool) -> None:
    if strided:  # a view that skips every other value (a column taken by a slice with a step)
        values = np.repeat(values, 2)[::2]
    assert column_json(values) == plain_json(values)
    runs = runs_json(values)
    assert runs is None or runs == plain_json(values)
    # In a frame, any array is written as its C-ordered copy, whether or not its values repeat.
    frame = Frame("Streetlight", "g", 1, 1_760_000_000_000, {"x": values})
    assert encode(frame) == plain_encode(
        Frame("Streetlight", "g", 1, 1_760_000_000_000, {"x": values.copy()})
    )


def test_runs_are_taken_where_they_pay_and_only_there() -> None:
    assert runs_json(np.full(RUNS_FROM, 7.5)) == b"[" + b",".join([b"7.5"] * RUNS_FROM) + b"]"
    assert runs_json(np.full(RUNS_FROM - 1, 7.5)) is None  # short: orjson at once
    assert runs_json(np.arange(1_000, dtype=np.float64)) is None  # every value a run
    assert runs_json(np.zeros((RUNS_FROM, 2))) is None  # not a column
    assert runs_json(np.zeros(RUNS_FROM, dtype=np.longdouble)) is None  # orjson's to refuse


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.text(max_size=12), min_size=1, max_size=5),
    st.lists(st.tuples(st.integers(0, 4), st.integers(1, 60)), max_size=20),
    st.booleans(),
)
def test_text_from_codes_is_what_orjson_writes(
    choices: list[str], runs: list[tuple[int, int]], mixed: bool
) -> None:
    codes = np.array([k % len(choices) for k, n in runs for _ in range(n)], dtype=np.int8)
    if mixed:
        codes = np.arange(len(codes), dtype=np.int8) % len(choices)
    texts = np.array(choices, dtype=object)
    assert coded_json(codes, [orjson.dumps(c) for c in choices]) == plain_json(texts[codes])


def lamp_frame(n: int = 200) -> Frame:
    ids = np.array([f"L{i:03}" for i in range(n)], dtype=object)
    state = np.array(["on"] * (n // 2) + ["low"] * (n - n // 2), dtype=object)
    cols = {"id": ids, "powerState": state, "powerConsumption": np.linspace(0, 150, n).round(1)}
    frame = Frame("Streetlight", "sl.vinh.01", 3, 1_760_000_000_000, cols, "sim", boot="b1")
    frame.json_cols = {"id": (ids, plain_json(ids)), "powerState": (state, plain_json(state))}
    return frame


def test_kept_json_is_used_while_its_column_is_that_very_object() -> None:
    frame = lamp_frame()
    frame.json_cols["id"] = (frame.cols["id"], b'["kept"]')  # written so that its use shows
    assert b'"id":["kept"]' in encode(frame)


@pytest.mark.parametrize("how", ["replaced", "selected", "copied"])
def test_a_changed_column_is_written_anew_not_from_kept_json(how: str) -> None:
    frame = lamp_frame()
    if how == "replaced":  # as a stuck-sensor fault does
        state = frame.cols["powerState"].copy()
        state[0] = "off"
        frame.cols["powerState"] = state
    elif how == "selected":
        frame = frame.select(np.arange(frame.n) % 3 == 0)
    else:
        frame = Frame(frame.type, frame.group, frame.seq, frame.tick, dict(frame.cols), boot=frame.boot)
        frame.cols["id"] = frame.cols["id"][::-1].copy()
    assert encode(frame) == plain_encode(frame)
    assert orjson.loads(encode(frame))["cols"]["powerState"] == list(frame.cols["powerState"])


def test_a_frame_encodes_as_before_with_and_without_kept_json() -> None:
    frame = lamp_frame()
    assert encode(frame) == plain_encode(frame)
    frame.json_cols = {}
    assert encode(frame) == plain_encode(frame)
