"""Load-test figures: latency histograms, the wall client's timing of new readings, and consumer lag counted
from both ends (never from the broker's offsets) on a synthetic run with a known answer."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest

from ioc.latency import Histogram, merged
from ioc.ops.loadtest.report import build
from ioc.ops.loadtest.run import WallWatch


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


def test_the_wall_client_times_each_new_reading_once_and_counts_missed_pushes() -> None:
    watch = WallWatch(t0=1000.0)
    item = {"key": "aqi:AQ-VIN-01", "kind": "aqi", "t": 1_000_000}
    watch.take(orjson.dumps({"type": "snapshot", "items": [item]}), 1_000_900)  # old news: not timed
    watch.take(orjson.dumps({"type": "delta", "push": 1, "items": [{**item, "t": 1_001_000}]}), 1_001_400)
    watch.take(orjson.dumps({"type": "delta", "push": 2, "items": [{**item, "t": 1_001_000}]}), 1_001_600)
    traffic = {"key": "traffic:TD-1", "kind": "traffic", "t": 1_001_000}  # a window start, not a reading
    watch.take(orjson.dumps({"type": "delta", "push": 5, "items": [traffic]}), 1_001_700)
    assert watch.per_second[1].count == 1 and watch.per_second[1].max_ms == 400
    assert (watch.messages, watch.snapshots, watch.missed_pushes) == (4, 1, 2)


def synthetic_run(lag_s: float) -> dict[str, Any]:
    """Two simulator shards of 1,000 readings/s each for 4 s from t0 + 0.5 s; the worker takes each reading
    in exactly lag_s after it was sent; counters sampled every 0.25 s."""
    t0 = 10_000.0
    shard = {"started_unix": t0 + 0.5, "sim_from_ms": (t0 + 0.5) * 1000, "elapsed_s": 4.0, "readings": 4000,
             "bytes": 4_000_000, "per_second": [[s, 1000, 1000.0] for s in range(4)],
             "produce_per_second": []}  # fmt: skip
    sent = lambda u: 2000 * float(np.clip(u - (t0 + 0.5), 0, 4))  # noqa: E731
    samples = [{"unix": u, "accepted": sent(u - lag_s), "deadletter": {}, "frames": 0}
               for u in t0 + np.arange(0, 7, 0.25)]  # fmt: skip
    return {
        "plan": {}, "namespace": "loadtest-x", "t0": t0, "simulators_exit": 0, "drained_at": t0 + 4.5 + lag_s,
        "simulators": {"processes": 2, "readings": 8000, "elapsed_s": 4.0, "shards": [shard, shard]},
        "samples": samples, "baseline": {"mb_per_s": 100.0},
        "wall": {"per_second": {}, "messages": 0, "snapshots": 1, "missed_pushes": 0, "disconnects": 0},
    }  # fmt: skip


def test_lag_is_counted_from_both_ends_in_readings_and_seconds() -> None:
    report = build(synthetic_run(lag_s=0.5))
    s, series = report["summary"], report["series"]
    assert s["readings_sent"] == 8000 and s["readings_taken_in"] == 8000
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
    t0, shard = raw["t0"], dict(raw["simulators"]["shards"][0])
    shard.update(per_second=[[0, 3000, 1000.0], [3, 3000, 1000.0]], readings=6000)
    start = shard["started_unix"]
    sent = lambda u: 3000 * sum(float(np.clip(u - (start + k), 0, 1)) for k in (0, 3))  # noqa: E731
    raw["simulators"] = {"readings": 6000, "elapsed_s": 4.0, "shards": [shard]}
    raw["samples"] = [{"unix": u, "accepted": sent(u - 0.1), "deadletter": {}, "frames": 0}
                      for u in t0 + np.arange(0, 7, 0.05)]  # fmt: skip
    s = build(raw)["summary"]
    assert s["lag_max_seconds"] == pytest.approx(0.1, abs=0.02)
    assert s["lag_max_readings"] == pytest.approx(300, abs=30)  # 3,000/s for a tenth of a second
