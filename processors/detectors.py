"""Stateful alert measures: rate of change over an event-time window, and anomalies against a learnt
baseline (exponentially weighted mean and variance per entity). Each is a callable item → value | None;
the alert rules hold the lines and dead bands they are judged against (processors/alerts.py)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RiseRate:
    """How far `attr` rose within `window_ms` of event time (per entity): the latest value minus the lowest
    in the window. A repeated document for a reading already seen (same entity and time) does not add a
    sample, so emit frequency never changes the outcome.
    """

    attr: str
    window_ms: int
    history: dict[str, deque[tuple[int, float]]] = field(default_factory=dict)

    def __call__(self, item: dict[str, Any]) -> float | None:
        value, t = item.get(self.attr), int(item.get("t") or 0)
        if value is None or not math.isfinite(value):
            return None
        series = self.history.setdefault(str(item["id"]), deque())
        if not series or t > series[-1][0]:
            series.append((t, float(value)))
        while series and series[0][0] < t - self.window_ms:
            series.popleft()
        return series[-1][1] - min(v for _, v in series)


@dataclass
class Baseline:
    mean: float = 0.0
    var: float = 0.0
    n: int = 0
    last_t: int = -1
    below: float | None = None  # for the sample at last_t, repeated if that sample is seen again


@dataclass
class DropAnomaly:
    """How many standard deviations `attr` lies below its entity's learnt level: −z, z = (x − mean) / sd of
    an exponentially weighted baseline (positive = below the baseline).

    The baseline needs `warmup` samples before it judges; each (entity, time) is learnt once; sd has a floor
    so a flat series does not make every wobble an anomaly.
    """

    attr: str
    alpha: float
    warmup: int = 6
    sd_floor: float = 1.0
    baselines: dict[str, Baseline] = field(default_factory=dict)

    def __call__(self, item: dict[str, Any]) -> float | None:
        x, t = item.get(self.attr), int(item.get("t") or 0)
        if x is None or not math.isfinite(x):
            return None
        b = self.baselines.setdefault(str(item["id"]), Baseline())
        if t <= b.last_t:
            return b.below
        b.below = self._below(b, float(x)) if b.n >= self.warmup else None
        self._learn(b, float(x), t)
        return b.below

    def _below(self, b: Baseline, x: float) -> float:
        return (b.mean - x) / max(math.sqrt(b.var), self.sd_floor)

    def _learn(self, b: Baseline, x: float, t: int) -> None:
        if b.n == 0:
            b.mean = x
        else:
            diff = x - b.mean
            b.mean += self.alpha * diff
            b.var = (1 - self.alpha) * (b.var + self.alpha * diff * diff)
        b.n += 1
        b.last_t = t
