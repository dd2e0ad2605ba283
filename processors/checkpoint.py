"""Per-partition checkpoints of the raw stage, so a partition that moves to another worker resumes exactly.

A checkpoint holds, for one raw partition, the state its groups built (open windows, queues, rings) together
with the intake's sequence clocks of those groups and the offset it covers. Offsets are committed only up to
what a durable checkpoint covers. A new owner restores the latest checkpoint and re-reads from the committed
offset: frames already inside the checkpoint are recognised by the restored clocks as duplicates, so at-least-
once delivery never counts a reading twice, and nothing after the checkpoint is skipped.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from processors.intake import Intake

TP = tuple[str, int]  # (topic, partition)
GroupKey = tuple[str, str]  # (entity type, group)
VERSION = 1


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

    def snapshot(self, tp: TP, intake: Intake, state: Checkpointed) -> tuple[int, bytes]:
        """(covered offset, checkpoint bytes) of a partition; synchronous, so one consistent moment."""
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
        self.written[tp] = offset
        return offset, orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)

    def durable(self, tp: TP, offset: int) -> None:
        self.covered[tp] = max(self.covered.get(tp, 0), offset)

    def restore(self, tp: TP, raw: bytes, intake: Intake, state: Checkpointed) -> int:
        """Replace what this worker knows of a partition by its checkpoint; return the covered offset."""
        doc = orjson.loads(raw)
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
