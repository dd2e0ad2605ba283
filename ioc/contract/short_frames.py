"""Short frames (a station's one reading, a junction's lanes, a cabinet's meters) checked whole by msgspec.

Seven frames in ten carry a few readings, and the general check's fixed cost per column and per envelope
key (Python steps of about a microsecond each) was most of their parse. msgspec checks every type, range,
choice and length of such a frame in one call in C, against structs made from the same schemas. It only
ever says yes or no: a frame it refuses, for whatever reason, goes the general way (frame.decode and
frame.validate), which finds and names what is wrong, reading by reading. So a frame it accepts must be
exactly one the general way accepts whole, with the same columns: tests/unit/test_short_frames.py checks
that on generated valid and broken frames.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import msgspec
import numpy as np

from ioc.contract.frame import (
    _DTYPES,
    _INT64,
    MAX_TEXT,
    SCHEMA_VERSION,
    SHORT_COLUMN,
    Frame,
    KnownSensors,
    TextMemo,
    _chosen,
)
from ioc.contract.schemas import EPOCH_MS_MAX, EPOCH_MS_MIN, MAX_TEXT_VALUE, SCHEMAS, Field, Schema

_ABOUT_INFINITE = 1e300  # what the general check takes as a number at most, where a field has no bound


def _value_type(f: Field) -> Any:
    """The type of one value of a field, with its range, choices or length."""
    t: Any
    if f.kind == "s":
        t = Literal[f.choices] if f.choices else Annotated[str, msgspec.Meta(max_length=MAX_TEXT_VALUE)]
    elif f.kind == "b":
        t = bool
    elif f.kind == "i":
        lo = -_INT64 if f.lo is None else max(-_INT64, int(f.lo))
        hi = _INT64 - 1 if f.hi is None else min(_INT64 - 1, int(f.hi))
        t = Annotated[int, msgspec.Meta(ge=lo, le=hi)]
    elif f.lo is None or f.hi is None:
        t = Annotated[float, msgspec.Meta(gt=-_ABOUT_INFINITE, lt=_ABOUT_INFINITE)]
    else:
        t = Annotated[float, msgspec.Meta(ge=f.lo, le=f.hi)]
    return Union[t, None] if f.nullable else t  # noqa: UP007 (a runtime type for msgspec)


def _frame_struct(schema: Schema) -> type[msgspec.Struct]:
    column = msgspec.Meta(min_length=1, max_length=SHORT_COLUMN)
    cols = msgspec.defstruct(
        f"{schema.type}Columns",
        [
            (f.name, Annotated[list[_value_type(f)], column])  # type: ignore[misc]
            if f.required
            else (f.name, Annotated[list[_value_type(f)], column] | msgspec.UnsetType, msgspec.UNSET)  # type: ignore[misc]
            for f in schema.columns
        ],
        forbid_unknown_fields=True,  # the general way checks and drops other columns
    )
    text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
    count = Annotated[int, msgspec.Meta(ge=0, le=_INT64 - 1)]
    return msgspec.defstruct(
        f"{schema.type}Frame",
        [
            ("v", Literal[SCHEMA_VERSION]),
            ("group", Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]),
            ("seq", count),
            ("tick", Annotated[int, msgspec.Meta(ge=EPOCH_MS_MIN, le=EPOCH_MS_MAX)]),
            ("cols", cols),
            ("src", text, ""),
            ("job", text, ""),
            ("boot", Union[text, count], ""),  # noqa: UP007
        ],
    )


# One struct per type, picked by the frame's type: msgspec hashes the type it is given on every call, and a
# typing.Union (a tagged union of them all) hashes in Python, which cost more than the check itself.
_FRAMES = {name: (schema, _frame_struct(schema)) for name, schema in SCHEMAS.items()}


def parse_short(doc: Any, known: KnownSensors | None, memo: TextMemo | None) -> tuple[Frame, Frame] | None:
    """(the frame as received, its checked columns) when `doc` (a decoded frame) is short and wholly valid,
    every sensor known; None sends it the general way."""
    if type(doc) is not dict or type(cols := doc.get("cols")) is not dict:
        return None
    ids = cols.get("id")
    if type(ids) is not list or len(ids) > SHORT_COLUMN:
        return None
    type_ = doc.get("type")
    found = _FRAMES.get(type_) if type(type_) is str else None
    if found is None:
        return None
    schema, struct = found
    try:
        checked: Any = msgspec.convert(doc, struct)  # the envelope's other keys ("type" too) are ignored
    except msgspec.ValidationError:
        return None
    if len(set(map(len, cols.values()))) != 1:
        return None
    group = checked.group
    id_column = _ids(schema.type, group, ids, known, memo)
    if id_column is None:
        return None  # the general way names the unknown sensors
    values = {"id": id_column}
    for f in schema.columns[1:]:
        raw = getattr(checked.cols, f.name)
        if raw is msgspec.UNSET:
            continue
        if f.choices:
            values[f.name] = _chosen(f, raw, (schema.type, group, f.name), memo)  # type: ignore[assignment]
        elif f.kind == "s":
            values[f.name] = np.asarray(raw)
        else:
            values[f.name] = np.array(raw, dtype=_DTYPES[f.kind])
    envelope = (schema.type, group, checked.seq, checked.tick)
    boot = str(checked.boot)
    original = Frame(*envelope, dict(cols), checked.src, checked.job, boot, raw_cols=cols)
    return original, Frame(*envelope, values, checked.src, checked.job, boot)


def _ids(
    type_: str, group: str, ids: list[str], known: KnownSensors | None, memo: TextMemo | None
) -> np.ndarray | None:
    """The id column, or None if a sensor is not registered; remembered only once `known` vetted it, as
    frame.validate does."""
    if known is None:
        return np.asarray(ids)
    key = (type_, group, "id")
    if memo is not None and (last := memo.get(key, ids)) is not None:
        return last
    column = np.asarray(ids)
    if not known(type_, group, column).all():
        return None
    if memo is not None:
        memo.put(key, ids, column)
    return column
