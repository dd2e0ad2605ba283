"""Device frames a test sends itself: a Vinh street-gauge frame, an air-quality frame."""

from __future__ import annotations

import numpy as np

from ioc.contract import Frame, encode


def street_levels(seq: int, t: int, level: float) -> tuple[bytes, bytes]:
    """A Vinh street-gauge frame: Nguyễn Văn Cừ at `level` m (alert levels 0.2/0.4/0.7), the others dry."""
    ids = ["WL-VIN-LN", "WL-VIN-NVC", "WL-VIN-NTMK", "WL-VIN-PDC", "WL-VIN-BT"]
    cols = {
        "id": ids,
        "dateObserved": np.full(5, t, dtype=np.int64),
        "currentLevel": np.array([0.0, level, 0.0, 0.0, 1.0]),
    }
    return b"wl.vinh", encode(Frame("FloodMonitoring", "wl.vinh", seq, t, cols, "test"))


def aq_frame(group: str, ids: list[str], seq: int, t_ms: int, pm25: list[float]) -> bytes:
    n = len(ids)
    cols = {
        "id": np.array(ids),
        "dateObserved": np.full(n, t_ms, dtype=np.int64),
        "pm25": np.array(pm25, dtype=float),
        "pm10": np.full(n, np.nan),
    }
    return encode(Frame("AirQualityObserved", group, seq, t_ms, cols, "test"))
