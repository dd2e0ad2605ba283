"""Intake of raw frames: contract checks, duplicate frames and late readings, with dead-letter entries for
everything refused. Pure code (no Faust), so every rule is unit-tested on its own."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ioc.contract import ContractError, Frame, KnownSensors, Reason, Rejection, decode, validate
from ioc.contract.deadletter import NO_ROWS, DeadLetter, Source, refusal

MAX_INTERVALS = 64  # runs of sequence numbers kept per boot; more (scattered seqs) merge the closest runs
MAX_BOOTS = 4  # sequence spaces kept per group: the current boot and a few before it, least recent dropped


@dataclass
class SeqSpace:
    """The sequence numbers admitted from one boot of a sender, as sorted disjoint runs [lo, hi], each with
    the newest event time among its frames (a run whose frames are all older than the lateness horizon can
    only be re-sent late, so it is forgotten)."""

    lo: list[int] = field(default_factory=list)
    hi: list[int] = field(default_factory=list)
    newest: list[int] = field(default_factory=list)
    used: int = 0  # newest event time admitted into this space: the least recently used boot goes first

    def __contains__(self, seq: int) -> bool:
        i = bisect_right(self.lo, seq) - 1
        return i >= 0 and seq <= self.hi[i]

    def add(self, seq: int, t: int) -> None:
        self.used = max(self.used, t)
        i = bisect_right(self.lo, seq) - 1
        if i >= 0 and self.hi[i] + 1 >= seq:  # extends the run on its left (the usual case: seq = hi + 1)
            self.hi[i] = max(self.hi[i], seq)
            self.newest[i] = max(self.newest[i], t)
        else:
            i += 1
            self.lo.insert(i, seq)
            self.hi.insert(i, seq)
            self.newest.insert(i, t)
        if i + 1 < len(self.lo) and self.hi[i] + 1 >= self.lo[i + 1]:  # now touches the run on its right
            self._join(i)
        if len(self.lo) > MAX_INTERVALS:
            # Scattered seqs (a broken or hostile sender): join the two closest runs. A frame later sent with
            # a seq from the joined gap is then judged by its event times (GroupClock.is_duplicate).
            gaps = [self.lo[k + 1] - self.hi[k] for k in range(len(self.lo) - 1)]
            self._join(gaps.index(min(gaps)))

    def _join(self, i: int) -> None:
        self.hi[i] = max(self.hi[i], self.hi.pop(i + 1))
        self.newest[i] = max(self.newest[i], self.newest.pop(i + 1))
        del self.lo[i + 1]

    def prune(self, horizon: int) -> None:
        keep = [k for k, t in enumerate(self.newest) if t >= horizon]
        if len(keep) < len(self.lo):
            self.lo, self.hi, self.newest = ([xs[k] for k in keep] for xs in (self.lo, self.hi, self.newest))

    def snapshot(self) -> list[Any]:
        return [self.used, self.lo, self.hi, self.newest]

    @classmethod
    def restore(cls, snap: list[Any]) -> SeqSpace:
        used, lo, hi, newest = snap
        return cls([int(x) for x in lo], [int(x) for x in hi], [int(x) for x in newest], int(used))


@dataclass
class GroupClock:
    """Per (type, group): the frames admitted so far (sequence numbers per boot) and the event-time
    watermark, the newest reading accepted from the group.

    Exactly once for good data: a frame re-delivered (a retry, a rebalance, a replay's seek) carries a
    (boot, seq) already admitted and only readings that were accepted, so none newer than the watermark: it
    is a duplicate. Any other frame is new: a different (boot, seq), or one whose readings are all newer than
    anything accepted from the group, which no re-delivery can be (a device that rebooted without a boot id
    and counts from 0 again). Harmless for bad data: a frame with no acceptable reading admits nothing, so
    its corrected resend gets in; one absurd seq is one more run, not a barrier for the seqs below it; a
    reading from the future never moves the watermark (it is refused before)."""

    watermark: int = 0
    spaces: dict[str, SeqSpace] = field(default_factory=dict)

    def is_duplicate(self, boot: str, seq: int, earliest: int) -> bool:
        space = self.spaces.get(boot)
        return space is not None and seq in space and earliest <= self.watermark

    def admit(self, boot: str, seq: int, newest: int, lateness_ms: int) -> None:
        space = self.spaces.get(boot)
        if space is None:
            if len(self.spaces) >= MAX_BOOTS:
                del self.spaces[min(self.spaces, key=lambda b: self.spaces[b].used)]
            space = self.spaces[boot] = SeqSpace()
        space.add(seq, newest)
        self.watermark = max(self.watermark, newest)
        space.prune(self.watermark - lateness_ms)

    def snapshot(self) -> list[Any]:
        return [self.watermark, {b: s.snapshot() for b, s in self.spaces.items()}]

    @classmethod
    def restore(cls, snap: list[Any]) -> GroupClock:
        return cls(int(snap[0]), {str(b): SeqSpace.restore(s) for b, s in dict(snap[1]).items()})

    def size(self) -> int:
        """Runs held, for the state-size metric."""
        return sum(len(s.lo) for s in self.spaces.values())


@dataclass
class Parsed:
    """A decoded frame: the readings that passed the contract and what was refused, not yet admitted."""

    original: Frame
    valid: Frame
    rejections: list[Rejection]

    @property
    def newest(self) -> int | None:
        """The latest event time among the valid readings, None if there is none."""
        t = self.valid.cols["dateObserved"]
        return int(t.max()) if len(t) else None


@dataclass
class Intake:
    """Turns raw records into valid frames plus dead letters; keeps per-group clocks.

    Only groups with at least one reading of a registered sensor ever get a clock, so junk group names cost
    nothing; each clock is capped (MAX_BOOTS x MAX_INTERVALS runs)."""

    known: KnownSensors | None
    allowed_lateness_ms: int
    clocks: dict[str, GroupClock] = field(default_factory=dict)
    origin: dict[str, tuple[str, int]] = field(default_factory=dict)  # clock key → (topic, partition)

    def parse(self, raw: bytes, source: Source) -> tuple[Parsed | None, list[DeadLetter]]:
        """Decode and check a record against the contract and the city; pure, touches no clock."""
        try:
            original = decode(raw)
        except ContractError as exc:
            return None, [refusal(exc.reason, exc.detail, source, raw)]
        valid, rejections = validate(original, self.known)
        letters = [DeadLetter(r.reason, r.detail, source, original, r.rows) for r in rejections]
        return Parsed(original, valid, rejections), letters

    def admit(
        self, parsed: Parsed, source: Source, limit_ms: int | None = None
    ) -> tuple[Frame | None, list[DeadLetter]]:
        """Refuse readings from the future (later than `limit_ms`, the trusted clock plus its tolerance),
        duplicate frames and late readings; return what is left for the state, and the refusals."""
        letters: list[DeadLetter] = []
        valid = parsed.valid
        if limit_ms is not None and valid.n:
            valid, future = _split(valid, valid.cols["dateObserved"] > limit_ms)
            if future is not None:
                ahead = (int(future.cols["dateObserved"].max()) - limit_ms) / 1000
                detail = f"{future.n} readings up to {ahead:,.0f} s later than the trusted clock allows"
                letters.append(DeadLetter(Reason.FUTURE, detail, source, future, NO_ROWS))
        if valid.n == 0:
            return None, letters  # nothing acceptable: no clock is made, no sequence number used
        key = f"{valid.type}|{valid.group}"
        clock = self.clocks.get(key) or GroupClock()
        t = valid.cols["dateObserved"]
        if clock.is_duplicate(valid.boot, valid.seq, int(t.min())):
            detail = f"frame {valid.frame_id} was already processed"
            letters.append(DeadLetter(Reason.DUPLICATE, detail, source, valid, NO_ROWS))
            return None, letters
        valid, late = _split(valid, t < clock.watermark - self.allowed_lateness_ms)
        if late is not None:
            letters.append(DeadLetter(Reason.LATE, self._late_detail(late, clock), source, late, NO_ROWS))
        if valid.n == 0:
            return None, letters
        if key not in self.clocks:
            self.clocks[key] = clock
            self.origin[key] = (source.topic, source.partition)
        clock.admit(valid.boot, valid.seq, int(valid.cols["dateObserved"].max()), self.allowed_lateness_ms)
        return valid, letters

    def accept(
        self, raw: bytes, source: Source, limit_ms: int | None = None
    ) -> tuple[Frame | None, list[DeadLetter]]:
        """parse + admit."""
        parsed, letters = self.parse(raw, source)
        if parsed is None:
            return None, letters
        frame, more = self.admit(parsed, source, limit_ms)
        return frame, letters + more

    def _late_detail(self, late: Frame, clock: GroupClock) -> str:
        behind = (clock.watermark - int(late.cols["dateObserved"].min())) / 1000
        allowed = self.allowed_lateness_ms / 1000
        return f"{late.n} readings up to {behind:.0f} s behind the group watermark (allowed {allowed:.0f} s)"

    def low_watermark(self, topic: str) -> int | None:
        """Event time every partition of `topic` seen here has reached: the minimum over its partitions of
        the latest reading. A judgement of silence against it is not fooled by one partition running ahead,
        as partitions do while a worker catches up."""
        latest: dict[int, int] = {}
        for key, (t, p) in self.origin.items():
            if t == topic:
                latest[p] = max(latest.get(p, 0), self.clocks[key].watermark)
        return min(latest.values()) if latest else None

    def export(self, topic: str, partition: int) -> dict[str, list[Any]]:
        """The clocks of the groups that arrive on one partition, for its checkpoint."""
        return {k: self.clocks[k].snapshot() for k, tp in self.origin.items() if tp == (topic, partition)}

    def restore(self, topic: str, partition: int, clocks: dict[str, list[Any]]) -> None:
        self.forget(topic, partition)
        for key, snap in clocks.items():
            self.clocks[key] = GroupClock.restore(snap)
            self.origin[key] = (topic, partition)

    def forget(self, topic: str, partition: int) -> None:
        """Drop the clocks of a partition this worker no longer owns."""
        for key in [k for k, tp in self.origin.items() if tp == (topic, partition)]:
            del self.clocks[key], self.origin[key]

    def size(self) -> dict[str, int]:
        """Groups and sequence runs held, for the state-size metric."""
        return {"groups": len(self.clocks), "seq_runs": sum(c.size() for c in self.clocks.values())}


def _split(frame: Frame, out: np.ndarray) -> tuple[Frame, Frame | None]:
    """(the readings not in `out`, the readings in `out` or None if there are none)."""
    if not out.any():
        return frame, None
    return frame.select(~out), frame.select(out)
