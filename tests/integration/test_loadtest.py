"""`ioc loadtest` for real: its own embedded broker, worker and wall, simulators at 40k readings/s for 6 s, a
websocket client on the wall; the report it writes is checked for consistency (every reading sent was taken
in, the lag drained to zero, latencies ordered, charts are PNG images the HTML page shows), not for speed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from ioc.ops import procs
from ioc.ops.loadtest.report import CHARTS

pytestmark = pytest.mark.integration


def test_a_short_load_test_writes_a_valid_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    env = {
        **os.environ,
        "IOC_BROKER_PORT": str(procs.free_port()),
        "IOC_WEB_PORT": str(procs.free_port()),
        "IOC_WORKER_WEB_PORT": str(procs.free_port()),
        "IOC_DATA_DIR": str(tmp_path / "data"),
    }
    argv = ["loadtest", "--rate", "40k", "--duration", "6s", "--report", str(out), "--baseline", "1s"]
    done = subprocess.run([sys.executable, "-m", "ioc", *argv], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    report = orjson.loads((out / "report.json").read_bytes())
    summary, errors, series = report["summary"], report["errors"], report["series"]

    assert summary["readings_sent"] > 100_000 and summary["readings_taken_in"] == summary["readings_sent"]
    assert summary["target_mean_per_s"] == 40_000
    assert 0.5 < summary["achieved_over_target"] < 2.0  # whole simulator steps: never exact at 6 s
    assert errors == {"simulators_exit": 0, "deadletter_readings": {}, "drained": True, "wall_disconnects": 0,
                      "wall_resnapshots": 0, "wall_missed_pushes": 0}  # fmt: skip
    for name in ("e2e_latency_ms", "produce_latency_ms"):
        lat = summary[name]
        assert lat["count"] > 0 and 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"], (name, lat)
    assert 0 <= summary["sensor_clock_behind_ms"] < 500  # sensor time is real time: the latency is honest
    assert series["lag_readings"][-1] == 0 and max(series["lag_readings"]) == summary["lag_max_readings"]
    n = len(series["second"])
    assert all(
        len(series[k]) == n for k in ("target_per_s", "achieved_per_s", "processed_per_s", "e2e_p50_ms")
    )
    assert sum(series["achieved_per_s"]) == summary["readings_sent"]
    assert report["baseline"]["records_per_s"] > 0 and summary["sent_over_baseline"] > 0

    page = (out / "index.html").read_text()
    for chart in CHARTS:
        png = (out / chart).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000, chart
        assert f'<img src="{chart}"' in page
    assert f"{summary['readings_sent']:,}" in page
    assert f"report: {out / 'index.html'}" in done.stdout
