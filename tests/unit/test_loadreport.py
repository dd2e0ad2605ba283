"""Load-test figures: latency histograms, the wall client's timing of new readings, consumer lag counted from
both ends (never from the broker's offsets), per-step, per-domain and pacing figures, percentiles the sample
can support, the verdict and the page, on synthetic runs with a known answer."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from html.parser import HTMLParser
from typing import Any

import numpy as np
import orjson
import pytest

from ioc.latency import Histogram, merged
from ioc.ops.loadtest import figures, page, run
from ioc.ops.loadtest.report import build, latency_summary
from ioc.ops.loadtest.run import WallWatch, live_line


def test_histogram_quantiles_are_within_a_bin_and_merge_like_one() -> None:
    values = np.random.default_rng(7).lognormal(3.0, 1.0, 20_000)  # ms, p50 ≈ 20
    a, b = Histogram(), Histogram()
    a.add(values[:5_000])
    b.add(values[5_000:])
    both = Histogram.from_json(orjson.loads(orjson.dumps(merged([a, b]).to_json())))
    assert both.count == 20_000 and both.max_ms == pytest.approx(values.max())
    for q in (0.5, 0.95, 0.99):
        assert both.quantile(q) == pytest.approx(np.quantile(values, q), rel=0.06)
    assert Histogram().quantile(0.5) is None


def test_the_wall_client_times_each_new_reading_once_per_domain_and_counts_missed_pushes() -> None:
    watch = WallWatch(t0=1000.0)
    item = {"key": "aqi:AQ-VIN-01", "kind": "aqi", "t": 1_000_000}
    watch.take(orjson.dumps({"type": "snapshot", "items": [item]}), 1_000_900)  # old news: not timed
    watch.take(orjson.dumps({"type": "delta", "push": 1, "items": [{**item, "t": 1_001_000}]}), 1_001_400)
    watch.take(orjson.dumps({"type": "delta", "push": 2, "items": [{**item, "t": 1_001_000}]}), 1_001_600)
    traffic = {"key": "traffic:TD-1", "kind": "traffic", "t": 1_001_000}  # a window start, not a reading
    lamps = {"key": "lighting:vinh", "kind": "lighting", "t": 1_001_500}
    watch.take(orjson.dumps({"type": "delta", "push": 5, "items": [traffic, lamps]}), 1_001_700)
    assert watch.per_second[1].count == 2 and watch.per_second[1].max_ms == 400
    assert watch.by_domain["environment"].count == 1 and watch.by_domain["lighting"].max_ms == 200
    assert (watch.messages, watch.snapshots, watch.missed_pushes) == (4, 1, 2)
    assert watch.recent(1_002.5, 10).count == 2 and watch.recent(1_020.0, 10).count == 0


@pytest.mark.parametrize(("p", "n"), [(50, 20), (95, 200), (99, 1_000), (99.9, 10_000)])
def test_a_percentile_is_reported_only_when_ten_samples_lie_above_it(p: float, n: int) -> None:
    assert figures.needed(p) == n
    h = Histogram()
    h.add(np.linspace(1, 100, n - 1))
    assert latency_summary(h, [p])[figures.pkey(p)] is None
    h.add([50.0])
    assert latency_summary(h, [p])[figures.pkey(p)] is not None


def test_304_samples_give_a_p95_but_no_p99() -> None:
    # The load tester's report showed p95 = p99 from 304 samples: p99 was the third largest value.
    h = Histogram()
    h.add(np.random.default_rng(1).lognormal(1.0, 0.5, 304))
    lat = latency_summary(h, [50, 95, 99])
    assert lat["p95"] is not None and lat["p99"] is None and lat["count"] == 304


T0 = 10_000.0


def synthetic_run(
    lag_s: float, per_second: list[float] | None = None, target: float = 2000.0, **plan: Any
) -> dict[str, Any]:
    """Two simulator shards sending `per_second` readings/s between them (2,000 each second for 4 s by
    default) from t0 + 0.5 s; the worker takes each reading in exactly lag_s after it was sent; counters
    sampled every 0.25 s. Lighting sends 90 % of the readings, environment 10 %."""
    rates = per_second or [2000.0] * 4
    seconds = len(rates)
    start = T0 + 0.5

    def shard(k: int) -> dict[str, Any]:
        rows = [[s, r / 2, target / 2] for s, r in enumerate(rates)]
        return {
            "started_unix": start, "sim_from_ms": start * 1000, "elapsed_s": float(seconds),
            "readings": int(sum(rates) / 2), "bytes": int(sum(rates) / 2) * 1000, "frames": 10,
            "per_second": rows, "produce_per_second": [], "shard": [k, 2],
            "per_second_by_domain": {"lighting": [[s, r * 0.45] for s, r in enumerate(rates)],
                                     "environment": [[s, r * 0.05] for s, r in enumerate(rates)]},
        }  # fmt: skip

    cumulative = np.concatenate([[0.0], np.cumsum(rates)])

    def sent(u: float) -> float:
        return float(np.interp(u - start, np.arange(seconds + 1), cumulative))

    samples = [
        {"unix": u, "accepted": {"lighting": 0.9 * sent(u - lag_s), "environment": 0.1 * sent(u - lag_s)},
         "deadletter": {"lighting": {"probe": 6.0}}, "frames": 0}
        for u in T0 + np.arange(0, seconds + 3, 0.25)
    ]  # fmt: skip
    return {
        "plan": {"rate": "2k", "duration": f"{seconds}s", "processes": 2, "percentiles": [50, 95, 99],
                 "warmup_s": 1.0, "stages": [{"duration_s": float(seconds), "start": target, "end": target}],
                 "forever": False, "thresholds": [], **plan},
        "namespace": "loadtest-x", "t0": T0, "simulators_exit": 0, "drained_at": start + seconds + lag_s,
        "simulators": {"processes": 2, "readings": int(sum(rates)), "elapsed_s": float(seconds),
                       "shards": [shard(0), shard(1)]},
        "samples": samples,
        "baseline": {"mb_per_s": 100.0, "records_per_s": 1e5, "record_bytes": 500, "seconds": 1.0},
        "wall": {"per_second": {}, "messages": 0, "snapshots": 1, "missed_pushes": 0, "disconnects": 0},
        "meta": {"cpus": {"usable": 2, "load_average": [0.4, 0.5, 0.5]}},
        "status": {"phase": "done", "interrupted": None, "failure": None},
    }  # fmt: skip


def test_lag_is_counted_from_both_ends_in_readings_and_seconds() -> None:
    report = build(synthetic_run(lag_s=0.5))
    s, series = report["summary"], report["series"]
    assert s["readings_sent"] == 8000 and s["readings_taken_in"] == 8000 and s["readings_dropped"] == 0
    assert s["target_mean_per_s"] == 2000 and s["achieved_over_target"] == pytest.approx(1.0, abs=0.15)
    assert s["lag_max_seconds"] == pytest.approx(0.5, abs=0.01)
    assert s["lag_max_readings"] == pytest.approx(1000, abs=10)  # 2,000/s for half a second
    assert s["drained_s_after_simulators"] == pytest.approx(0.5)
    assert series["lag_readings"][-1] == 0 and sum(series["processed_per_s"]) == pytest.approx(8000)
    assert s["sent_mb_per_s"] == 2.0 and s["sent_over_baseline"] == 0.02


def test_a_worker_that_keeps_up_shows_no_lag_before_during_or_after_sending() -> None:
    report = build(synthetic_run(lag_s=0.0))
    assert report["summary"]["lag_max_seconds"] == 0.0 and report["summary"]["lag_max_readings"] == 0.0


def test_bursts_at_a_low_rate_are_not_smeared_over_the_quiet_seconds() -> None:
    # One shard sends a whole step (3,000 readings) in seconds 0 and 3 only; the worker is 0.1 s behind.
    raw = synthetic_run(lag_s=0.0)
    shard = dict(raw["simulators"]["shards"][0])
    shard.update(per_second=[[0, 3000, 1000.0], [3, 3000, 1000.0]], readings=6000, per_second_by_domain={})
    start = shard["started_unix"]
    sent = lambda u: 3000 * sum(float(np.clip(u - (start + k), 0, 1)) for k in (0, 3))  # noqa: E731
    raw["simulators"] = {"readings": 6000, "elapsed_s": 4.0, "shards": [shard]}
    raw["samples"] = [{"unix": u, "accepted": {"lighting": sent(u - 0.1)}, "deadletter": {}, "frames": 0}
                      for u in T0 + np.arange(0, 7, 0.05)]  # fmt: skip
    s = build(raw)["summary"]
    assert s["lag_max_seconds"] == pytest.approx(0.1, abs=0.02)
    assert s["lag_max_readings"] == pytest.approx(300, abs=30)  # 3,000/s for a tenth of a second


def test_each_domain_has_its_own_sent_taken_in_and_lag() -> None:
    report = build(synthetic_run(lag_s=0.5))
    d = report["by_domain"]
    assert d["lighting"]["readings_sent"] == 7200 and d["environment"]["readings_sent"] == 800
    assert d["lighting"]["readings_taken_in"] == 7200 and d["environment"]["readings_dropped"] == 0
    assert d["lighting"]["lag_max_seconds"] == pytest.approx(0.5, abs=0.02)
    assert d["lighting"]["deadletter_readings"] == 0  # the warm-up probes were there before the clock started
    assert d["lighting"]["e2e_latency_ms"] is None  # the wall showed nothing in this synthetic run


def test_a_ramp_gets_one_row_per_step_with_its_own_target_and_rates() -> None:
    rates = [1000.0, 2000.0, 3000.0, 4000.0, 4000.0, 4000.0]
    raw = synthetic_run(lag_s=0.0, per_second=rates, ramp="4s:1k-5k,2s:4k", rate=None,
                        stages=[{"duration_s": 4.0, "start": 1000.0, "end": 5000.0},
                                {"duration_s": 2.0, "start": 4000.0, "end": 4000.0}])  # fmt: skip
    report = build(raw)
    assert orjson.loads(orjson.dumps(report)) == report  # plain JSON: no numpy value slipped in
    steps = report["by_step"]
    assert [x["plan"] for x in steps] == ["1k → 5k/s over 4 s", "4k/s for 2 s"]
    assert steps[0]["target_mean_per_s"] == 3000 and steps[1]["target_mean_per_s"] == 4000
    assert steps[0]["achieved_mean_per_s"] == 2500 and steps[1]["achieved_mean_per_s"] == 4000
    assert steps[1]["processed_mean_per_s"] == pytest.approx(4000, rel=0.01)
    assert (steps[0]["from_s"], steps[0]["to_s"], steps[1]["to_s"]) == (0.5, 4.5, 6.5)


def test_pacing_after_the_warm_up_is_judged_against_a_tenth_of_the_target() -> None:
    steady = build(synthetic_run(lag_s=0.0, per_second=[3000, 2050, 1950, 2000, 2100, 1900]))["pacing"]
    assert steady["seconds"] == 5 and steady["steady"] is True  # second 0 (3,000) is the warm-up's
    assert (steady["achieved_min_per_s"], steady["achieved_max_per_s"]) == (1900, 2100)
    assert steady["max_deviation"] == pytest.approx(0.05)
    bursty = build(synthetic_run(lag_s=0.0, per_second=[2000, 1000, 3000, 1000, 3000, 2000]))["pacing"]
    assert bursty["steady"] is False and bursty["within_band"] == 1
    assert "caught up in bursts" in bursty["note"] and "load average 0.4 on 2 CPUs" in bursty["note"]
    coarse = synthetic_run(lag_s=0.0, per_second=[2000, 1000, 3000, 1000, 3000, 2000])
    for shard in coarse["simulators"]["shards"]:
        shard["largest_step_readings"] = 1000  # whole steps of 1,000 at 1,000/s per process: ±100 %
    note = build(coarse)["pacing"]["note"]
    assert "the largest step here was 1,000 readings (100% of a process's target" in note
    assert "from about 10,000 readings/s per process" in note
    short = build(synthetic_run(lag_s=0.0, per_second=[2000], warmup_s=5.0))["pacing"]
    assert short["steady"] is None and "too short" in short["note"]


def test_thresholds_are_judged_and_set_the_verdict_and_exit_code() -> None:
    raw = synthetic_run(lag_s=0.5, thresholds=["lag_max<1s", "dropped==0", "achieved_ratio>=95%"])
    report = build(raw)
    assert [r["verdict"] for r in report["thresholds"]["results"]] == ["pass", "pass", "pass"]
    assert report["verdict"] == {"overall": "pass", "exit_code": 0, "reason": "every threshold met"}
    report = build({**raw, "plan": {**raw["plan"], "thresholds": ["lag_max<200ms", "dropped==0"]}})
    assert report["thresholds"]["results"][0]["shown"] == "500 ms"
    assert report["verdict"]["overall"] == "fail" and report["verdict"]["exit_code"] == 1
    assert "lag_max<200ms" in report["verdict"]["reason"]
    unjudged = build({**raw, "plan": {**raw["plan"], "thresholds": ["e2e_p99<1s"]}})
    assert unjudged["thresholds"]["results"][0]["note"] == "no samples"
    assert unjudged["verdict"]["overall"] == "not judged" and unjudged["verdict"]["exit_code"] == 1


def test_a_run_that_did_not_drain_fails_its_check_whatever_the_thresholds() -> None:
    raw = synthetic_run(lag_s=0.5)
    raw["drained_at"] = None
    raw["samples"] = raw["samples"][:20]  # the counters stopped at 7,000 of 8,000
    report = build(raw)
    assert report["verdict"]["overall"] == "fail" and report["summary"]["readings_dropped"] > 0
    assert [c["ok"] for c in report["checks"]] == [True, True, False]


def test_an_interrupted_run_still_gets_a_report_and_exit_code_of_its_signal() -> None:
    during_load = synthetic_run(lag_s=0.5)
    stopped = {"signal": "SIGINT", "phase": "load", "at_s": 3.2}
    during_load["status"] = {"phase": "load", "interrupted": stopped, "failure": None}
    report = build(during_load)
    assert report["verdict"]["overall"] == "interrupted" and report["verdict"]["exit_code"] == 130
    assert report["summary"]["readings_sent"] == 8000
    before_load = {"plan": during_load["plan"], "t0": None, "meta": {},
                   "status": {"phase": "warm-up", "interrupted": {"signal": "SIGTERM", "phase": "warm-up",
                                                                  "at_s": 1.0}, "failure": None}}  # fmt: skip
    report = build(before_load)
    assert report["verdict"]["exit_code"] == 143 and report["series"] == {} and report["by_step"] == []
    html = page.render(report)
    assert "INTERRUPTED" in html and "stopped by SIGTERM during warm-up" in html


def test_a_failed_run_says_what_failed() -> None:
    raw = synthetic_run(lag_s=0.0)
    raw["status"] = {
        "phase": "load",
        "interrupted": None,
        "failure": "the worker exited early with code 1: boom",
    }
    v = build(raw)["verdict"]
    assert v["overall"] == "failed" and v["exit_code"] == 3 and "boom" in v["reason"]


class _Visible(HTMLParser):
    """The page's text as a reader sees it, without what is in <code> (threshold names are meant literally)
    or <style>/<svg> (styles and chart internals)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("code", "style", "svg", "title")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("code", "style", "svg", "title")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def test_the_page_leads_with_the_verdict_charts_first_and_speaks_plainly() -> None:
    raw = synthetic_run(lag_s=0.5, thresholds=["lag_max<1s", "e2e_p99<1s"])
    raw["wall"]["per_second"] = {"1": _hist(300, 400.0), "2": _hist(300, 450.0)}
    raw["wall"]["by_domain"] = {"lighting": _hist(600, 420.0)}
    raw["meta"] = {**raw["meta"], "git": {"commit": "a" * 40, "branch": "main", "dirty": False},
                   "host": "box", "packages": {"aiokafka": "0.14.0"}}  # fmt: skip
    html = page.render(build(raw))
    assert html.index("NOT JUDGED") < html.index("<h2>Thresholds") < html.index("<h2>Charts")
    assert (
        html.index("<h2>Charts") < html.index("<svg") < html.index("<h2>Figures") < html.index("<h2>Per step")
    )
    assert html.count("<svg") == 4 and "<img" not in html and "http" not in html.split("<svg")[0]  # one file
    visible = " ".join(" ".join(_visible(html)).split())
    assert not re.findall(r"\b[a-z]+_[a-z0-9_]+\b", visible), "snake_case on the page"
    assert "n too small (600)" not in visible and "p99 n too small" in visible  # 600 samples: no p99
    assert "aaaaaaaaaaaa on main" in visible and "aiokafka 0.14.0" in visible
    assert "the run's mean frame size" in visible and "×0.02 of that" in visible  # the baseline, explained


@pytest.mark.parametrize(("emit", "hz", "waiting"), [(0.1, 10.0, "0.2 s"), (0.5, 4.0, "0.75 s")])
def test_the_latency_caption_states_the_waiting_of_the_runs_own_emit_and_push(
    emit: float, hz: float, waiting: str
) -> None:
    # The caption once said "0.5 s emits, 4 pushes a second" long after both had changed.
    raw = synthetic_run(lag_s=0.1)
    raw["wall"]["per_second"] = {"1": _hist(300, 200.0)}
    raw["meta"] = {**raw["meta"], "settings": {"emit_interval_s": emit, "push_hz": hz}}
    visible = " ".join(" ".join(_visible(page.render(build(raw)))).split())
    said = f"up to {waiting} of it is waiting by design (the worker emits what changed every {emit:g} s"
    assert visible.count(said) == 2  # under the chart and over the figures
    assert f"at most {hz:g} times a second" in visible


def _visible(html: str) -> list[str]:
    parser = _Visible()
    parser.feed(html)
    return parser.text


def _hist(n: int, ms: float) -> dict[str, Any]:
    h = Histogram()
    h.add(np.full(n, ms))
    return h.to_json()


def test_the_console_line_shows_target_sent_taken_in_lag_and_p99() -> None:
    raw = synthetic_run(lag_s=0.5)
    sim = {"shards": [{**x, "per_second": x["per_second"][:3], "readings": 3000, "elapsed_s": 3.0}
                      for x in raw["simulators"]["shards"]]}  # fmt: skip
    watch = WallWatch(T0)
    watch.per_second[3] = Histogram.from_json(_hist(500, 420.0))
    samples = [x for x in raw["samples"] if x["unix"] <= T0 + 4.0]
    line = live_line(sim, samples, watch, T0 + 4.0)
    assert re.search(r"target +2,000/s +sent +2,000/s +taken in +2,000/s +lag +1,000 +"
                     r"sensor→screen p99 4\d\d ms \(n 500\)", line), line  # fmt: skip


def test_a_signal_inside_an_event_loop_waits_for_the_loop_to_return() -> None:
    # Raised inside asyncio.run (creating topics at start-up), Interrupted left the loop waiting forever on a
    # half-closed admin client: a load test stopped 0.5 s in never ended. There it is noted, raised after.
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        run.stop_on_signals()
        handler = signal.getsignal(signal.SIGTERM)
        assert callable(handler)

        async def in_a_loop() -> str:
            handler(signal.SIGTERM, None)
            await asyncio.sleep(0)
            return "the loop ran to its end"

        assert asyncio.run(in_a_loop()) == "the loop ran to its end"
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # any later signal is ignored
        with pytest.raises(run.Interrupted, match="SIGTERM"):
            run.interrupted()
        run.interrupted()  # raised once
        with pytest.raises(run.Interrupted, match="SIGINT"):
            handler(signal.SIGINT, None)  # outside a loop: at once
        # Raised where Python cannot pass it on (logging's fork hook while a child is spawned), the signal
        # was lost and the run went on: it stays noted, and the next poll of the stack raises it.
        with contextlib.suppress(run.Interrupted):
            handler(signal.SIGTERM, None)
        with pytest.raises(run.Interrupted, match="SIGTERM"):
            run.interrupted()
    finally:
        run._pending.clear()
        for sig, h in saved.items():
            signal.signal(sig, h)
