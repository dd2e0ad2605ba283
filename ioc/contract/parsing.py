"""A raw record to checked readings: decode + validate, with short frames checked whole the quick way."""

from __future__ import annotations

import numpy as np

from ioc.contract.frame import (
    ContractError,
    Frame,
    KnownSensors,
    Rejection,
    TextMemo,
    from_document,
    load,
    validate,
)
from ioc.contract.short_frames import parse_short


def check(
    raw: bytes | str, known: KnownSensors | None = None, memo: TextMemo | None = None
) -> tuple[Frame, Frame, list[Rejection]]:
    """(the frame as received, its valid readings as numpy columns, what was refused and why); raises
    ContractError when the whole frame is unusable. `known` and `memo` are frame.validate's."""
    doc = load(raw)
    quick = parse_short(doc, known, memo)
    if quick is not None:
        return (*quick, [])
    original = from_document(doc)
    return (original, *validate(original, known, memo))


def parse(raw: bytes | str, known: KnownSensors | None = None) -> tuple[Frame | None, list[Rejection]]:
    """check, never raising: a whole-frame error comes back as one rejection with no rows."""
    try:
        _, valid, rejections = check(raw, known)
    except ContractError as exc:
        return None, [Rejection(exc.reason, exc.detail, np.empty(0, dtype=np.int64))]
    return valid, rejections
