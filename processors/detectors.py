"""Stateful alert conditions: rate of change over an event-time window, and anomalies against a learnt
baseline (exponentially weighted mean and variance per entity). Each is a callable item → severity | None."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ioc.contract.documents import Severity


@dataclass
class RiseRate:
    """Severity when `attr` rose by at least a threshold within `window_ms` of event time (per entity).

    `steps` are (rise, severity) from the smallest rise up. A repeated document for a reading already seen
    (same entity and time) does not add a sample, so emit frequency never changes the outcome.
    """

    attr: str
    window_ms: int
    steps: tuple[tuple[float, Severity], ...]
    history: dict[str, deque[tuple[int, float]]] = field(default_factory=dict)

    def __call__(self, item: dict[str, Any]) -> Severity | None:
        value, t = item.get(self.attr), int(item.get("t") or 0)
        if value is None or not math.isfinite(value):
            return None
        series = self.history.setdefault(str(item["id"]), deque())
        if not series or t > series[-1][0]:
            series.append((t, float(value)))
        while series and series[0][0] < t - self.window_ms:
            series.popleft()
        rise = series[-1][1] - min(v for _, v in series)
        return next((sev for step, sev in reversed(self.steps) if rise >= step), None)


@dataclass
class Baseline:
    mean: float = 0.0
    var: float = 0.0
    n: int = 0
    last_t: int = -1
    verdict: Severity | None = None  # for the sample at last_t, repeated if that sample is seen again


@dataclass
class DropAnomaly:
    """Severity when `attr` falls far below its entity's learnt level: z = (x − mean) / sd of an
    exponentially weighted baseline; `steps` are (z, severity) from the mildest down, e.g. ((-4, "medium"),).

    The baseline needs `warmup` samples before it judges; each (entity, time) is learnt once; sd has a floor
    so a flat series does not make every wobble an anomaly.
    """

    attr: str
    alpha: float
    steps: tuple[tuple[float, Severity], ...]
    warmup: int = 6
    sd_floor: float = 1.0
    baselines: dict[str, Baseline] = field(default_factory=dict)

    def __call__(self, item: dict[str, Any]) -> Severity | None:
        x, t = item.get(self.attr), int(item.get("t") or 0)
        if x is None or not math.isfinite(x):
            return None
        b = self.baselines.setdefault(str(item["id"]), Baseline())
        if t <= b.last_t:
            return b.verdict
        b.verdict = self._judge(b, float(x)) if b.n >= self.warmup else None
        self._learn(b, float(x), t)
        return b.verdict

    def _judge(self, b: Baseline, x: float) -> Severity | None:
        z = (x - b.mean) / max(math.sqrt(b.var), self.sd_floor)
        return next((sev for bound, sev in reversed(self.steps) if z <= bound), None)

    def _learn(self, b: Baseline, x: float, t: int) -> None:
        if b.n == 0:
            b.mean = x
        else:
            diff = x - b.mean
            b.mean += self.alpha * diff
            b.var = (1 - self.alpha) * (b.var + self.alpha * diff * diff)
        b.n += 1
        b.last_t = t
