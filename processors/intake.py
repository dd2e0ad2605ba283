"""Intake of raw frames: contract checks, duplicate frames and late readings, with dead-letter entries for
everything refused. Pure code (no Faust), so every rule is unit-tested on its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ioc.contract import ContractError, Frame, KnownSensors, Reason, Rejection, TextMemo, check
from ioc.contract.deadletter import NO_ROWS, DeadLetter, Source, refusal
from processors.duplicates import MAX_BOOTS, RING, RING_TAPS, TAG_COLUMN, ReadingRing, SeqSpace, tags_of


@dataclass
class GroupClock:
    """Per (type, group): what was accepted (ReadingRing by content, SeqSpace per named boot) and the
    event-time watermark, the newest reading accepted from the group.

    Exactly once for good data: a re-sent reading is found by its content among its sensor's last
    readings, and a frame of a sender that names its boot by its number, however late. Harmless for bad
    data: nothing refused is remembered (its corrected resend gets in); without a boot, sequence numbers
    decide nothing, so a reboot, a jump or two devices counting in one group cost no reading; a reading from
    the future never moves the watermark (it is refused first)."""

    ring: ReadingRing
    watermark: int = 0
    spaces: dict[str, SeqSpace] = field(default_factory=dict)

    def numbered(self, boot: str, seq: int) -> bool:
        """The frame's (boot, seq) was admitted before."""
        space = self.spaces.get(boot)
        return space is not None and seq in space

    def admit(self, boot: str, seq: int, newest: int, lateness_ms: int) -> None:
        self.watermark = max(self.watermark, newest)
        if not boot:
            return
        space = self.spaces.get(boot)
        if space is None:
            if len(self.spaces) >= MAX_BOOTS:
                del self.spaces[min(self.spaces, key=lambda b: self.spaces[b].used)]
            space = self.spaces[boot] = SeqSpace()
        space.add(seq, newest)
        space.prune(self.watermark - lateness_ms)

    def snapshot(self) -> dict[str, Any]:
        spaces = {b: s.snapshot() for b, s in self.spaces.items()}
        return {"watermark": self.watermark, "ring": self.ring.snapshot(), "spaces": spaces}

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> GroupClock:
        spaces = {str(b): SeqSpace.restore(s) for b, s in dict(snap["spaces"]).items()}
        return cls(ReadingRing.restore(snap["ring"]), int(snap["watermark"]), spaces)

    def size(self) -> int:
        """Sensor rows and sequence runs held, for the state-size metric."""
        return len(self.ring.ids) + sum(len(s.lo) for s in self.spaces.values())


@dataclass
class Parsed:
    """A decoded frame: the readings that passed the contract and what was refused, not yet admitted."""

    original: Frame
    valid: Frame
    rejections: list[Rejection]

    @cached_property
    def newest(self) -> int | None:
        """The latest event time among the valid readings, None if there is none (asked of every frame
        several times on its way: reckoned once)."""
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
    texts: TextMemo = field(default_factory=TextMemo)

    def parse(self, raw: bytes, source: Source) -> tuple[Parsed | None, list[DeadLetter]]:
        """Decode and check a record against the contract and the city; pure, touches no clock."""
        try:
            original, valid, rejections = check(raw, self.known, self.texts)
        except ContractError as exc:
            return None, [refusal(exc.reason, exc.detail, source, raw)]
        letters = [DeadLetter(r.reason, r.detail, source, original, r.rows) for r in rejections]
        return Parsed(original, valid, rejections), letters

    def admit(
        self, parsed: Parsed, source: Source, limit_ms: int | None = None
    ) -> tuple[Frame | None, list[DeadLetter]]:
        """Refuse readings from the future (later than `limit_ms`, the trusted clock plus its tolerance),
        duplicate frames and late readings; return what is left for the state, and the refusals."""
        letters: list[DeadLetter] = []
        valid, newest = parsed.valid, parsed.newest
        if limit_ms is not None and newest is not None and newest > limit_ms:
            valid, future = _split(valid, valid.cols["dateObserved"] > limit_ms)
            newest = None
            if future is not None:
                ahead = (int(future.cols["dateObserved"].max()) - limit_ms) / 1000
                detail = f"{future.n} readings up to {ahead:,.0f} s later than the trusted clock allows"
                letters.append(DeadLetter(Reason.FUTURE, detail, source, future, NO_ROWS))
        if valid.n == 0:
            return None, letters  # nothing acceptable: no clock is made, nothing remembered
        key = f"{valid.type}|{valid.group}"
        clock = self.clocks.get(key) or GroupClock(
            ReadingRing(RING_TAPS if valid.type in TAG_COLUMN else RING)
        )
        if valid.boot and clock.numbered(valid.boot, valid.seq):
            detail = f"frame {valid.frame_id} of boot {valid.boot} was already processed"
            letters.append(DeadLetter(Reason.DUPLICATE, detail, source, valid, NO_ROWS))
            return None, letters
        t = valid.cols["dateObserved"]
        rows, tags = clock.ring.rows(valid.cols["id"]), tags_of(valid.type, valid.cols)
        seen = clock.ring.seen(rows, t, tags)
        horizon = clock.watermark - self.allowed_lateness_ms
        if seen.any() or int(t.min()) < horizon:  # else a live frame: nothing seen, nothing late, all kept
            late = ~seen & (t < horizon)
            for mask, reason in ((seen, Reason.DUPLICATE), (late, Reason.LATE)):
                if mask.any():
                    refused = valid.select(mask)
                    letters.append(
                        DeadLetter(reason, self._detail(reason, refused, clock), source, refused, NO_ROWS)
                    )
            keep = ~(seen | late)
            if not keep.any():
                return None, letters
            if not keep.all():
                valid, rows, tags, t, newest = valid.select(keep), rows[keep], tags[keep], t[keep], None
        if key not in self.clocks:
            self.clocks[key] = clock
            self.origin[key] = (source.topic, source.partition)
        clock.ring.remember(rows, t, tags)
        newest = int(t.max()) if newest is None else newest
        clock.admit(valid.boot, valid.seq, newest, self.allowed_lateness_ms)
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

    def _detail(self, reason: Reason, refused: Frame, clock: GroupClock) -> str:
        if reason == Reason.DUPLICATE:
            return f"{refused.n} readings already accepted (same sensor and time)"
        behind = (clock.watermark - int(refused.cols["dateObserved"].min())) / 1000
        allowed = self.allowed_lateness_ms / 1000
        return (
            f"{refused.n} readings up to {behind:.0f} s behind the group watermark (allowed {allowed:.0f} s)"
        )

    def low_watermark(self, topic: str) -> int | None:
        """Event time every partition of `topic` seen here has reached: the minimum over its partitions of
        the latest reading. A judgement of silence against it is not fooled by one partition running ahead,
        as partitions do while a worker catches up."""
        latest: dict[int, int] = {}
        for key, (t, p) in self.origin.items():
            if t == topic:
                latest[p] = max(latest.get(p, 0), self.clocks[key].watermark)
        return min(latest.values()) if latest else None

    def export(self, topic: str, partition: int) -> dict[str, dict[str, Any]]:
        """The clocks of the groups that arrive on one partition, for its checkpoint."""
        return {k: self.clocks[k].snapshot() for k, tp in self.origin.items() if tp == (topic, partition)}

    def restore(self, topic: str, partition: int, clocks: dict[str, dict[str, Any]]) -> None:
        self.forget(topic, partition)
        for key, snap in clocks.items():
            self.clocks[key] = GroupClock.restore(snap)
            self.origin[key] = (topic, partition)

    def forget(self, topic: str, partition: int) -> None:
        """Drop the clocks of a partition this worker no longer owns."""
        for key in [k for k, tp in self.origin.items() if tp == (topic, partition)]:
            del self.clocks[key], self.origin[key]

    def size(self) -> dict[str, int]:
        """Groups, and sensor rows plus sequence runs held, for the state-size metric."""
        return {"groups": len(self.clocks), "entries": sum(c.size() for c in self.clocks.values())}


def _split(frame: Frame, out: np.ndarray) -> tuple[Frame, Frame | None]:
    """(the readings not in `out`, the readings in `out` or None if there are none)."""
    if not out.any():
        return frame, None
    return frame.select(~out), frame.select(out)
