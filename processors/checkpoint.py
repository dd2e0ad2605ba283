"""Per-partition checkpoints of the raw stage, so a partition that moves to another worker resumes exactly.

A checkpoint holds, for one raw partition, the state its groups built (open windows, queues, rings) together
with the intake's sequence clocks of those groups and the offset it covers. Offsets are committed only up to
what a durable checkpoint covers. A new owner restores the latest checkpoint and re-reads from the committed
offset: frames already inside the checkpoint are skipped by offset (and would be recognised by the restored
clocks as duplicates), so at-least-once delivery never counts a reading twice, and nothing after the
checkpoint is skipped.

On the wire a checkpoint is compressed and cut into parts of at most PART_BYTES, each a record of its own
that names its checkpoint, index and count: no size of state makes a record too large for the broker and
stops the offsets from advancing. Every part of the state is capped, so in practice a checkpoint has far
fewer than MAX_PARTS, the records a restore reads back first (more are found by reading further back).
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from processors.intake import Intake

TP = tuple[str, int]  # (topic, partition)
GroupKey = tuple[str, str]  # (entity type, group)
VERSION = 2
PART_BYTES = 256 * 1024
MAX_PARTS = 32
_PART = struct.Struct(">4s16sHH")  # magic, checkpoint id, index, count
_MAGIC = b"IOCP"


class Checkpointed(Protocol):
    def export(self, keys: set[GroupKey]) -> dict[str, Any]: ...

    def restore(self, snap: dict[str, Any]) -> None: ...

    def forget(self, keys: set[GroupKey]) -> None: ...


@dataclass
class Ledger:
    """Which groups each raw partition fed, how far it was processed, checkpointed and committed."""

    topics: frozenset[str] = frozenset()  # the raw topics whose partitions are checkpointed
    processed: dict[TP, int] = field(default_factory=dict)  # next offset to process
    keys: defaultdict[TP, set[GroupKey]] = field(default_factory=lambda: defaultdict(set))
    written: dict[TP, int] = field(default_factory=dict)  # offset covered by the last checkpoint sent
    covered: dict[TP, int] = field(default_factory=dict)  # offset covered by a checkpoint known durable
    committed: dict[TP, int] = field(default_factory=dict)

    def record(self, tp: TP, offset: int, key: GroupKey | None) -> None:
        """A record of `tp` at `offset` went through intake (and, if `key`, into that group's state)."""
        if key is not None:
            self.keys[tp].add(key)
        self.processed[tp] = max(self.processed.get(tp, 0), offset + 1)

    def due(self) -> list[TP]:
        """Partitions processed further than their last checkpoint."""
        return sorted(tp for tp, off in self.processed.items() if off > self.written.get(tp, -1))

    def snapshot(self, tp: TP, intake: Intake, state: Checkpointed) -> tuple[int, list[bytes]]:
        """(covered offset, checkpoint parts) of a partition; synchronous, so one consistent moment."""
        offset = self.processed.get(tp, 0)
        doc = {
            "v": VERSION,
            "topic": tp[0],
            "partition": tp[1],
            "offset": offset,
            "keys": sorted(self.keys[tp]),
            "clocks": intake.export(*tp),
            "state": state.export(self.keys[tp]),
        }
        parts = pack(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY))
        self.written[tp] = offset
        return offset, parts

    def durable(self, tp: TP, offset: int) -> None:
        self.covered[tp] = max(self.covered.get(tp, 0), offset)

    def restore(self, tp: TP, parts: Sequence[bytes], intake: Intake, state: Checkpointed) -> int:
        """Replace what this worker knows of a partition by its checkpoint; return the covered offset."""
        doc = orjson.loads(unpack(parts))
        if doc.get("v") != VERSION or (doc["topic"], doc["partition"]) != tp:
            raise ValueError(f"checkpoint for {tp} is not a v{VERSION} checkpoint of that partition")
        self.forget(tp, intake, state)
        keys = {(str(t), str(g)) for t, g in doc["keys"]}
        self.keys[tp] = keys
        intake.restore(tp[0], tp[1], doc["clocks"])
        state.restore(doc["state"])
        offset = int(doc["offset"])
        self.processed[tp] = self.written[tp] = self.covered[tp] = offset
        return offset

    def forget(self, tp: TP, intake: Intake, state: Checkpointed) -> None:
        """Drop everything learnt from a partition this worker no longer owns."""
        state.forget(self.keys.pop(tp, set()))
        intake.forget(*tp)
        for book in (self.processed, self.written, self.covered, self.committed):
            book.pop(tp, None)

    def owned(self) -> set[TP]:
        return set(self.processed) | set(self.keys)

    def committable(self, tps: set[TP]) -> dict[TP, int]:
        """Offsets safe to commit now: covered by a durable checkpoint and beyond the last commit."""
        return {tp: off for tp in tps if (off := self.covered.get(tp, 0)) > self.committed.get(tp, 0)}


def pack(raw: bytes) -> list[bytes]:
    """A checkpoint compressed and cut into parts, each carrying the checkpoint's id, its index and count."""
    blob = zlib.compress(raw, 1)
    chunks = [blob[i : i + PART_BYTES] for i in range(0, len(blob), PART_BYTES)] or [b""]
    ident = uuid.uuid4().bytes
    return [_PART.pack(_MAGIC, ident, i, len(chunks)) + c for i, c in enumerate(chunks)]


def unpack(parts: Sequence[bytes]) -> bytes:
    """The checkpoint from all its parts (in any order)."""
    by_index = {}
    idents = set()
    for part in parts:
        magic, ident, i, n = _PART.unpack_from(part)
        if magic != _MAGIC:
            raise ValueError("not a checkpoint part")
        idents.add((ident, n))
        by_index[i] = part[_PART.size :]
    (_, n), *more = idents
    if more or sorted(by_index) != list(range(n)):
        raise ValueError("parts of different or incomplete checkpoints")
    return zlib.decompress(b"".join(by_index[i] for i in range(n)))


def latest(values: Sequence[bytes]) -> list[bytes] | None:
    """The parts of the last complete checkpoint among a partition's last records (oldest first), None if
    there is none (a writer that died between parts leaves an incomplete one: the one before counts)."""
    groups: dict[bytes, dict[int, bytes]] = {}
    counts: dict[bytes, int] = {}
    order: list[bytes] = []
    for value in values:
        if len(value) < _PART.size or value[:4] != _MAGIC:
            continue
        _, ident, i, n = _PART.unpack_from(value)
        groups.setdefault(ident, {})[i] = value
        counts[ident] = n
        if ident in order:
            order.remove(ident)
        order.append(ident)
    for ident in reversed(order):
        if len(groups[ident]) == counts[ident]:
            return [groups[ident][i] for i in range(counts[ident])]
    return None
