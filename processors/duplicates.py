"""Recognising what was already accepted, two ways, so that a retry, a rebalance or a replay's seek never
counts a reading twice while a reboot, a sequence jump or a refused frame never costs one:

- ReadingRing, by content: a reading is (sensor, event time) (a card tap also by its card). Each sensor's
  last RING accepted readings are kept, so any re-sent reading among them is known whoever sends it, under
  whatever boot or sequence number. At a reading a minute that is 8 minutes, beyond the 5-minute lateness:
  exact for every sensor that reports at most RING times per lateness window.
- SeqSpace, by number: a sender that names its boot promises a unique (boot, seq) per frame; a frame whose
  number was admitted is a re-delivery, at any rate. Without a boot, numbers decide nothing.
"""

from __future__ import annotations

import base64
import zlib
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ioc.contract.schemas import SHORT_FRAME

RING = 8  # readings remembered per sensor
RING_TAPS = 64  # a card reader takes many taps a minute
TAG_COLUMN = {"HealthCardTap": "card"}  # readings of these types are also told apart by this column
MAX_SENSORS = 20_000  # rows per group (a concentrator's lamps are ~800): a bound when no city vets the ids
MAX_INTERVALS = 64  # runs of sequence numbers kept per boot; more (scattered seqs) join the closest runs
MAX_BOOTS = 4  # sequence spaces kept per group: the current boot and a few before it, least recent dropped
FEW_READINGS = SHORT_FRAME  # up to this many, repeats within a frame are found with a set
_T_BITS = 43  # event times (epoch ms until 2100) fit 43 bits; row << 43 | t is one int64 per reading


def tags_of(type_: str, cols: dict[str, Any]) -> np.ndarray:
    """A 32-bit fingerprint per reading of the type's tag column (0 for types without one)."""
    name = TAG_COLUMN.get(type_)
    n = len(cols["id"])
    if name is None or name not in cols:
        return np.zeros(n, dtype=np.int64)
    return np.fromiter((zlib.crc32(str(v).encode()) for v in cols[name]), dtype=np.int64, count=n)


class ReadingRing:
    """Each sensor's last `size` accepted (event time, tag), in a ring per sensor row."""

    def __init__(
        self,
        size: int = RING,
        ids: np.ndarray | None = None,
        times: np.ndarray | None = None,
        tags: np.ndarray | None = None,
        pos: np.ndarray | None = None,
    ) -> None:
        self.size = size
        self.ids: np.ndarray = ids if ids is not None else np.empty(0, dtype=str)  # sorted
        n = len(self.ids)
        # (sensors, size) event times, -1 where nothing yet; the tags alike; the next slot per sensor.
        self.times: np.ndarray = times if times is not None else np.full((n, size), -1, dtype=np.int64)
        self.tags: np.ndarray = tags if tags is not None else np.zeros((n, size), dtype=np.int64)
        self.pos: np.ndarray = pos if pos is not None else np.zeros(n, dtype=np.int64)
        # Each sensor's latest remembered time (derived, not checkpointed): a frame whose every reading is
        # newer, as a live stream's are, holds nothing seen without a look through the rings.
        self.latest: np.ndarray = self.times.max(axis=1, initial=-1)
        # A group's frames nearly always list the same ids in the same order: their rows are kept, with
        # whether they are unique and, when they are consecutive rows in order, as a slice.
        self._last: tuple[np.ndarray, np.ndarray, bool, slice | None] | None = None

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """Row of each id, adding rows for ids not seen before (the city has vetted them)."""
        if self._last is not None and (self._last[0] is ids or np.array_equal(self._last[0], ids)):
            return self._last[1]
        found = np.searchsorted(self.ids, ids).clip(0, max(len(self.ids) - 1, 0))
        if len(self.ids) == 0 or not (self.ids[found] == ids).all():
            self._grow(ids)
            found = np.searchsorted(self.ids, ids)
        consecutive = len(found) > 0 and bool((np.diff(found) == 1).all())
        span = slice(int(found[0]), int(found[0]) + len(found)) if consecutive else None
        self._last = (ids, found, len(np.unique(found)) == len(found), span)
        return found

    def _unique(self, rows: np.ndarray) -> bool:
        """Whether no sensor appears twice among `rows` (known for the ids `rows` was last asked for)."""
        if self._last is not None and self._last[1] is rows:
            return self._last[2]
        return len(np.unique(rows)) == len(rows)

    def _span(self, rows: np.ndarray) -> slice | np.ndarray:
        """`rows` as a slice when they are consecutive (a concentrator lists its lamps in order): numpy
        reads and writes a slice without gathering or scattering row by row."""
        if self._last is not None and self._last[1] is rows and self._last[3] is not None:
            return self._last[3]
        return rows

    def _grow(self, ids: np.ndarray) -> None:
        merged = np.union1d(self.ids, ids)[:MAX_SENSORS]
        old = np.searchsorted(merged, self.ids)
        times = np.full((len(merged), self.size), -1, dtype=np.int64)
        tags = np.zeros((len(merged), self.size), dtype=np.int64)
        pos = np.zeros(len(merged), dtype=np.int64)
        latest = np.full(len(merged), -1, dtype=np.int64)
        times[old], tags[old], pos[old], latest[old] = self.times, self.tags, self.pos, self.latest
        self.ids, self.times, self.tags, self.pos, self.latest = merged, times, tags, pos, latest
        self._last = None

    def seen(self, rows: np.ndarray, t: np.ndarray, tag: np.ndarray) -> np.ndarray:
        """Readings accepted before, or repeated earlier in the same frame."""
        if self._unique(rows) and (t > self.latest[self._span(rows)]).all() and not tag.any():
            return np.zeros(len(rows), dtype=bool)  # one reading per sensor, each newer than all it sent
        same = self.times[rows] == t[:, None]
        if tag.any():  # card taps: the same reader and millisecond, another card, is another reading
            same &= self.tags[rows] == tag[:, None]
        before = same.any(axis=1)
        if self._unique(rows) and not tag.any():
            return before  # one reading per sensor: none repeats another of the frame
        key = (rows.astype(np.int64) << _T_BITS) | t
        if len(key) <= FEW_READINGS:  # a clinic's few taps: a set, not numpy's unique by rows (~100 us)
            pairs = list(zip(key.tolist(), tag.tolist(), strict=True))
            if len(set(pairs)) < len(pairs):
                earliest = {p: i for i, p in reversed(list(enumerate(pairs)))}
                repeats = (earliest[p] != i for i, p in enumerate(pairs))
                before |= np.fromiter(repeats, dtype=bool, count=len(pairs))
            return before
        if len(np.unique(key)) < len(key) or tag.any():
            both = np.stack([key, tag], axis=1)
            _, first = np.unique(both, axis=0, return_index=True)
            again = np.ones(len(key), dtype=bool)
            again[first] = False
            before |= again
        return before

    def remember(self, rows: np.ndarray, t: np.ndarray, tag: np.ndarray) -> None:
        span = self._span(rows)
        if isinstance(span, slice) and (level := self._level(span)) is not None:
            # A group whose sensors all report together fills one slot of every ring: a column of it.
            self.times[span, level], self.tags[span, level] = t, tag
            self.pos[span] = (level + 1) % self.size
            np.maximum(self.latest[span], t, out=self.latest[span])
            return
        if self._unique(rows):  # one reading per sensor: the usual frame
            slot = self.pos[rows]
            self.times[rows, slot], self.tags[rows, slot] = t, tag
            self.pos[rows] = (slot + 1) % self.size
            self.latest[rows] = np.maximum(self.latest[rows], t)
            return
        for r, ti, g in zip(rows.tolist(), t.tolist(), tag.tolist(), strict=True):  # taps of one reader
            slot = self.pos[r]
            self.times[r, slot], self.tags[r, slot] = ti, g
            self.pos[r] = (slot + 1) % self.size
            self.latest[r] = max(self.latest[r], ti)

    def _level(self, span: slice) -> int | None:
        """The next slot of the sensors in `span`, if it is the same for all of them."""
        pos = self.pos[span]
        first = int(pos[0])
        return first if (pos == first).all() else None

    def snapshot(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "ids": self.ids.tolist(),
            "times": _b64(self.times),
            "tags": _b64(self.tags),
            "pos": _b64(self.pos),
        }

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> ReadingRing:
        size, n = int(snap["size"]), len(snap["ids"])
        return cls(
            size,
            np.asarray(snap["ids"], dtype=str),
            _unb64(snap["times"]).reshape(n, size),
            _unb64(snap["tags"]).reshape(n, size),
            _unb64(snap["pos"]),
        )


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<i8").tobytes()).decode()


def _unb64(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<i8").astype(np.int64)


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
            # Scattered seqs (a broken or hostile sender): join the two closest runs; a frame later sent with
            # a seq from the joined gap is refused, which only that sender's broken numbering can cause.
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
