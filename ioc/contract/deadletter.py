"""Dead-letter entries: what was refused, why (a Reason), where it came from, and the refused readings or
an excerpt of the bytes, bounded in size whatever came in. Written by the worker for raw frames and every
document it refuses, and by the wall for what it refuses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from ioc.contract.frame import Frame, Reason

RAW_EXCERPT = 2048  # bytes of an unparseable payload kept in its dead-letter entry
READINGS_EXCERPT = 64 * 1024  # bytes of refused readings kept in their dead-letter entry
NO_ROWS = np.empty(0, dtype=np.int64)


@dataclass(frozen=True)
class Source:
    """Where a record came from, for the dead-letter entry."""

    topic: str
    partition: int
    offset: int
    key: bytes | None


@dataclass
class DeadLetter:
    """One refusal: of a whole record (frame None, `raw` kept) or of some readings of a frame (`rows`)."""

    reason: Reason
    detail: str
    source: Source
    frame: Frame | None
    rows: np.ndarray
    raw: bytes | None = None

    def document(self, now_ms: int) -> dict[str, Any]:
        """The dead-letter record: reason, origin and the refused readings (or the raw bytes)."""
        doc: dict[str, Any] = {
            "v": 1,
            "reason": str(self.reason),
            "detail": self.detail,
            "at": now_ms,
            "source": {
                "topic": self.source.topic,
                "partition": self.source.partition,
                "offset": self.source.offset,
                "key": self.source.key[:256].decode("utf-8", "replace") if self.source.key else None,
            },
        }
        if self.frame is not None:
            doc.update(type=self.frame.type, group=self.frame.group, seq=self.frame.seq)
            if self.frame.boot:
                doc["boot"] = self.frame.boot
            readings = _rows(self.frame, self.rows)
            # Bounded however big the refused values were (a 5 MB object in one cell), so the entry is
            # always publishable; an engineer still sees the start of what was sent.
            text = orjson.dumps(readings)
            if len(text) <= READINGS_EXCERPT:
                doc["readings"] = readings
            else:
                doc["readings_excerpt"] = text[:READINGS_EXCERPT].decode("utf-8", "replace")
        elif self.raw is not None:
            doc["raw"] = self.raw[:RAW_EXCERPT].decode("utf-8", "replace")
        return doc


def refusal(reason: Reason, detail: str, source: Source, raw: bytes | None) -> DeadLetter:
    """A whole record refused: its bytes (an excerpt) go with the entry."""
    return DeadLetter(reason, detail, source, None, NO_ROWS, raw or b"")


def _rows(frame: Frame, rows: np.ndarray) -> dict[str, list[Any]]:
    # The refused readings exactly as received (raw_cols), so an engineer sees the offending values.
    cols = frame.raw_cols if frame.raw_cols is not None else frame.cols
    picked = rows if len(rows) else np.arange(frame.n)
    return {k: [_plain(v[i]) for i in picked] for k, v in cols.items()}


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
