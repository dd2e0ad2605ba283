"""Packed frames: the readings of one sensor group at one tick, as versioned columnar JSON keyed by group."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import orjson

from ioc.contract.column_json import runs_json
from ioc.contract.schemas import (
    EPOCH_MS_MAX,
    EPOCH_MS_MIN,
    MAX_TEXT_VALUE,
    SCHEMAS,
    SHORT_FRAME,
    Field,
    Schema,
)

SCHEMA_VERSION = 1
MAX_READINGS = 100_000
MAX_FRAME_BYTES = 8 * 1024 * 1024  # a frame of MAX_READINGS lamp readings is ~6 MB of JSON
MAX_COLUMNS = 32  # the widest schema has 10; more is junk that would only cost memory
MAX_TEXT = 128  # group, boot, src and job
_FRAME_KEYS = ("v", "type", "group", "seq", "tick", "cols")


class Reason(StrEnum):
    """Why input was dead-lettered; the closed set operators and counters see."""

    MALFORMED_JSON = "malformed_json"
    BAD_FRAME = "bad_frame"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_TYPE = "unknown_type"
    BAD_COLUMNS = "bad_columns"
    BAD_VALUE_TYPE = "bad_value_type"
    OUT_OF_RANGE = "out_of_range"
    UNKNOWN_SENSOR = "unknown_sensor"
    FUTURE = "future"
    LATE = "late"
    DUPLICATE = "duplicate"
    # Documents between the processors and the wall (aggregates, alerts, actions, clock, replay control):
    UNAUTHENTICATED = "unauthenticated"  # no or a wrong signature: not written by the processors
    BAD_DOCUMENT = "bad_document"  # signed but unusable (a bug, never an attacker)
    PROCESSING_ERROR = "processing_error"  # an input that made processing fail: refused, never a crash


class ContractError(ValueError):
    """A whole frame is unusable; `reason` is one of Reason, `detail` says what to fix."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Rejection:
    """Readings of a frame refused for one reason; `rows` index the frame as received."""

    reason: Reason
    detail: str
    rows: np.ndarray


@dataclass
class Frame:
    """Decoded readings as numpy columns; a frame of one reading is a valid frame."""

    type: str
    group: str
    seq: int
    tick: int
    cols: dict[str, Any]
    src: str = ""
    job: str = ""  # replay job id, empty for live data
    boot: str = ""  # the sender's boot (or epoch) id: its sequence numbers count within one boot
    raw_cols: dict[str, list[Any]] | None = field(default=None, repr=False, compare=False)
    # Columns whose JSON the sender already has (a concentrator's lamp ids, its lamps' states): name →
    # (that column object, its JSON). Used only while cols[name] is still that very object, so a column
    # replaced by a fault or a selection is written anew.
    json_cols: dict[str, tuple[Any, bytes]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n(self) -> int:
        return len(self.cols["id"])

    @property
    def schema(self) -> Schema:
        return SCHEMAS[self.type]

    @property
    def frame_id(self) -> str:
        """Deterministic id: the group and its sequence number."""
        return f"{self.group}#{self.seq}"

    def reading_ids(self) -> list[str]:
        """Deterministic reading ids: sensor id and event time."""
        return [f"{i}@{t}" for i, t in zip(self.cols["id"], self.cols["dateObserved"], strict=True)]

    def select(self, rows: np.ndarray) -> Frame:
        """The same frame restricted to some readings (a boolean mask or indices)."""
        cols = {k: np.asarray(v)[rows] for k, v in self.cols.items()}
        return Frame(self.type, self.group, self.seq, self.tick, cols, self.src, self.job, self.boot)

    def _document(self) -> dict[str, Any]:
        """The frame as orjson takes it (columns may be orjson fragments, so only for encode)."""
        out: dict[str, Any] = {
            "v": SCHEMA_VERSION,
            "type": self.type,
            "group": self.group,
            "seq": self.seq,
            "tick": self.tick,
            "cols": {k: self._wire_column(k, v) for k, v in self.cols.items()},
        }
        if self.src:
            out["src"] = self.src
        if self.job:
            out["job"] = self.job
        if self.boot:
            out["boot"] = self.boot
        return out

    def _wire_column(self, name: str, values: Any) -> Any:
        """The column as orjson takes it: its JSON where that is known or quicker made here, else itself."""
        known = self.json_cols.get(name)
        if known is not None and known[0] is values:
            return orjson.Fragment(known[1])
        if isinstance(values, np.ndarray):
            if values.dtype.kind in "USO":  # orjson writes numeric numpy arrays, not text or object ones
                return values.tolist()
            # C order whatever the values: orjson refuses other arrays, and runs_json takes any.
            values = np.ascontiguousarray(values)
            runs = runs_json(values)
            if runs is not None:
                return orjson.Fragment(runs)
        return values


def encode(frame: Frame) -> bytes:
    """The frame as compact JSON bytes; the same frame always gives the same bytes."""
    return orjson.dumps(frame._document(), option=orjson.OPT_SERIALIZE_NUMPY)


def single(type_: str, group: str, seq: int, reading: dict[str, Any], src: str = "") -> Frame:
    """A frame of one reading, as a real device would publish it."""
    cols = {k: [v] for k, v in reading.items()}
    return Frame(type_, group, seq, int(reading["dateObserved"]), cols, src)


def decode(raw: bytes | str) -> Frame:
    """Parse and check a frame's envelope and column shapes; raise ContractError with a reason if unusable.

    Values are converted to numpy columns; per-reading checks (ranges, unknown sensors) are `validate`'s job.
    """
    return from_document(load(raw))


def load(raw: bytes | str) -> Any:
    """The JSON document of a record, not yet checked; ContractError if it is too big or not JSON."""
    if len(raw) > MAX_FRAME_BYTES:
        raise ContractError(Reason.BAD_FRAME, f"a frame is at most {MAX_FRAME_BYTES} bytes, got {len(raw)}")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ContractError(Reason.MALFORMED_JSON, f"not JSON: {exc}") from None


def from_document(doc: Any) -> Frame:
    """decode's checks on an already parsed document."""
    if not isinstance(doc, dict):
        raise ContractError(Reason.BAD_FRAME, f"a frame is a JSON object, got {type(doc).__name__}")
    version = doc.get("v")
    if not _is_int(version) or version != SCHEMA_VERSION:  # 1.0 and true are not the integer 1
        raise ContractError(
            Reason.UNSUPPORTED_VERSION,
            f"frame version {_excerpt(version)}; this build reads the integer v={SCHEMA_VERSION}",
        )
    missing = [k for k in _FRAME_KEYS if k not in doc]
    if missing:
        raise ContractError(Reason.BAD_FRAME, f"missing frame keys {missing}")
    schema = SCHEMAS.get(doc["type"]) if isinstance(doc["type"], str) else None
    if schema is None:
        raise ContractError(
            Reason.UNKNOWN_TYPE, f"unknown type {_excerpt(doc['type'])}; known: {sorted(SCHEMAS)}"
        )
    group, seq, tick = doc["group"], doc["seq"], doc["tick"]
    if not isinstance(group, str) or not 0 < len(group) <= MAX_TEXT:
        raise ContractError(
            Reason.BAD_FRAME, f"group must be a non-empty string of at most {MAX_TEXT} characters"
        )
    if not _is_int(seq) or not 0 <= seq < 2**63:
        raise ContractError(Reason.BAD_FRAME, f"seq must be an integer in 0..2^63-1, got {_excerpt(seq)}")
    if not _is_int(tick) or not EPOCH_MS_MIN <= tick <= EPOCH_MS_MAX:
        raise ContractError(
            Reason.BAD_FRAME, f"tick must be epoch milliseconds (2000..2100), got {_excerpt(tick)}"
        )
    src, job, boot = (_text(doc, k) for k in ("src", "job", "boot"))
    raw_cols = doc["cols"]
    _check_shape(schema, raw_cols)
    return Frame(schema.type, group, seq, tick, dict(raw_cols), src, job, boot, raw_cols=raw_cols)


def _text(doc: dict[str, Any], key: str) -> str:
    """An optional short text field of the envelope ('' if absent); a boot id may also be an integer."""
    value = doc.get(key, "")
    if key == "boot" and _is_int(value) and 0 <= value < 2**63:
        return str(value)
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ContractError(Reason.BAD_FRAME, f"{key} must be a string of at most {MAX_TEXT} characters")
    return value


def _excerpt(value: Any) -> str:
    """A value for an error message, never longer than a line however big the input."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _check_shape(schema: Schema, cols: Any) -> None:
    if not isinstance(cols, dict):
        raise ContractError(Reason.BAD_COLUMNS, "cols must be an object of column arrays")
    if len(cols) > MAX_COLUMNS:
        raise ContractError(Reason.BAD_COLUMNS, f"at most {MAX_COLUMNS} columns, got {len(cols)}")
    absent = [f.name for f in schema.columns if f.required and f.name not in cols]
    if absent:
        raise ContractError(Reason.BAD_COLUMNS, f"{schema.type} needs columns {absent}")
    lengths = {k: len(v) if isinstance(v, list) else -1 for k, v in cols.items()}
    if any(n < 0 for n in lengths.values()):
        raise ContractError(Reason.BAD_COLUMNS, "every column must be an array")
    sizes = set(lengths.values())
    if len(sizes) != 1:
        raise ContractError(Reason.BAD_COLUMNS, f"columns differ in length: {_excerpt(lengths)}")
    n = sizes.pop()
    if not 1 <= n <= MAX_READINGS:
        raise ContractError(Reason.BAD_COLUMNS, f"a frame holds 1..{MAX_READINGS} readings, got {n}")


KnownSensors = Callable[[str, str, np.ndarray], np.ndarray]


class TextMemo:
    """The last wholly valid decoded list of each text column per (type, group, column) and its array: a
    group's frames nearly always list the same sensors in the same order, and a lamp's state or status
    rarely changes from one report to the next, so comparing the decoded list with the last one (in C)
    replaces building a text array (and, for ids, looking every id up in the city again). Only text is
    remembered: a list equal to a list of strings holds the same strings, as JSON has no other value equal to
    a string (numbers are not safe: true == 1.0). Bounded; junk groups never enter (nothing invalid does)."""

    def __init__(self, limit: int = 16_384) -> None:
        self.limit = limit
        self._last: dict[tuple[str, str, str], tuple[list[Any], np.ndarray]] = {}

    def get(self, key: tuple[str, str, str], raw: Any) -> np.ndarray | None:
        last = self._last.get(key)
        return last[1] if last is not None and isinstance(raw, list) and last[0] == raw else None

    def put(self, key: tuple[str, str, str], raw: Any, values: np.ndarray) -> None:
        if not isinstance(raw, list):
            return
        if len(self._last) >= self.limit:
            self._last.clear()
        values.flags.writeable = False  # handed on to every frame of the group: no one may change it
        self._last[key] = (raw, values)


def validate(
    frame: Frame, known: KnownSensors | None = None, memo: TextMemo | None = None
) -> tuple[Frame, list[Rejection]]:
    """Convert columns and check every reading; return the valid readings and what was refused, and why.

    `known(type, group, ids)` returns a boolean mask of ids registered as sensors of that type in that group;
    `memo` remembers each group's last valid text columns (ids only when `known` vetted them).
    """
    schema = frame.schema
    cols: dict[str, np.ndarray] = {}
    # (rows, reason, field) in check order; the first reason found for a reading is the one reported.
    problems: list[tuple[np.ndarray, Reason, Field | None]] = []
    id_key = (schema.type, frame.group, "id")
    remembered = memo.get(id_key, frame.cols["id"]) if memo is not None and known else None
    for f in schema.columns:
        if f.name not in frame.cols:
            continue
        raw = frame.cols[f.name]
        if f.name == "id" and remembered is not None:
            cols["id"] = remembered
            continue
        if f.choices and (chosen := _chosen(f, raw, (schema.type, frame.group, f.name), memo)) is not None:
            cols[f.name] = chosen
            continue
        if f.kind in "fi" and (plain := _plain_numbers(f, raw)) is not None:
            cols[f.name] = plain
            continue
        values, bad_type = _column(f, raw)
        if bad_type is not None:
            problems.append((bad_type, Reason.BAD_VALUE_TYPE, f))
        out = _out_of_range(f, values, raw)
        if out is not None:
            problems.append((out, Reason.OUT_OF_RANGE, f))
        cols[f.name] = values
    if known is not None and remembered is None:
        found = known(schema.type, frame.group, cols["id"])
        if not found.all():
            problems.append((~found, Reason.UNKNOWN_SENSOR, None))
        elif memo is not None and not problems:
            memo.put(id_key, frame.cols["id"], cols["id"])
    checked = Frame(frame.type, frame.group, frame.seq, frame.tick, cols, frame.src, frame.job, frame.boot)
    if not problems:
        return checked, []
    refused = np.zeros(len(cols["id"]), dtype=bool)
    rejections: list[Rejection] = []
    for mask, reason, about in problems:
        fresh = mask & ~refused
        if fresh.any():
            rejections.append(Rejection(reason, _detail(reason, about, schema.type), np.flatnonzero(fresh)))
            refused |= fresh
    return checked.select(~refused), rejections


def _detail(reason: Reason, f: Field | None, type_: str) -> str:
    if f is None:
        return f"id is not a registered {type_} of this frame's group"
    if reason == Reason.BAD_VALUE_TYPE:
        return f"{f.name} must be {_KIND_NAMES[f.kind]}"
    return _range_text(f)


_KIND_NAMES = {"f": "a number or null", "i": "an integer", "s": "a string", "b": "true or false"}
_DTYPES = {"f": np.float64, "i": np.int64, "b": np.bool_}


_FAST_KINDS = {"f": "fiu", "i": "i", "s": "U", "b": "b"}  # numpy gives uint64 only past 2^63
_INT64 = 2**63


def _column(f: Field, values: Sequence[Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """Convert one column; return (array, rows whose value has the wrong type, or None if none).

    Total over any JSON: nested or ragged arrays, objects, huge integers and mixed types give rows of the
    wrong type, never an exception."""
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError, OverflowError):  # ragged nesting: numpy refuses to build an array
        arr = None
    if (
        arr is not None
        and arr.ndim == 1
        and arr.dtype.kind in _FAST_KINDS[f.kind]
        and _plain_types(f, values, arr)
    ):
        if f.kind == "s":
            return arr, None
        arr = arr.astype(_DTYPES[f.kind], copy=False)
        if f.kind == "f" and not f.nullable:
            nan = np.isnan(arr)
            return arr, nan if nan.any() else None
        return arr, None
    values_, bad = _column_slow(f, values)
    return values_, bad if bad.any() else None


def _plain_numbers(f: Field, values: Any) -> np.ndarray | None:
    """The usual numeric column settled in a few whole-array steps: every value a number of the field's
    kind, none null, all within range. None sends the column to the general conversion, which finds the
    wrong values (and says which)."""
    if isinstance(values, list) and len(values) <= SHORT_COLUMN:
        return _plain_short(f, values)
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError, OverflowError):
        return None
    if arr.ndim != 1 or not len(arr) or arr.dtype.kind not in _FAST_KINDS[f.kind]:
        return None
    lo = -np.inf if f.lo is None else f.lo
    hi = np.inf if f.hi is None else f.hi
    if not lo <= arr.min() <= arr.max() <= hi:  # a NaN fails too: min and max propagate it
        return None
    # true and false become 1 and 0 in numpy's conversion: only a range holding 0 or 1 needs a look.
    if lo <= 1 and not _plain_types(f, values, arr):
        return None
    return arr.astype(_DTYPES[f.kind], copy=False)


def _plain_short(f: Field, values: list[Any]) -> np.ndarray | None:
    """_plain_numbers for a short column (a weather station's one reading, a junction's few lanes): the
    types and the range looked at by Python's own loops in C, where each numpy step costs a fixed ~1 us
    whatever the length and the whole-array steps would be most of the work."""
    types = set(map(type, values))
    if not values or not (types == _INT_ONLY if f.kind == "i" else types <= _NUMBERS):
        return None  # a null, a boolean, text or a list: the general conversion says which
    lo, hi = _SHORT_RANGE[f.kind]
    lo = lo if f.lo is None else max(lo, f.lo)
    hi = hi if f.hi is None else min(hi, f.hi)
    if not (lo <= min(values) and max(values) <= hi):
        return None
    if f.kind == "f" and not all(map(math.isfinite, values)):
        return None  # a NaN slips past min and max (orjson never makes one; a caller's list might)
    return np.array(values, dtype=_DTYPES[f.kind])


SHORT_COLUMN = SHORT_FRAME  # up to this many values a column is checked by _plain_short
_INT_ONLY, _NUMBERS = {int}, {int, float}  # type(True) is bool: booleans are neither
# Where a field has no bound of its own: what int64 holds, and about what _value_ok accepts as a number.
_SHORT_RANGE = {"i": (-_INT64, _INT64 - 1), "f": (-1e300, 1e300)}


def _plain_types(f: Field, values: Sequence[Any], arr: np.ndarray) -> bool:
    """numpy's own conversion hides two wrong types: numbers among strings become text, and true/false
    among numbers become 1/0. str.join refuses anything but strings (in C); booleans are looked for only
    where numpy saw a 0 or a 1."""
    if f.kind == "s":
        try:
            "".join(values)
        except TypeError:
            return False
        return True
    if f.kind in "fi":
        zero_or_one = arr == 0
        zero_or_one |= arr == 1
        if not zero_or_one.any():
            return True
        suspects = np.flatnonzero(zero_or_one)
        if len(suspects) > 32:
            return bool not in set(map(type, values))
        return not any(values[i].__class__ is bool for i in suspects.tolist())
    return True


def _column_slow(f: Field, values: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    # Mixed, null-bearing or malformed columns get here; the per-value check finds which readings are wrong.
    ok = [_value_ok(f, v) for v in values]
    bad = ~np.asarray(ok, dtype=bool)
    fill: Any = {"f": np.nan, "i": 0, "s": "", "b": False}[f.kind]
    cleaned = [v if good and v is not None else fill for v, good in zip(values, ok, strict=True)]
    if f.kind == "s":
        return np.asarray(cleaned, dtype=str), bad
    return np.asarray(cleaned, dtype=_DTYPES[f.kind]), bad


def _value_ok(f: Field, v: Any) -> bool:
    if v is None:
        return f.nullable
    if f.kind == "f":
        return isinstance(v, int | float) and not isinstance(v, bool) and -1e300 < v < 1e300
    if f.kind == "i":
        return _is_int(v) and -_INT64 <= v < _INT64
    if f.kind == "s":
        return isinstance(v, str)
    return isinstance(v, bool)


def _out_of_range(f: Field, values: np.ndarray, raw: Any) -> np.ndarray | None:
    """Rows outside the field's range or choices (or text longer than MAX_TEXT_VALUE), or None."""
    if f.kind == "s" and values.dtype.kind == "U" and values.dtype.itemsize // 4 > MAX_TEXT_VALUE:
        too_long = np.char.str_len(values) > MAX_TEXT_VALUE  # only looked at when some value could be
        if too_long.any():
            other = _out_of_range(f, np.where(too_long, "", values), None)
            return too_long if other is None else too_long | other
    if f.choices:
        # The usual case, every value a known choice, is settled on the decoded list's few distinct values.
        if values.dtype.kind == "U" and _all_chosen(raw, f.choices):
            return None
        # A broadcast compare beats np.isin for a handful of choices.
        ok = (values[:, None] == np.asarray(f.choices)[None, :]).any(axis=1)
        return None if ok.all() else ~ok
    if f.kind not in "fi" or (f.lo is None and f.hi is None):
        return None
    lo = -np.inf if f.lo is None else f.lo
    hi = np.inf if f.hi is None else f.hi
    # Two NaN-ignoring reductions settle the usual all-in-range case without building masks.
    if lo <= np.fmin.reduce(values) and np.fmax.reduce(values) <= hi:
        return None
    # NaN compares False both ways, so a null that passed the type check is never out of range.
    bad = (values < lo) | (values > hi)
    return bad if bad.any() else None


def _chosen(f: Field, raw: Any, key: tuple[str, str, str], memo: TextMemo | None) -> np.ndarray | None:
    """The column as text when every value is one of the field's choices, else None (then the general
    conversion finds the wrong ones): the group's last such list if equal, else a dict lookup per value and
    a take, instead of numpy inferring text."""
    if memo is not None and (last := memo.get(key, raw)) is not None:
        return last
    table, codes = _choice_table(f.choices)
    try:
        picked = np.fromiter(map(codes.__getitem__, raw), dtype=np.intp, count=len(raw))
    except (KeyError, TypeError):  # not a choice, or an unhashable value (a list or an object)
        return None
    values = table[picked]
    if memo is not None:
        memo.put(key, raw, values)
    return values


@functools.cache
def _choice_table(choices: tuple[str, ...]) -> tuple[np.ndarray, dict[str, int]]:
    return np.asarray(choices), {c: i for i, c in enumerate(choices)}


def _all_chosen(raw: Any, choices: tuple[str, ...]) -> bool:
    try:
        return isinstance(raw, list) and set(raw) <= set(choices)
    except TypeError:  # an unhashable value (a list or object): found by the per-value check instead
        return False


def _range_text(f: Field) -> str:
    if f.kind == "s" and not f.choices:
        return f"{f.name} must be at most {MAX_TEXT_VALUE} characters"
    if f.choices:
        return f"{f.name} must be one of {list(f.choices)}"
    return f"{f.name} must lie in [{f.lo}, {f.hi}] {f.unit}".rstrip()
