"""Traffic, hospital, lighting and KPI indicators on hand-made frames with hand-computed expected values."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest

from ioc.clock import parse_start
from ioc.contract import Frame, decode, encode
from ioc.contract.deadletter import Source
from ioc.sun import lights_expected
from processors.alerts import AlertBook
from processors.health import HealthState
from processors.intake import Intake
from processors.kpi import KpiBoard, standing
from processors.lighting import LightingState
from processors.traffic import WINDOW_MS, TrafficState, congestion_level
from tests.unit.simkit import city

T0 = parse_start("2025-10-14T08:00")  # a window boundary
SITE = "tf.hoang-mai.ql1a-hoang-mai"


def traffic_frame(t: int, seq: int, rows: dict[str, tuple[int, float, float]], period: int = 60) -> Frame:
    """rows: detector → (vehicles, mean speed km/h, occupancy)."""
    ids = list(rows)
    cols: dict[str, Any] = {
        "id": ids,
        "dateObserved": np.full(len(ids), t, dtype=np.int64),
        "period": np.full(len(ids), period, dtype=np.int64),
        "intensity": np.array([rows[i][0] for i in ids]),
        "intensityMotorcycle": np.array([rows[i][0] for i in ids]),
        "intensityCar": np.zeros(len(ids), dtype=np.int64),
        "intensityHeavy": np.zeros(len(ids), dtype=np.int64),
        "occupancy": np.array([rows[i][2] for i in ids]),
        "averageVehicleSpeed": np.array([rows[i][1] for i in ids]),
    }
    return Frame("TrafficFlowObserved", SITE, seq, t, cols, "test")


@pytest.mark.parametrize(
    ("ratio", "occupancy", "share", "level"),
    [
        (0.90, 0.1, 0.5, 0),  # > 0.85 free
        (0.85, 0.1, 0.5, 1),  # band edge: 0.85 is light, not free
        (0.60, 0.1, 0.5, 2),
        (0.45, 0.2, 0.5, 3),
        (0.35, 0.2, 0.5, 4),
        (0.30, 0.2, 0.5, 5),  # ≤ 0.30 jammed
        (0.90, 0.7, 0.1, 4),  # standing queue: few pass, the loop is covered
        (float("nan"), 0.0, 0.0, 0),  # nobody, empty road
        (float("nan"), 0.9, 0.0, 4),  # nobody passes, the loop is covered
    ],
)
def test_congestion_grades(ratio: float, occupancy: float, share: float, level: int) -> None:
    assert congestion_level(ratio, occupancy, share) == level


def test_a_five_minute_window_sums_volume_and_weights_speed_by_vehicles() -> None:
    state = TrafficState(city(), lateness_ms=300_000)
    det = "TD-HM-02-A1"
    free = city().sensors[det].props["free_flow_kmh"]
    # Two of five minutes reported: 30 vehicles at 40 km/h, then 10 at 20 km/h.
    state.add(traffic_frame(T0, 1, {det: (30, 40.0, 0.10)}))
    state.add(traffic_frame(T0 + 60_000, 2, {det: (10, 20.0, 0.30)}))
    ((_, doc),) = state.drain()
    assert doc["final"] is False and doc["window"] == [T0, T0 + WINDOW_MS]
    item = next(i for i in doc["items"] if i["id"] == det)
    assert item["vehicles"] == 40
    assert item["volume_h"] == 40 * 3600 / 120  # 1,200 veh/h over the 120 s observed
    assert item["speed"] == pytest.approx((30 * 40 + 10 * 20) / 40)  # 35 km/h
    assert item["occupancy"] == pytest.approx(0.20)
    assert item["ratio"] == pytest.approx(35 / free, abs=1e-3)


def test_a_window_is_final_once_the_watermark_passes_its_end_plus_lateness() -> None:
    state = TrafficState(city(), lateness_ms=300_000)
    det = "TD-HM-02-A1"
    state.add(traffic_frame(T0, 1, {det: (30, 40.0, 0.1)}))
    state.drain()
    state.add(traffic_frame(T0 + WINDOW_MS + 299_000, 2, {det: (5, 50.0, 0.05)}))
    assert [d["final"] for _, d in state.drain()] == [False]  # one second short
    state.add(traffic_frame(T0 + WINDOW_MS + 300_000, 3, {det: (5, 50.0, 0.05)}))
    docs = [d for _, d in state.drain()]
    assert [d["final"] for d in docs] == [True, False]
    assert docs[0]["window"][0] == T0 and docs[0]["items"][0]["vehicles"] == 30
    assert docs[1]["window"][0] == T0 + 2 * WINDOW_MS  # the 08:10 window, now open


def test_out_of_order_readings_land_in_their_own_windows() -> None:
    state = TrafficState(city(), lateness_ms=600_000)
    det = "TD-HM-02-A1"
    state.add(traffic_frame(T0 + WINDOW_MS, 2, {det: (7, 40.0, 0.1)}))
    state.add(traffic_frame(T0 + 60_000, 1, {det: (3, 40.0, 0.1)}))  # arrives after, belongs before
    g = state.groups[SITE]
    assert g.windows[T0].count.sum() == 3 and g.windows[T0 + WINDOW_MS].count.sum() == 7


def hc_frame(t_seq: list[tuple[str, str, int, bool]], seq: int) -> Frame:
    cols: dict[str, Any] = {
        "id": [f"HC-cua-lo-hc-{step}-1" for _, step, _, _ in t_seq],
        "dateObserved": np.array([t for _, _, t, _ in t_seq], dtype=np.int64),
        "card": [c for c, _, _, _ in t_seq],
        "step": [s for _, s, _, _ in t_seq],
        "priority": np.array([p for _, _, _, p in t_seq]),
        "ticket": np.arange(1, len(t_seq) + 1),
    }
    return Frame("HealthCardTap", "hc.cua-lo-hc", seq, t_seq[-1][2], cols, "test")


def test_hospital_arrivals_queue_and_waits() -> None:
    m = 60_000
    state = HealthState()
    state.add(
        hc_frame(
            [
                ("a", "register", T0, False),
                ("b", "register", T0 + m, True),
                ("c", "register", T0 + 2 * m, False),
                ("d", "register", T0 + 3 * m, False),
            ],
            1,
        )
    )
    state.add(
        hc_frame(
            [
                ("a", "clinicCall", T0 + 40 * m, False),
                ("b", "clinicCall", T0 + 11 * m, True),
                ("c", "clinicCall", T0 + 32 * m, False),
            ],
            2,
        )
    )
    (_, snapshot), (_, doc) = state.drain()  # the calls crossed 5-min boundaries: a final snapshot first
    assert snapshot == {**doc, "final": True}
    item = doc["items"][0]
    assert item["id"] == "cua-lo-hc"
    assert item["arrivals_h"] == 4 and item["waiting"] == 1  # d is still waiting
    # waits 40, 10, 30 min: mean 26.7, p90 by linear interpolation = 30 + 0.8 * (40 - 30) = 38
    assert item["wait_avg_min"] == pytest.approx(26.7) and item["wait_p90_min"] == pytest.approx(38.0)
    assert item["priority_called_h"] == 1
    # An hour and a minute later the first arrivals have left the 60-minute window.
    state.add(hc_frame([("e", "register", T0 + 62 * m, False)], 3))
    *_, (_, doc) = state.drain()
    assert doc["items"][0]["arrivals_h"] == 2 and doc["items"][0]["called_h"] == 3


def lamp_frames(
    cabinet: str, t: int, states: list[str], status: list[str], kw: float, kwh: float
) -> list[Frame]:
    ids = [f"{cabinet}-L{i:03d}" for i in range(1, len(states) + 1)]
    lamps = {
        "id": ids,
        "dateObserved": np.full(len(ids), t, dtype=np.int64),
        "powerState": states,
        "status": status,
        "illuminanceLevel": np.ones(len(ids)),
        "powerConsumption": np.ones(len(ids)),
    }
    cab = {
        "id": [cabinet],
        "dateObserved": [t],
        "workingMode": ["automatic"],
        "totalActivePower": [kw],
        "energyConsumed": [kwh],
        "voltage": [226.0],
    }
    return [
        Frame("Streetlight", cabinet, 1, t, lamps, "t"),
        Frame("StreetlightControlCabinet", cabinet, 1, t, cab, "t"),
    ]


def test_lights_expected_follows_vinh_sunset_with_a_margin() -> None:
    assert lights_expected(parse_start("2025-12-01T20:00")) is True
    assert lights_expected(parse_start("2025-12-01T12:00")) is False
    assert lights_expected(parse_start("2025-12-01T17:25")) is None  # sunset 17:20 ± 15 min
    assert lights_expected(parse_start("2025-12-02T04:00")) is True


def test_lighting_on_ratio_faults_energy_and_offline() -> None:
    state = LightingState(city())
    cab = "LC-CL-001"
    n = city().sensors[cab].props["lamps"]
    night = parse_start("2025-12-01T20:00")
    states = ["on"] * (n - 3) + ["off"] * 3
    status = ["ok"] * (n - 2) + ["defectiveLamp"] * 2
    for f in lamp_frames(cab, night, states, status, 5.0, 1000.0):
        state.add(f)
    for f in lamp_frames(cab, night + 60 * 60_000, states, status, 5.0, 1005.0):
        state.add(f)
    other = "LC-CL-002"
    m = city().sensors[other].props["lamps"]
    for f in lamp_frames(other, night, ["on"] * m, ["ok"] * m, 4.0, 10.0):  # then silent for an hour
        state.add(f)
    docs = dict(state.drain())
    items = {i["id"]: i for i in docs["lighting.cua-lo"]["items"]}
    a = items[cab]
    assert a["lit"] == n - 3 and a["faulty"] == 2 and a["expected_on"] is True
    assert a["schedule_ok"] == pytest.approx(round((n - 3) / n, 3))
    assert a["kwh_today"] == pytest.approx(5.0) and a["online"] is True
    assert items[other]["online"] is False
    summary = state.area_summary("cua-lo")
    assert summary["offline"] == 1 and summary["faulty"] == 2
    assert summary["schedule_ok"] == pytest.approx(round((n - 3) / n, 4), abs=1e-3)  # only online cabinets


@pytest.mark.parametrize(
    ("kpi", "value", "expected"),
    [
        ("air", 50, "veryGood"),
        ("air", 51, "good"),
        ("air", 151, "bad"),
        ("air", 201, "veryBad"),
        ("flood", 0, "veryGood"),
        ("flood", 1, "fair"),
        ("flood", 3, "veryBad"),
        ("health", 45, "good"),
        ("health", 121, "veryBad"),
        ("traffic", 12, "fair"),
        ("lighting", 1, "veryGood"),
    ],
)
def test_kpi_standing_band_edges(kpi: str, value: float, expected: str) -> None:
    assert standing(kpi, value) == expected


def test_kpi_board_per_area() -> None:
    board = KpiBoard(city())
    board.observe(
        {
            "kind": "aqi",
            "items": [
                {"id": "AQ-VIN-01", "aqi": 80},
                {"id": "AQ-VIN-02", "aqi": 160},
                {"id": "AQ-CL-01", "aqi": 40},
            ],
        }
    )
    board.observe({"kind": "water", "items": [{"id": "WL-VIN-NVC", "status": "alert2"}]})
    board.observe(
        {
            "kind": "traffic",
            "final": False,
            "items": [
                {"id": "TD-VIN-01-A1", "level": 4},
                {"id": "TD-VIN-01-A2", "level": 0},
                {"id": "TD-VIN-01-B1", "level": 1},
                {"id": "TD-VIN-01-B2", "level": 3},
            ],
        }
    )
    board.observe({"kind": "hospital", "items": [{"id": "obs-paed", "wait_p90_min": 95.0}]})
    docs = dict(board.drain())
    vinh = {i["kpi"]: i for i in docs["kpi.vinh"]["items"]}
    assert vinh["air"]["value"] == 160 and vinh["air"]["standing"] == "bad"
    assert vinh["flood"]["standing"] == "bad"
    assert vinh["traffic"]["value"] == 50.0 and vinh["traffic"]["standing"] == "veryBad"
    assert vinh["health"]["standing"] == "bad"
    cua_lo = {i["kpi"]: i for i in docs["kpi.cua-lo"]["items"]}
    assert cua_lo == {"air": cua_lo["air"]} and cua_lo["air"]["standing"] == "veryGood"


def test_the_fifteen_minute_window_hops_with_every_closed_five_minute_window() -> None:
    state = TrafficState(city(), lateness_ms=0)
    det = "TD-HM-02-A1"
    # One 60-s report per 5-min window: 12 vehicles at 40, 24 at 30, 6 at 50, then 30 at 20 km/h.
    reports = [(12, 40.0), (24, 30.0), (6, 50.0), (30, 20.0)]
    for k, (n, v) in enumerate(reports):
        state.add(traffic_frame(T0 + k * WINDOW_MS, k + 1, {det: (n, v, 0.1)}))
    state.add(traffic_frame(T0 + 4 * WINDOW_MS, 9, {det: (1, 40.0, 0.1)}))  # closes the fourth
    finals = [d for _, d in state.drain() if d["final"]]
    hops = [next(i for i in d["items"] if i["id"] == det)["hop"] for d in finals]
    assert [h["window"] for h in hops] == [
        [T0 + k * WINDOW_MS - 10 * 60_000, T0 + (k + 1) * WINDOW_MS] for k in range(4)
    ]
    assert [h["windows"] for h in hops] == [1, 2, 3, 3]
    # Third hop: (12 + 24 + 6) vehicles in 180 s observed = 840 veh/h; speed (480 + 720 + 300) / 42.
    assert hops[2]["volume_h"] == 840 and hops[2]["speed"] == pytest.approx(round(1500 / 42, 1))
    # Fourth drops the first window: (24 + 6 + 30) in 180 s = 1,200 veh/h; (720 + 300 + 600) / 60 = 27 km/h.
    assert hops[3]["volume_h"] == 1200 and hops[3]["speed"] == 27.0


def test_a_partition_running_ahead_does_not_make_cabinets_of_a_lagging_one_offline() -> None:
    topic = "unit.raw.lighting"
    intake = Intake(city().known, 300_000)
    state = LightingState(city(), clock=lambda: intake.low_watermark(topic))
    night = parse_start("2025-12-01T20:00")
    seq = iter(range(1, 100))

    def report(cabinet: str, t: int, partition: int) -> None:
        n = city().sensors[cabinet].props["lamps"]
        for f in lamp_frames(cabinet, t, ["on"] * n, ["ok"] * n, 5.0, 100.0):
            group = city().sensors[cabinet].group  # its concentrator
            raw = encode(Frame(f.type, group, next(seq), t, f.cols, "t"))
            frame, letters = intake.accept(raw, Source(topic, partition, 0, group.encode()))
            assert frame is not None and not letters
            state.add(frame)

    # Cửa Lò's concentrator (partition 0) is read 20 minutes ahead of Hoàng Mai's (partition 1), as while a
    # worker catches up: judged against the latest reading seen, Hoàng Mai's cabinets would look silent.
    report("LC-HM-001", night, 1)
    report("LC-HM-002", night, 1)
    report("LC-CL-001", night + 20 * 60_000, 0)
    online = {i["id"]: i["online"] for _, d in state.drain() for i in d["items"]}
    assert online == {"LC-HM-001": True, "LC-HM-002": True, "LC-CL-001": True}
    # Partition 1 moves on with LC-HM-001 only: now LC-HM-002 really has been silent for 20 minutes.
    report("LC-HM-001", night + 20 * 60_000, 1)
    online = {i["id"]: i["online"] for _, d in state.drain() for i in d["items"]}
    assert online["LC-HM-002"] is False and online["LC-HM-001"] is True


def test_a_cabinet_back_is_judged_online_for_ten_minutes_so_its_alert_clears_after_the_hold() -> None:
    state, book = LightingState(city()), AlertBook()
    night, m = parse_start("2025-12-01T20:00"), 60_000
    judged: list[tuple[int, bool]] = []  # LC-HM-002's silence judgements: (minute, online)
    for minute in range(30):  # LC-HM-002 is silent from minute 2 to 9, back from minute 10
        for cabinet in ("LC-HM-001", "LC-HM-002") if not 2 <= minute < 10 else ("LC-HM-001",):
            n = city().sensors[cabinet].props["lamps"]
            for f in lamp_frames(cabinet, night + minute * m, ["on"] * n, ["ok"] * n, 5.0, 100.0):
                state.add(f)
        for _, doc in state.drain():
            book.observe(doc)
            if doc.get("final"):
                judged += [
                    ((i["t"] - night) // m, i["online"]) for i in doc["items"] if i["id"] == "LC-HM-002"
                ]
    # Silent 5 min at minute 6; back at minute 11 (its minute-10 report came after minute 10 was judged).
    assert judged == [(k, False) for k in range(6, 11)] + [(k, True) for k in range(11, 22)]
    (alert,) = [a for a in book.alerts.values() if a.entity == "LC-HM-002"]
    assert [(h["action"], (h["at"] - night) // m) for h in alert.history] == [("raise", 6), ("cleared", 16)]


def test_lamp_counts_follow_every_change_of_a_concentrators_columns() -> None:
    """The intake hands unchanged columns on as the same arrays and the state counts again only what
    changed: after each frame the counts equal those of a state that sees the frame alone."""
    c = city()
    group = next(g for (t, g) in c.groups if t == "Streetlight")
    lamps = [s.id for s in c.groups[("Streetlight", group)]]
    n, t0 = len(lamps), parse_start("2025-12-01T20:00")
    intake = Intake(c.known, allowed_lateness_ms=300_000)
    steps = [
        (lamps, ["on"] * n, ["ok"] * n),
        (lamps, ["on"] * n, ["ok"] * n),  # unchanged: every column from the memo
        (lamps, ["off"] * 3 + ["on"] * (n - 3), ["ok"] * n),  # three lamps switch off
        (lamps, ["off"] * 3 + ["on"] * (n - 3), ["defectiveLamp"] + ["ok"] * (n - 1)),  # one fails
        (lamps[1:], ["on"] * (n - 1), ["ok"] * (n - 1)),  # one lamp missing from the frame
        (lamps, ["low"] * n, ["ok"] * n),
    ]
    state = LightingState(c)
    shared = 0
    for i, (ids, states, status) in enumerate(steps):
        doc = {
            "v": 1, "type": "Streetlight", "group": group, "seq": i, "tick": t0 + i * 60_000,
            "cols": {
                "id": ids, "dateObserved": [t0 + i * 60_000] * len(ids), "powerState": states,
                "status": status, "illuminanceLevel": [1.0] * len(ids), "powerConsumption": [1.0] * len(ids),
            },
        }  # fmt: skip
        raw = orjson.dumps(doc)
        frame, letters = intake.accept(raw, Source("raw.lighting", 0, i, group.encode()))
        assert frame is not None and letters == []
        alone = LightingState(c)
        alone.add(decode(raw))
        state.add(frame)
        counts = {k: (v.reported, v.lit, v.faulty) for k, v in state.cabinets.items() if v.t == frame.tick}
        expected = {k: (v.reported, v.lit, v.faulty) for k, v in alone.cabinets.items() if v.t}
        assert counts == expected, i
        shared += frame.cols["powerState"] is state._lamp_counts[group]._states
    assert shared == len(steps)  # the state saw the intake's arrays themselves


def test_a_few_readings_one_by_one_sum_to_the_same_bits_as_the_column_path() -> None:
    """A junction's frames take the per-reading path; the same frames by columns give identical windows."""
    rng = np.random.default_rng(7)
    detectors = [s.id for s in city().groups[("TrafficFlowObserved", SITE)]]
    few, columns = TrafficState(city(), 300_000), TrafficState(city(), 300_000)
    for seq in range(200):
        picked = rng.choice(detectors, size=rng.integers(1, len(detectors) + 1), replace=False)
        t = T0 + int(rng.integers(0, 3 * WINDOW_MS))
        rows = {
            d: (
                int(rng.integers(0, 300)),
                float("nan") if rng.random() < 0.2 else rng.uniform(0, 120),
                rng.random(),
            )
            for d in picked
        }
        frame = traffic_frame(t, seq, rows, period=int(rng.integers(1, 3600)))
        few.add(frame)
        columns.groups.setdefault(SITE, columns._group(SITE))._add_columns(frame)
    a, b = few.groups[SITE].windows, columns.groups[SITE].windows
    assert sorted(a) == sorted(b) and len(a) >= 3
    for start in a:
        for name in ("count", "speed_sum", "occ_sum", "seconds", "periods"):
            assert np.array_equal(getattr(a[start], name), getattr(b[start], name)), (start, name)
    assert few.groups[SITE].windows[T0].speed_sum.sum() > 0
