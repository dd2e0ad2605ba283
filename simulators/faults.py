"""Sensor and transport faults a scenario can switch on: offline sensors or groups, stuck values,
out-of-range spikes, unregistered sensors, malformed payloads, wrong schema versions, duplicates and late
delivery. Off unless a scenario sets them; driven by their own random stream so models stay unchanged."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ioc.contract import Frame
from simulators.overrides import Overrides, lookup


@dataclass(frozen=True)
class Record:
    """One Kafka record as the simulator produces it."""

    domain: str
    key: bytes
    value: bytes
    t_ms: int


@dataclass
class FaultInjector:
    rng: np.random.Generator
    overrides: Overrides = field(default_factory=dict)
    _stuck: dict[str, dict[str, Any]] = field(default_factory=dict)
    _held: list[tuple[int, int, Record]] = field(default_factory=list)
    _order: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def set_overrides(self, overrides: Overrides) -> None:
        self.overrides = overrides

    @property
    def active(self) -> bool:
        return bool(self.overrides) or bool(self._held)

    def _get(self, keys: tuple[str, ...], param: str, default: Any) -> Any:
        return lookup(self.overrides, keys, param, default)

    def _count(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n

    # -- on frames ------------------------------------------------------------------------------------

    def frames(self, frames: list[Frame]) -> list[Frame]:
        if not self.overrides:
            return frames
        out = []
        for f in frames:
            keys = (f.group, f.schema.domain)
            if self._get(keys, "offline", False):
                self._count("offline_frames")
                continue
            f = self._sensor_faults(f, keys)
            if f.n == 0:
                continue
            if self.rng.random() < self._get(keys, "spike", 0.0):
                f = self._spike(f)
            if self.rng.random() < self._get(keys, "unknown_sensor", 0.0):
                f = self._ghost(f)
            out.append(f)
        return out

    def _sensor_faults(self, f: Frame, keys: tuple[str, ...]) -> Frame:
        ids = list(f.cols["id"])
        specific = [i for i, sid in enumerate(ids) if sid in self.overrides]
        if not specific:
            return f
        keep = np.ones(len(ids), dtype=bool)
        cols = {k: (np.array(v) if not isinstance(v, np.ndarray) else v.copy()) for k, v in f.cols.items()}
        for i in specific:
            sid = ids[i]
            if self._get((sid, *keys), "offline", False):
                keep[i] = False
                self._count("offline_readings")
            elif self._get((sid, *keys), "stuck", False):
                frozen = self._stuck.setdefault(sid, {k: cols[k][i] for k in _numeric(f)})
                for k, v in frozen.items():
                    cols[k][i] = v
                self._count("stuck_readings")
        for sid in list(self._stuck):
            if not self._get((sid, *keys), "stuck", False) and sid in ids:
                del self._stuck[sid]  # unstuck: the next stuck episode freezes a fresh value
        g = Frame(f.type, f.group, f.seq, f.tick, cols, f.src, f.job, f.boot)
        return g if keep.all() else g.select(keep)

    def _spike(self, f: Frame) -> Frame:
        fields = [x for x in f.schema.fields if x.kind == "f" and x.hi is not None and x.name in f.cols]
        if not fields:
            return f
        field_ = fields[int(self.rng.integers(len(fields)))]
        cols = dict(f.cols)
        values = np.array(cols[field_.name], dtype=np.float64)
        values[int(self.rng.integers(len(values)))] = (
            -999.0 if self.rng.random() < 0.5 else (field_.hi or 0) * 10
        )
        cols[field_.name] = values
        self._count("spikes")
        return Frame(f.type, f.group, f.seq, f.tick, cols, f.src, f.job, f.boot)

    def _ghost(self, f: Frame) -> Frame:
        cols = {k: list(np.asarray(v).tolist()) for k, v in f.cols.items()}
        for k, v in cols.items():
            v.append(f"{v[-1]}-GHOST" if k == "id" else v[-1])
        self._count("unknown_sensor")
        return Frame(f.type, f.group, f.seq, f.tick, cols, f.src, f.job, f.boot)

    # -- on encoded records ---------------------------------------------------------------------------

    def records(self, records: list[Record], t_ms: int) -> list[Record]:
        out = self._release(t_ms)
        if not self.overrides:
            return out + records
        for r in records:
            keys = (r.key.decode(), r.domain)
            value = r.value
            if self.rng.random() < self._get(keys, "malformed", 0.0):
                value = value[: int(self.rng.integers(1, max(len(value) - 1, 2)))]
                self._count("malformed")
            elif self.rng.random() < self._get(keys, "bad_version", 0.0):
                value = value.replace(b'{"v":1,', b'{"v":2,', 1)
                self._count("bad_version")
            record = Record(r.domain, r.key, value, r.t_ms)
            if self.rng.random() < self._get(keys, "late", 0.0):
                delay = int(float(self._get(keys, "late_s", 600.0)) * 1000)
                self._order += 1
                heapq.heappush(self._held, (t_ms + delay, self._order, record))
                self._count("late")
                continue
            out.append(record)
            if self.rng.random() < self._get(keys, "duplicate", 0.0):
                out.append(record)
                self._count("duplicate")
        return out

    def _release(self, t_ms: int) -> list[Record]:
        out = []
        while self._held and self._held[0][0] <= t_ms:
            out.append(heapq.heappop(self._held)[2])
        return out


def _numeric(f: Frame) -> list[str]:
    return [x.name for x in f.schema.fields if x.kind in "fi" and x.name in f.cols]
