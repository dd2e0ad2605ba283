"""Expected traffic results: vehicles per lane and 5-minute window from the simulator's own output, the
windows a worker must have closed, and what the worker's final windows and KPIs cover."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson

from processors.traffic import WINDOW_MS


def expected_windows(path: Path) -> dict[tuple[str, int], int]:
    """Vehicles per (detector, 5-minute window) in the simulator's own output."""
    out: dict[tuple[str, int], int] = defaultdict(int)
    for line in path.read_bytes().splitlines():
        doc = orjson.loads(line)
        if doc["type"] != "TrafficFlowObserved":
            continue
        cols = doc["cols"]
        for sid, t, n in zip(cols["id"], cols["dateObserved"], cols["intensity"], strict=True):
            out[(sid, t // WINDOW_MS * WINDOW_MS)] += n
    return out


def final_counts(docs: list[dict[str, Any]]) -> dict[tuple[str, int], int]:
    return {
        (i["id"], d["window"][0]): i["vehicles"]
        for d in docs
        if d["kind"] == "traffic" and d["final"]
        for i in d["items"]
    }


def closed_windows(expected: dict[tuple[str, int], int], lateness_ms: int) -> set[int]:
    """Window starts a worker must have closed once the stream's last window has been seen."""
    last = max(s for _, s in expected)
    return {start for _, start in expected if start + WINDOW_MS + lateness_ms <= last}


def traffic_kpi_lanes(docs: list[dict[str, Any]]) -> Counter[str]:
    """Lanes behind the latest traffic KPI of each area."""
    latest = {
        i["area"]: i["entities"]
        for d in docs
        if d["kind"] == "kpi"
        for i in d["items"]
        if i["kpi"] == "traffic"
    }
    return Counter(latest)
