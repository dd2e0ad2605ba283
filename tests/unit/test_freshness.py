"""The staleness rule ("sống"): each kind's expected interval with its grace, on the IOC's simulated clock;
what the wall says when data stops; the scenario's stages and the simulator's status for the banner."""

from __future__ import annotations

from typing import Any

import pytest

from ioc.city import load_city
from ioc.clock import parse_start
from ioc.contract import freshness
from ioc.contract.documents import SENSOR_KINDS, Kind, ScenarioPhase
from ioc.contract.freshness import EXPECTED, SLACK_REAL_MS, age_ms, is_stale, no_data_after_ms
from ioc.settings import Settings
from simulators.scenario import parse
from simulators.status import status_at
from web.liveness import Liveness
from web.mode import SETTLE_MS, Banner, pace
from web.state import WallState

MIN = 60_000
T0 = 1_760_000_000_000
CITY = load_city()


def reading(kind: str, t: int, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "t": t, **extra}


def test_a_reading_is_stale_once_older_than_grace_intervals_plus_the_pipelines_slack_at_the_speed() -> None:
    limit = EXPECTED[Kind.AQI].stale_ms + SLACK_REAL_MS  # at x1: two minutes and three seconds
    item = reading(Kind.AQI, T0)
    assert not is_stale(Kind.AQI, item, T0 + limit, 1.0)
    assert is_stale(Kind.AQI, item, T0 + limit + 1, 1.0)
    assert age_ms(Kind.AQI, item, T0 + limit) == limit
    # At x120 data ages in simulated time, and a real second of pipeline delay is two simulated minutes.
    assert not is_stale(Kind.AQI, item, T0 + 6 * MIN, 120.0)
    assert is_stale(Kind.AQI, item, T0 + 2 * MIN + 120 * SLACK_REAL_MS + 1, 120.0)


def test_every_sensor_kind_the_hospitals_and_the_kpis_are_expected_on_the_simulated_clock() -> None:
    for kind in (*SENSOR_KINDS, Kind.HOSPITAL, Kind.KPI):
        assert EXPECTED[kind].clock == "sim" and EXPECTED[kind].stale_ms >= EXPECTED[kind].every_ms


def test_the_workers_heartbeat_expectation_is_what_the_settings_default_to() -> None:
    worker, defaults = EXPECTED[Kind.WORKER], Settings.model_fields
    assert worker.clock == "real"
    assert worker.every_ms == defaults["heartbeat_interval_s"].default * 1000
    assert worker.stale_ms == defaults["feed_stale_s"].default * 1000


def test_a_traffic_window_ages_from_its_end_and_an_open_window_is_current() -> None:
    lane = reading(Kind.TRAFFIC, T0, window_ms=5 * MIN)
    assert age_ms(Kind.TRAFFIC, lane, T0 + 4 * MIN) == 0
    assert age_ms(Kind.TRAFFIC, lane, T0 + 8 * MIN) == 3 * MIN
    assert not is_stale(Kind.TRAFFIC, lane, T0 + 7 * MIN, 1.0)
    assert is_stale(Kind.TRAFFIC, lane, T0 + 8 * MIN, 1.0)


def test_card_readers_are_expected_only_in_outpatient_hours_and_a_quiet_night_is_no_fault() -> None:
    thursday_9 = parse_start("2025-10-09T09:00")  # Vietnam time
    busy = reading(Kind.HOSPITAL, thursday_9)
    assert not is_stale(Kind.HOSPITAL, busy, thursday_9 + 29 * MIN, 1.0)
    assert is_stale(Kind.HOSPITAL, busy, thursday_9 + 31 * MIN, 1.0)
    evening = reading(Kind.HOSPITAL, parse_start("2025-10-09T16:00"))
    assert not is_stale(Kind.HOSPITAL, evening, parse_start("2025-10-09T23:00"), 1.0)  # closed
    assert not is_stale(Kind.HOSPITAL, evening, parse_start("2025-10-10T07:20"), 1.0)  # counted from 07:00
    assert is_stale(Kind.HOSPITAL, evening, parse_start("2025-10-10T07:31"), 1.0)
    assert not is_stale(Kind.HOSPITAL, evening, parse_start("2025-10-12T10:00"), 1.0)  # Sunday
    assert age_ms(Kind.HOSPITAL, evening, parse_start("2025-10-10T07:31")) == (15 * 60 + 31) * MIN


def test_as_fast_as_possible_nothing_is_judged_and_items_without_time_or_kind_are_not_stale() -> None:
    item = reading(Kind.AQI, T0)
    assert not is_stale(Kind.AQI, item, T0 + 1_000 * MIN, None)
    assert not is_stale(Kind.AQI, {"kind": "aqi"}, T0, 1.0)
    assert not is_stale("alert", item, T0 + 1_000 * MIN, 1.0)


def test_a_paused_replay_stands_still_so_nothing_ages_while_a_playing_one_runs() -> None:
    s = WallState(CITY)
    settings = Settings(namespace="replay-j")
    status = {"v": 1, "kind": "replay", "job": "j", "speed": 60, "sim_ms": T0, "position": 1, "records": 2}
    s.apply({**status, "state": "paused", "at": 1})
    assert pace(settings, s) == (60.0, False)
    s.apply({**status, "state": "playing", "at": 2})
    assert pace(settings, s) == (60.0, True)


def test_no_data_turns_the_wall_red_after_the_most_frequent_kinds_stale_age_in_real_time() -> None:
    assert no_data_after_ms(1.0, 10_000) == 2 * MIN + SLACK_REAL_MS
    assert no_data_after_ms(120.0, 10_000) == 10_000  # 1 s of simulated staleness: the floor rules
    assert no_data_after_ms(None, 10_000) is None
    live = Liveness(stale_ms=10_000, started_ms=T0)
    live.heartbeat({"id": "w1", "partitions": {}}, T0)
    live.data(T0)
    assert live.verdict(T0 + 5_000, quiet_ms=10_000)["status"] == "ok"
    live.heartbeat({"id": "w1", "partitions": {}}, T0 + 10_000)
    verdict = live.verdict(T0 + 10_000, quiet_ms=10_000)
    assert verdict["status"] == "red" and verdict["problems"] == [{"code": "no_data", "since": T0}]
    assert live.verdict(T0 + 10_000, quiet_ms=None)["status"] == "ok"  # a paused replay: none expected
    live.data(T0 + 10_500)
    assert live.verdict(T0 + 11_000, quiet_ms=10_000)["status"] == "ok"


def test_the_vocabulary_serves_the_rule_per_kind() -> None:
    v = freshness.vocabulary()
    assert v["grace"] == freshness.GRACE and v["slackRealMs"] == SLACK_REAL_MS
    assert v["expected"]["aqi"]["staleMs"] == EXPECTED[Kind.AQI].stale_ms
    assert v["expected"]["traffic"]["since"] == "window_end"
    assert v["expected"]["hospital"]["hours"][6] == (7.0, 11.5)  # Saturday mornings


def test_an_unchanged_kpi_is_stamped_again_each_expected_interval_so_it_does_not_look_stale() -> None:
    s = WallState(CITY)
    item = {"id": "vinh:air", "area": "vinh", "kpi": "air", "value": 40.0, "entities": 3, "standing": "good"}
    doc = {"v": 1, "kind": "kpi", "group": "vinh", "items": [item]}
    s.sim_time_ms = T0
    s.apply(doc)
    s.take_changes()
    s.sim_time_ms = T0 + MIN // 2
    assert s.apply(doc) == 0  # within the interval: no push
    s.sim_time_ms = T0 + MIN
    assert s.apply(doc) == 1
    assert s.items["kpi:vinh:air"]["t"] == T0 + MIN
    assert len(s.trends["kpi:vinh:air"]) == 1  # the trend keeps changes only


SCENARIO = """
name = "short"
title = "Bão thử"
title_en = "Test storm"
duration = "10m"

[[stage]]
name = "Rain"
title = "mưa lớn"
at = "0m"
until = "6m"
[stage.set]
"environment.*.rain_mm_h" = 40.0

[[stage]]
name = "Flood"
title = "ngập"
at = "4m"
ramp = "2m"
[stage.set]
"environment.*.surge_m" = 1.0
"""


def test_the_stage_playing_is_the_latest_begun_and_nothing_is_overridden_after_the_end() -> None:
    sc = parse(SCENARIO)
    assert sc.stage_at(-1) is None
    rain = sc.stage_at(MIN)
    assert rain is not None and (rain.name, rain.title) == ("Rain", "mưa lớn")
    flood = sc.stage_at(5 * MIN)
    assert flood is not None and flood.name == "Flood"  # both in their window: the later begun
    assert sc.stage_at(11 * MIN) is None
    assert sc.overrides(10 * MIN - 1)  # the last moment of the scenario
    assert sc.overrides(10 * MIN) == {}  # no ramp outlasts it: a normal city


@pytest.mark.parametrize(
    ("offset", "phase", "stage"),
    [(-MIN, ScenarioPhase.BEFORE, None), (MIN, ScenarioPhase.PLAYING, "mưa lớn"),
     (5 * MIN, ScenarioPhase.PLAYING, "ngập"), (10 * MIN, ScenarioPhase.AFTER, None)],
)  # fmt: skip
def test_the_simulators_status_names_the_scenario_and_its_stage(
    offset: int, phase: ScenarioPhase, stage: str | None
) -> None:
    status = status_at("sim-1", parse(SCENARIO), T0, T0 + offset, 120.0, 5)
    assert (status.phase, status.stage_title, status.title, status.title_en) == (
        phase, stage, "Bão thử", "Test storm"
    )  # fmt: skip
    assert status.ends_ms == T0 + 10 * MIN
    assert status_at("sim-1", None, T0, T0, 1.0, 5).phase == ScenarioPhase.NONE


def test_the_live_banner_names_the_scenario_and_stage_and_takes_the_simulators_speed() -> None:
    s = WallState(CITY)
    banner = Banner(Settings(namespace="ioc", speed=1.0), s)
    assert banner()["scenario"] is None and banner()["speed"] == 1.0
    status = status_at("sim-1", parse(SCENARIO), T0, T0 + MIN, 120.0, 5).model_dump(mode="json")
    s.apply(status)
    mode = banner()
    assert mode["speed"] == 120.0
    assert mode["scenario"]["title"] == "Bão thử" and mode["scenario"]["stage_title"] == "mưa lớn"
    [change] = s.take_changes()
    assert change["key"] == "simulator:status"
    assert s.apply({**status, "sim_ms": T0 + 2 * MIN, "at": 6}) == 0  # only its clock moved: no push
    with pytest.raises(ValueError):
        s.apply({"kind": "simulator", "phase": "playing"})  # not what a simulator publishes


def test_a_replays_banner_names_the_replayed_scenario_and_stage_and_keeps_the_replays_speed() -> None:
    s = WallState(CITY)
    banner = Banner(Settings(namespace="replay-j", speed=1.0), s)
    assert banner()["scenario"] is None  # an older recording without the simulator's status: no scenario
    s.apply({"v": 1, "kind": "replay", "job": "j", "speed": 10.0, "state": "playing", "sim_ms": T0,
             "position": 1, "records": 9, "at": 5})  # fmt: skip
    s.apply(status_at("sim-1", parse(SCENARIO), T0, T0 + 5 * MIN, None, 6).model_dump(mode="json"))
    mode = banner()
    assert (mode["kind"], mode["job"], mode["speed"]) == ("replay", "j", 10.0)  # the replay's, not the sim's
    assert mode["scenario"]["title"] == "Bão thử" and mode["scenario"]["stage_title"] == "ngập"


def test_while_the_simulator_sends_its_warm_up_history_nothing_is_judged_stale() -> None:
    s = WallState(CITY)
    settings = Settings(namespace="ioc", speed=60.0)
    warming = status_at("sim-1", None, T0, T0 - 30 * MIN, 60.0, 5, paced_from=T0)
    assert warming.history and warming.phase == ScenarioPhase.NONE
    s.apply(warming.model_dump(mode="json"))
    assert pace(settings, s) == (60.0, False) and Banner(settings, s)()["history"] is True
    s.apply(status_at("sim-1", None, T0, T0, 60.0, 6, paced_from=T0).model_dump(mode="json"))
    assert pace(settings, s) == (60.0, True) and Banner(settings, s)()["history"] is False


def test_staleness_is_judged_only_once_the_wall_has_caught_up_and_the_data_came_at_its_pace_a_while() -> None:
    s = WallState(CITY)
    now = [100.0]
    banner = Banner(Settings(namespace="ioc", speed=60.0), s, wall=lambda: now[0])
    s.apply(status_at("sim-1", None, T0, T0, 60.0, 5, paced_from=T0).model_dump(mode="json"))
    assert banner()["paced"] is False  # the wall still reads what the topics held
    s.caught_up = True
    assert banner()["paced"] is False
    now[0] += SETTLE_MS / 1000
    assert banner()["paced"] is True
    s.apply(status_at("sim-1", None, T0, T0 + MIN, None, 6, paced_from=T0).model_dump(mode="json"))
    assert banner()["paced"] is False  # as fast as possible: no pace to keep
