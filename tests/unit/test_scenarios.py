"""Every scenario in the library runs and shows its effect in the data, against the same seed without it."""

from __future__ import annotations

from collections import Counter
from functools import cache

import numpy as np
import pytest

from ioc.clock import local_iso, parse_start
from ioc.contract import Frame
from simulators import scenario as scenarios
from simulators.faults import FaultInjector
from tests.unit.simkit import Run, cabinet_frames, city, column, local_hours, simulate


@cache
def pair(name: str, domains: tuple[str, ...], offset_h: float, hours: float) -> tuple[Run, Run]:
    """(with the scenario, without it): same seed and start, `offset_h` into the scenario."""
    sc = scenarios.load(name)
    assert sc.start is not None
    start = parse_start(sc.start) + int(offset_h * 3_600_000)
    iso = local_iso(start)
    seed = sc.seed if sc.seed is not None else 1
    with_it = simulate(domains, iso, hours, seed, sc, scenario_offset_h=offset_h)
    without = simulate(domains, iso, hours, seed)
    return with_it, without


def values(run: Run, type_: str, name: str, sensor: str) -> tuple[np.ndarray, np.ndarray]:
    t, v, _ = column(run.frames(type_), name, {sensor})
    return t, v.astype(float)


def test_library_has_the_six_incident_types_and_all_parse() -> None:
    lib = scenarios.library()
    assert {
        "typhoon-vinh",
        "accident-ql1a-hoang-mai",
        "heatwave-gio-lao",
        "lighting-outage-cua-lo",
        "hospital-surge",
        "sensor-faults",
    } <= set(lib)
    for sc in lib.values():
        assert sc.stages and sc.duration_ms > 0 and sc.start and sc.title and sc.source


def test_typhoon_floods_vinh_streets_and_raises_the_river() -> None:
    storm, calm = pair("typhoon-vinh", ("environment",), 0, 24)
    _, river = values(storm, "FloodMonitoring", "currentLevel", "WL-VIN-BT")
    _, river0 = values(calm, "FloodMonitoring", "currentLevel", "WL-VIN-BT")
    assert river.max() > 2.5 > river0.max()  # above the alert level; the calm river stays below it
    _, street = values(storm, "FloodMonitoring", "currentLevel", "WL-VIN-NVC")
    _, street0 = values(calm, "FloodMonitoring", "currentLevel", "WL-VIN-NVC")
    assert street.max() >= 0.2 and street0.max() < 0.05  # 2019: streets 0.3-0.7 m deep
    _, pressure = values(storm, "WeatherObserved", "atmosphericPressure", "WX-VIN-01")
    _, pressure0 = values(calm, "WeatherObserved", "atmosphericPressure", "WX-VIN-01")
    assert pressure.min() < pressure0.min() - 15
    _, wind = values(storm, "WeatherObserved", "windSpeed", "WX-CL-01")
    assert wind.max() > 17  # gale force at landfall
    _, rain = values(storm, "WeatherObserved", "precipitation", "WX-VIN-01")
    _, rain0 = values(calm, "WeatherObserved", "precipitation", "WX-VIN-01")
    assert rain.sum() > 5 * max(rain0.sum(), 20)


def test_typhoon_darkens_nguyen_van_cu_and_slows_traffic() -> None:
    storm, calm = pair("typhoon-vinh", ("traffic", "lighting"), 11, 0.5)  # 05:00, before dawn
    lamps = storm.frames("Streetlight", key_prefix="sl.vinh")
    cabinets = [c.id for c in city().sensors_of("StreetlightControlCabinet") if c.area == "vinh"]
    nvc = {c.id for c in city().sensors_of("StreetlightControlCabinet") if c.props["road"] == "nguyen-van-cu"}
    assert nvc
    dark = {
        c for c in cabinets if all(set(f.cols["powerState"]) == {"off"} for f in cabinet_frames(lamps, c))
    }
    assert nvc <= dark and len(dark) < len(cabinets)
    _, speed, _ = column(storm.frames("TrafficFlowObserved", "tf.vinh"), "averageVehicleSpeed")
    _, speed0, _ = column(calm.frames("TrafficFlowObserved", "tf.vinh"), "averageVehicleSpeed")
    assert np.nanmean(speed.astype(float)) < 0.8 * np.nanmean(speed0.astype(float))


def test_accident_on_ql1a_blocks_the_lanes_and_queues_back() -> None:
    crash, normal = pair("accident-ql1a-hoang-mai", ("traffic",), 0, 3)
    for sensor, threshold in (("TD-HM-02-A1", 10), ("TD-HM-01-A1", 30)):
        t, v = values(crash, "TrafficFlowObserved", "averageVehicleSpeed", sensor)
        _, v0 = values(normal, "TrafficFlowObserved", "averageVehicleSpeed", sensor)
        during = (t >= parse_start("2025-10-13T08:15")) & (t < parse_start("2025-10-13T09:00"))
        assert np.nanmean(v[during]) < threshold < np.nanmean(v0[during]), sensor
    t, occ = values(crash, "TrafficFlowObserved", "occupancy", "TD-HM-02-A1")
    assert occ[(t >= parse_start("2025-10-13T08:15")) & (t < parse_start("2025-10-13T09:00"))].mean() > 0.5
    after = t >= parse_start("2025-10-13T09:50")
    _, v = values(crash, "TrafficFlowObserved", "averageVehicleSpeed", "TD-HM-02-A1")
    assert np.nanmean(v[after]) > 25  # cleared and the queue drained


def test_gio_lao_heat_wave_is_hot_dry_and_dusty() -> None:
    hot, usual = pair("heatwave-gio-lao", ("environment",), 36, 24)
    _, temp = values(hot, "WeatherObserved", "temperature", "WX-VIN-01")
    _, temp0 = values(usual, "WeatherObserved", "temperature", "WX-VIN-01")
    assert temp.max() >= 38 and temp.max() > temp0.max() + 1
    _, rh = values(hot, "WeatherObserved", "relativeHumidity", "WX-VIN-01")
    assert rh.min() < 0.4  # gió Lào: humidity can fall below 40 %
    _, pm = values(hot, "AirQualityObserved", "pm25", "AQ-VIN-02")
    _, pm0 = values(usual, "AirQualityObserved", "pm25", "AQ-VIN-02")
    assert np.nanmean(pm) > 1.5 * np.nanmean(pm0)


def test_cua_lo_cabinet_outage_darkens_six_cabinets_and_silences_two() -> None:
    out, normal = pair("lighting-outage-cua-lo", ("lighting",), 2, 3.5)
    window = (parse_start("2025-12-05T19:05"), parse_start("2025-12-05T22:00"))

    def lit(run: Run, cabinet: str) -> float:
        frames = cabinet_frames(run.frames("Streetlight"), cabinet)
        on = [s != "off" for f in frames if window[0] <= f.cols["dateObserved"][0] < window[1]
              for s in f.cols["powerState"]]  # fmt: skip
        return float(np.mean(on)) if on else -1.0

    for cab in ("LC-CL-001", "LC-CL-006"):
        assert lit(out, cab) == 0.0 and lit(normal, cab) == 1.0
    assert lit(out, "LC-CL-010") == 1.0
    heard = {
        f.cols["dateObserved"][0]
        for f in cabinet_frames(out.frames("StreetlightControlCabinet"), "LC-CL-025")
    }
    hours = local_hours(np.array(sorted(heard)))
    assert not ((hours >= 20) & (hours < 23)).any() and (hours < 20).any()


def test_hospital_surge_fills_the_friendship_hospital() -> None:
    surge, normal = pair("hospital-surge", ("health",), 48, 24)  # day 3, the epidemic's peak stage

    def registrations(run: Run, hospital: str) -> int:
        return sum(
            sum(s == "register" for s in f.cols["step"])
            for f in run.frames("HealthCardTap")
            if f.group == f"hc.{hospital}"
        )

    assert registrations(surge, "hn-friendship") > 1.4 * registrations(normal, "hn-friendship")
    assert registrations(surge, "cua-lo-hc") < 1.4 * registrations(normal, "cua-lo-hc")

    def mean_wait_min(run: Run, hospital: str) -> float:
        seen: dict[str, dict[str, int]] = {}
        for f in run.frames("HealthCardTap", key_prefix=f"hc.{hospital}"):
            for card, step, t in zip(f.cols["card"], f.cols["step"], f.cols["dateObserved"], strict=True):
                seen.setdefault(card, {})[step] = int(t)
        waits = [
            s["clinicCall"] - s["register"] for s in seen.values() if {"register", "clinicCall"} <= set(s)
        ]
        return float(np.mean(waits)) / 60_000

    assert mean_wait_min(surge, "hn-friendship") > 1.5 * mean_wait_min(normal, "hn-friendship")


def test_sensor_faults_produce_every_kind_of_bad_input() -> None:
    faulty, clean = pair("sensor-faults", ("environment", "traffic"), 0, 3)
    counts = faulty.sim.faults.counts
    for kind in ("offline_frames", "offline_readings", "stuck_readings", "spikes", "unknown_sensor",
                 "malformed", "bad_version", "duplicate", "late"):  # fmt: skip
        assert counts.get(kind, 0) > 0, kind
    reasons = Counter(r.reason for r in faulty.rejections())
    assert {"malformed_json", "unsupported_version", "out_of_range", "unknown_sensor"} <= set(reasons)
    assert not clean.rejections() and not clean.sim.faults.counts
    values_seen = Counter(r.value for r in faulty.records)
    assert sum(n - 1 for n in values_seen.values() if n > 1) >= counts["duplicate"]
    latest, late = 0, 0
    for r in faulty.records:
        late += r.t_ms < latest - 60_000
        latest = max(latest, r.t_ms)
    assert late > 0
    _, stuck = values(faulty, "AirQualityObserved", "pm25", "AQ-VIN-03")
    assert len(set(stuck.tolist())) < len(stuck) / 2


@pytest.mark.parametrize("name", ["winter-smog"])
def test_winter_inversion_traps_pollution(name: str) -> None:
    smog, usual = pair(name, ("environment",), 4, 12)
    _, pm = values(smog, "AirQualityObserved", "pm25", "AQ-VIN-04")
    _, pm0 = values(usual, "AirQualityObserved", "pm25", "AQ-VIN-04")
    assert np.nanmean(pm) > 1.3 * np.nanmean(pm0)


def test_frames_changed_by_faults_keep_the_senders_boot() -> None:
    """A stuck, thinned, spiked or ghosted frame still counts its sequence in its sender's boot: without it,
    the processors would judge it in another sequence space than the same group's clean frames."""
    faults = FaultInjector(np.random.default_rng(1))
    faults.set_overrides(
        {"AQ-2": {"stuck": True}, "AQ-3": {"offline": True}, "*": {"spike": 1.0, "unknown_sensor": 1.0}}
    )
    t = parse_start("2025-10-20T09:00")
    cols = {
        "id": np.array(["AQ-1", "AQ-2", "AQ-3"], dtype=object),
        "dateObserved": np.full(3, t),
        "pm25": np.ones(3),
    }
    out = faults.frames([Frame("AirQualityObserved", "aq.vinh", 7, t, cols, "sim", boot="b-42")])
    assert [(f.boot, f.seq, f.n) for f in out] == [("b-42", 7, 3)]  # AQ-3 dropped, a ghost added
    assert {"stuck_readings", "offline_readings", "spikes", "unknown_sensor"} <= set(faults.counts)
