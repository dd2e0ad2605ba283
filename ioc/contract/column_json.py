"""JSON arrays of whole columns, byte for byte what orjson writes for them, made in bulk: a run of equal
numbers is written once and repeated, and text from a few choices is written from its integer codes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

NUMPY = orjson.OPT_SERIALIZE_NUMPY
RUNS_FROM = 64  # readings; below this orjson writes the column faster than runs can be found
READINGS_PER_RUN = 8  # at fewer on average, writing each value is cheaper than repeating runs
# Runs are found on the values' bits: -0.0 and 0.0 print differently, and NaN equals itself bitwise.
_BITS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def column_json(values: Any) -> bytes:
    """The JSON array orjson writes for a column (numpy array or list), in fewer steps where it has runs."""
    if isinstance(values, np.ndarray):
        if values.dtype.kind in "USO":
            return orjson.dumps(values.tolist(), option=NUMPY)
        runs = runs_json(values)
        if runs is not None:
            return runs
        values = np.ascontiguousarray(values)  # orjson writes C-ordered arrays only
    return orjson.dumps(values, option=NUMPY)


def runs_json(values: np.ndarray) -> bytes | None:
    """The JSON of a long numeric column made run by run; None if it is short or its runs are too short."""
    if values.ndim != 1 or len(values) < RUNS_FROM or values.dtype.kind not in "biuf":
        return None
    if values.dtype.itemsize not in _BITS:  # long double: orjson refuses it, let it say so
        return None
    starts = _run_starts(values.view(_BITS[values.dtype.itemsize]))
    if starts is None:
        return None
    items = [orjson.dumps(values[i : i + 1], option=NUMPY)[1:-1] for i in starts]
    return _repeated(items, starts, len(values))


def coded_json(codes: np.ndarray, choices: Sequence[bytes]) -> bytes:
    """The JSON array of `choices[code]` for each code, where `choices` holds each choice's JSON."""
    starts = _run_starts(np.ascontiguousarray(codes))
    if starts is not None:
        return _repeated([choices[c] for c in codes[starts].tolist()], starts, len(codes))
    return b"[" + b",".join(np.asarray(choices, dtype=object)[codes].tolist()) + b"]"


def _run_starts(values: np.ndarray) -> list[int] | None:
    """Index of the first value of each run of equal values; None if the runs are too short to pay."""
    if len(values) < 2:
        return list(range(len(values)))
    changed = values[1:] != values[:-1]
    if (np.count_nonzero(changed) + 1) * READINGS_PER_RUN > len(values):
        return None
    return [0, *(changed.nonzero()[0] + 1).tolist()]


def _repeated(items: list[bytes], starts: list[int], n: int) -> bytes:
    """A JSON array of runs: items[k] repeated from starts[k] up to the next start (or n)."""
    if not items:
        return b"[]"
    ends = [*starts[1:], n]
    parts = [b"["]
    parts += [(item + b",") * (end - start) for item, start, end in zip(items, starts, ends, strict=True)]
    parts[-1] = parts[-1][:-1]  # no comma after the last value
    parts.append(b"]")
    return b"".join(parts)
