"""Intake of raw frames: contract checks, duplicate frames and late readings, with dead-letter entries for
everything refused. Pure code (no Faust), so every rule is unit-tested on its own."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ioc.contract import ContractError, Frame, KnownSensors, Reason, Rejection, decode, validate

SEQ_WINDOW = 1024  # frames a group may arrive out of order and still be recognised as new or duplicate
RAW_EXCERPT = 2048  # bytes of an unparseable payload kept in its dead-letter entry


@dataclass
class GroupClock:
    """Per (type, group): which recent sequence numbers were seen, and the event-time watermark."""

    top: int = -1  # highest seq seen
    seen: int = 0  # bit k set = seq (top - k) seen
    watermark: int = 0  # highest event time seen (ms)

    def admit(self, seq: int) -> bool:
        """Record seq; False if it was already seen or is too old to tell (treated as a duplicate)."""
        if seq > self.top:
            shift = seq - self.top
            self.seen = ((self.seen << shift) | 1) & ((1 << SEQ_WINDOW) - 1) if shift < SEQ_WINDOW else 1
            self.top = seq
            return True
        back = self.top - seq
        if back >= SEQ_WINDOW or (self.seen >> back) & 1:
            return False
        self.seen |= 1 << back
        return True

    def snapshot(self) -> list[int | str]:
        # `seen` is a 1024-bit set: hex text, since JSON numbers stop at 64 bits.
        return [self.top, format(self.seen, "x"), self.watermark]

    @classmethod
    def restore(cls, snap: list[int | str]) -> GroupClock:
        return cls(int(snap[0]), int(str(snap[1]), 16), int(snap[2]))


@dataclass(frozen=True)
class Source:
    """Where a record came from, for the dead-letter entry."""

    topic: str
    partition: int
    offset: int
    key: bytes | None


@dataclass
class DeadLetter:
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
                "key": self.source.key.decode("utf-8", "replace") if self.source.key else None,
            },
        }
        if self.frame is not None:
            doc.update(type=self.frame.type, group=self.frame.group, seq=self.frame.seq)
            doc["readings"] = _rows(self.frame, self.rows)
        elif self.raw is not None:
            doc["raw"] = self.raw[:RAW_EXCERPT].decode("utf-8", "replace")
        return doc


def _rows(frame: Frame, rows: np.ndarray) -> dict[str, list[Any]]:
    # The refused readings exactly as received (raw_cols), so an engineer sees the offending values.
    cols = frame.raw_cols if frame.raw_cols is not None else frame.cols
    picked = rows if len(rows) else np.arange(frame.n)
    return {k: [_plain(v[i]) for i in picked] for k, v in cols.items()}


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


@dataclass
class Intake:
    """Turns raw records into valid frames plus dead letters; keeps per-group clocks."""

    known: KnownSensors | None
    allowed_lateness_ms: int
    clocks: dict[str, GroupClock] = field(default_factory=dict)
    origin: dict[str, tuple[str, int]] = field(default_factory=dict)  # clock key → (topic, partition)
    accepted_readings: int = 0

    def accept(self, raw: bytes, source: Source) -> tuple[Frame | None, list[DeadLetter]]:
        frame, rejections = _parse_keeping_raw(raw, self.known)
        if frame is None:
            r = rejections[0]
            return None, [DeadLetter(r.reason, r.detail, source, None, r.rows, raw)]
        letters = [DeadLetter(r.reason, r.detail, source, frame.original, r.rows) for r in rejections]
        valid = frame.valid
        key = f"{valid.type}|{valid.group}"
        clock = self.clocks.get(key)
        if clock is None:
            clock = self.clocks[key] = GroupClock()
            self.origin[key] = (source.topic, source.partition)
        if not clock.admit(valid.seq):
            detail = f"frame {valid.frame_id} was already processed"
            letters.append(DeadLetter(Reason.DUPLICATE, detail, source, valid, np.empty(0, dtype=np.int64)))
            return None, letters
        if valid.n == 0:
            return None, letters
        valid, late = self._drop_late(valid, clock)
        if late is not None:
            letters.append(DeadLetter(Reason.LATE, late[0], source, late[1], np.empty(0, dtype=np.int64)))
        self.accepted_readings += valid.n
        return (valid if valid.n else None), letters

    def low_watermark(self, topic: str) -> int | None:
        """Event time every partition of `topic` seen here has reached: the minimum over its partitions of
        the latest reading. A judgement of silence against it is not fooled by one partition running ahead,
        as partitions do while a worker catches up."""
        latest: dict[int, int] = {}
        for key, (t, p) in self.origin.items():
            if t == topic:
                latest[p] = max(latest.get(p, 0), self.clocks[key].watermark)
        return min(latest.values()) if latest else None

    def export(self, topic: str, partition: int) -> dict[str, list[int | str]]:
        """The clocks of the groups that arrive on one partition, for its checkpoint."""
        return {k: self.clocks[k].snapshot() for k, tp in self.origin.items() if tp == (topic, partition)}

    def restore(self, topic: str, partition: int, clocks: dict[str, list[int | str]]) -> None:
        self.forget(topic, partition)
        for key, snap in clocks.items():
            self.clocks[key] = GroupClock.restore(snap)
            self.origin[key] = (topic, partition)

    def forget(self, topic: str, partition: int) -> None:
        """Drop the clocks of a partition this worker no longer owns."""
        for key in [k for k, tp in self.origin.items() if tp == (topic, partition)]:
            del self.clocks[key], self.origin[key]

    def _drop_late(self, frame: Frame, clock: GroupClock) -> tuple[Frame, tuple[str, Frame] | None]:
        t = frame.cols["dateObserved"]
        clock.watermark = max(clock.watermark, int(t.max()))
        horizon = clock.watermark - self.allowed_lateness_ms
        late = t < horizon
        if not late.any():
            return frame, None
        lag_s = (horizon - int(t[late].min())) / 1000 + self.allowed_lateness_ms / 1000
        allowed = self.allowed_lateness_ms / 1000
        count = int(late.sum())
        detail = f"{count} readings up to {lag_s:.0f} s behind the group watermark (allowed {allowed:.0f} s)"
        return frame.select(~late), (detail, frame.select(late))


@dataclass
class _Parsed:
    valid: Frame
    original: Frame


def _parse_keeping_raw(raw: bytes, known: KnownSensors | None) -> tuple[_Parsed | None, list[Rejection]]:
    try:
        original = decode(raw)
    except ContractError as exc:
        return None, [Rejection(exc.reason, exc.detail, np.empty(0, dtype=np.int64))]
    valid, rejections = validate(original, known)
    return _Parsed(valid, original), rejections


def now_ms() -> int:
    return int(time.time() * 1000)
