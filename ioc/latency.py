"""Latency histograms with log-spaced bins (about 6 % wide, 10 µs to 1,000 s): cheap to fill from numpy
arrays, mergeable across processes and seconds, and small as JSON; quantiles to within one bin."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

EDGES_MS = np.geomspace(0.01, 1e6, 321)  # 320 bins; under and overflow go to the first and last


@dataclass
class Histogram:
    counts: np.ndarray = field(default_factory=lambda: np.zeros(len(EDGES_MS) + 1, dtype=np.int64))
    max_ms: float = 0.0

    def add(self, values_ms: Iterable[float] | np.ndarray) -> None:
        v = np.asarray(values_ms if isinstance(values_ms, np.ndarray) else list(values_ms), dtype=np.float64)
        if v.size:
            self.counts += np.bincount(np.searchsorted(EDGES_MS, v), minlength=len(self.counts))
            self.max_ms = max(self.max_ms, float(v.max()))

    def merge(self, other: Histogram) -> Histogram:
        self.counts += other.counts
        self.max_ms = max(self.max_ms, other.max_ms)
        return self

    @property
    def count(self) -> int:
        return int(self.counts.sum())

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0..1) in ms: the geometric middle of its bin, never above the largest seen."""
        n = self.count
        if n == 0:
            return None
        i = int(np.searchsorted(np.cumsum(self.counts), q * n, side="left"))
        lo = EDGES_MS[max(i - 1, 0)]
        hi = EDGES_MS[min(i, len(EDGES_MS) - 1)]
        return round(min(float(np.sqrt(lo * hi)), self.max_ms), 3)

    def summary(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "p50": self.quantile(0.5),
            "p95": self.quantile(0.95),
            "p99": self.quantile(0.99),
            "max": round(self.max_ms, 3) if self.count else None,
        }

    def to_json(self) -> dict[str, Any]:
        nonzero = np.flatnonzero(self.counts)
        return {"bins": [[int(i), int(self.counts[i])] for i in nonzero], "max_ms": self.max_ms}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Histogram:
        h = cls(max_ms=float(doc.get("max_ms", 0.0)))
        for i, n in doc.get("bins", ()):
            h.counts[int(i)] += int(n)
        return h


def merged(hists: Iterable[Histogram]) -> Histogram:
    total = Histogram()
    for h in hists:
        total.merge(h)
    return total
