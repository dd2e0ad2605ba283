"""Device frames a test sends itself: a Vinh street-gauge frame, an air-quality frame; and the plain encoding
that bulk-written frames must equal byte for byte."""

from __future__ import annotations

import numpy as np
import orjson

from ioc.contract import Frame, encode


def plain_encode(frame: Frame) -> bytes:
    """encode as it was before columns were written in bulk: the whole document to orjson, text as lists."""
    text = {k for k, v in frame.cols.items() if isinstance(v, np.ndarray) and v.dtype.kind in "USO"}
    cols = {k: v.tolist() if k in text else v for k, v in frame.cols.items()}
    doc = {
        "v": 1,
        "type": frame.type,
        "group": frame.group,
        "seq": frame.seq,
        "tick": frame.tick,
        "cols": cols,
    }
    doc |= {k: v for k, v in (("src", frame.src), ("job", frame.job), ("boot", frame.boot)) if v}
    return orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)


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


def gauge_levels(group: str, seq: int, t: int, levels: dict[str, float]) -> tuple[bytes, bytes]:
    """A water-gauge frame of `group` (wl.vinh, wl.cua-lo, wl.hoang-mai): each gauge at its level in m."""
    cols = {
        "id": list(levels),
        "dateObserved": np.full(len(levels), t, dtype=np.int64),
        "currentLevel": np.array(list(levels.values()), dtype=float),
    }
    return group.encode(), encode(Frame("FloodMonitoring", group, seq, t, cols, "test"))


def lane_counts(group: str, seq: int, t: int, lanes: list[str], speed_kmh: float) -> tuple[bytes, bytes]:
    """A minute of lane detectors of `group` (tf.<area>.<road>): 3 vehicles each at `speed_kmh`, the loop
    covered 70% of the minute (a jam when the speed is far below the road's free flow)."""
    n = len(lanes)
    cols = {
        "id": lanes,
        "dateObserved": np.full(n, t, dtype=np.int64),
        "period": np.full(n, 60, dtype=np.int64),
        "intensity": np.full(n, 3, dtype=np.int64),
        "intensityMotorcycle": np.full(n, 2, dtype=np.int64),
        "intensityCar": np.full(n, 1, dtype=np.int64),
        "intensityHeavy": np.zeros(n, dtype=np.int64),
        "occupancy": np.full(n, 0.7),
        "averageVehicleSpeed": np.full(n, speed_kmh),
    }
    return group.encode(), encode(Frame("TrafficFlowObserved", group, seq, t, cols, "test"))
