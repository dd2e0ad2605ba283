"""`ioc loadtest` for real, as a subprocess: its own embedded broker, worker and wall, simulators at a low
rate for a few seconds, a websocket client on the wall. The report is checked for consistency (every reading
sent was taken in, the lag drained to zero, latencies ordered, one self-contained page), not for speed; Ctrl-C
and SIGTERM leave a partial report; wrong input is refused before anything starts, without a traceback."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest

from ioc.net import port_free
from ioc.ops import procs

pytestmark = pytest.mark.integration

LIVE_LINE = "sensor→screen p99"


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "IOC_BROKER_PORT": str(procs.free_port()),
        "IOC_WEB_PORT": str(procs.free_port()),
        "IOC_WORKER_WEB_PORT": str(procs.free_port()),
        "IOC_DATA_DIR": str(tmp_path / "data"),
        **extra,
    }


def loadtest(*args: str) -> list[str]:
    return [sys.executable, "-m", "ioc", "loadtest", *args]


def test_a_short_load_test_writes_a_valid_report_and_its_verdict(tmp_path: Path) -> None:
    out = tmp_path / "report"
    slo = "dropped==0,lag_max<30s,e2e_p50<20s"
    argv = loadtest("--rate", "20k", "--duration", "6s", "--report", str(out), "--baseline", "1s",
                    "--warmup", "2s", "--slo", slo, "--percentiles", "50,90,99")  # fmt: skip
    done = subprocess.run(argv, env=env_for(tmp_path), capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("thresholds: dropped==0, lag_max<30s, e2e_p50<20s")
    assert lines[1].startswith("starting the broker")  # the console speaks before anything is slow
    assert sum(LIVE_LINE in line and "target" in line for line in lines) >= 4  # a line each second
    assert "PASS: every threshold met (exit 0)" in done.stdout
    report = orjson.loads((out / "report.json").read_bytes())
    summary, errors, series = report["summary"], report["errors"], report["series"]

    assert summary["readings_sent"] > 50_000 and summary["readings_taken_in"] == summary["readings_sent"]
    assert summary["target_mean_per_s"] == 20_000 and summary["readings_dropped"] == 0
    assert 0.5 < summary["achieved_over_target"] < 2.0  # whole simulator steps: never exact at 6 s
    assert errors["simulators_exit"] == 0 and errors["drained"] and errors["deadletter_readings"] == {}
    assert (errors["wall_disconnects"], errors["wall_missed_pushes"]) == (0, 0)
    for name in ("e2e_latency_ms", "produce_latency_ms"):
        lat = summary[name]
        assert lat["count"] > 0 and 0 < lat["p50"] <= lat["max"], (name, lat)
        assert lat["p99"] is None or lat["p90"] <= lat["p99"] <= lat["max"]
        assert (lat["p99"] is None) == (lat["count"] < 1_000)  # never a p99 the sample cannot carry
    assert 0 <= summary["sensor_clock_behind_ms"] < 500  # sensor time is real time: the latency is honest
    assert series["lag_readings"][-1] == 0 and max(series["lag_readings"]) == summary["lag_max_readings"]
    assert sum(series["achieved_per_s"]) == summary["readings_sent"]
    assert report["baseline"]["records_per_s"] > 0 and summary["sent_over_baseline"] > 0

    assert [r["verdict"] for r in report["thresholds"]["results"]] == ["pass", "pass", "pass"]
    assert report["verdict"]["overall"] == "pass" and all(c["ok"] for c in report["checks"])
    (step,) = report["by_step"]
    assert step["plan"] == "20k/s for 6 s" and step["achieved_mean_per_s"] > 10_000
    lighting = report["by_domain"]["lighting"]
    assert lighting["readings_sent"] == lighting["readings_taken_in"] > 0
    assert (
        lighting["e2e_latency_ms"]["count"] > 0 and report["by_domain"]["traffic"]["e2e_latency_ms"] is None
    )
    assert report["pacing"]["seconds"] >= 3 and report["pacing"]["achieved_max_per_s"] > 0
    run = report["run"]
    assert run["cpus"]["count"] >= 1 and run["packages"]["aiokafka"] and run["packages"]["faust-streaming"]
    assert run["git"] is None or len(run["git"]["commit"]) == 40
    assert run["started"] < run["ended"] and "IOC_TOKENS" not in str(run["settings"]).upper()

    page = (out / "index.html").read_text()
    assert page.count("<svg") == 4 and "<img" not in page  # one self-contained file
    assert page.index("PASS") < page.index("<svg") and f"{summary['readings_sent']:,}" in page
    assert f"report: {out / 'index.html'}" in done.stdout and "Traceback" not in done.stderr


@contextmanager
def interruptible(argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """A load test as a terminal starts one: its own session, SIGINT at its default (a test runner in the
    background may have it ignored, and children inherit that). Whatever the test finds, its session is
    gone and its pipes closed after (left open, they failed a later test with a ResourceWarning)."""
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def lines_until(
    proc: subprocess.Popen[str], wanted: str, count: int = 1, timeout: float = 120
) -> Iterator[str]:
    assert proc.stdout is not None
    end, seen = time.monotonic() + timeout, 0
    for line in proc.stdout:
        yield line
        seen += wanted in line
        if seen >= count or time.monotonic() > end:
            return


def test_ctrl_c_during_the_load_writes_a_partial_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    argv = loadtest("--rate", "10k", "--duration", "60s", "--processes", "2", "--report", str(out))
    with interruptible(argv, env_for(tmp_path)) as proc:
        head = list(lines_until(proc, LIVE_LINE, count=3))
        assert sum(LIVE_LINE in line for line in head) == 3, head
        os.kill(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends
        stdout, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 130, stdout + stderr
    assert "SIGINT: stopping during load; a partial report follows" in stdout
    assert "INTERRUPTED: stopped by SIGINT during load (exit 130)" in stdout and "Traceback" not in stderr
    report = orjson.loads((out / "report.json").read_bytes())
    assert report["status"]["interrupted"]["signal"] == "SIGINT" and report["verdict"]["exit_code"] == 130
    s = report["summary"]
    # What was sent by the interrupt, consistent with the per-second series (how much it is depends on the
    # machine's pace: three console lines held 12,816 readings here, 5,879 in a CI run under CPU steal).
    assert s["readings_sent"] > 0 and s["readings_sent"] == sum(report["series"]["achieved_per_s"])
    shards = orjson.loads((out / "simulators.json").read_bytes())["shards"]
    assert len(shards) == 2 and all(
        x["readings"] > 0 for x in shards
    )  # both processes were stopped and reported
    assert "INTERRUPTED" in (out / "index.html").read_text()


def test_sigterm_while_starting_still_reports_and_leaves_nothing_running(tmp_path: Path) -> None:
    out, env = tmp_path / "report", env_for(tmp_path)
    with interruptible(loadtest("--rate", "10k", "--duration", "60s", "--report", str(out)), env) as proc:
        list(lines_until(proc, "starting the broker"))
        os.kill(proc.pid, signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 143, stdout + stderr
    assert "Traceback" not in stderr and "INTERRUPTED: stopped by SIGTERM during start-up" in stdout
    report = orjson.loads((out / "report.json").read_bytes())
    assert report["status"]["interrupted"]["phase"] == "start-up" and report["summary"]["readings_sent"] == 0
    ports = [int(env[name]) for name in ("IOC_BROKER_PORT", "IOC_WEB_PORT", "IOC_WORKER_WEB_PORT")]
    # Broker, wall and worker are gone: their ports are free again.
    procs.wait_for(lambda: all(port_free("127.0.0.1", p) for p in ports), 10, 0.2, "the ports freed")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--rate", "20q", "--duration", "5s"], ["--rate", "'20q'"]),
        (["--ramp", "10s:5k-abc"], ["--ramp", "'abc'"]),
        (["--ramp", "0s:5k"], ["--ramp", "lasts no time"]),
        (["--rate", "20k", "--duration", "5x"], ["--duration", "'5x'"]),
        (["--rate", "20k"], ["--rate needs --duration"]),
        (["--rate", "20k", "--duration", "5s", "--ramp", "5s:1k"], ["--rate or --ramp, not both"]),
        (["--rate", "20k", "--duration", "5s", "--processes", "0"], ["--processes", "0"]),
        (["--rate", "20k", "--duration", "5s", "--slo", "e2e_p99<<1s"], ["--slo", "is not a number"]),
        (["--rate", "20k", "--duration", "5s", "--slo", "latency<1s"], ["--slo", "unknown figure 'latency'"]),
        (["--rate", "20k", "--duration", "5s", "--slo", "e2e_p99<1"], ["--slo", "unit of time"]),
        (["--rate", "20k", "--duration", "5s", "--slo-file", "/no/such/file"], ["--slo-file", "cannot read"]),
        (["--rate", "20k", "--duration", "5s", "--percentiles", "50,abc"], ["--percentiles", "'abc'"]),
        (["--rate", "20k", "--duration", "5s", "--percentiles", "50,100"], ["--percentiles", "100"]),
        (["--rate", "20k", "--duration", "5s", "--drain", "soon"], ["--drain", "'soon'"]),
    ],
)
def test_a_wrong_option_is_refused_before_anything_starts(
    tmp_path: Path, args: list[str], says: list[str]
) -> None:
    out = tmp_path / "report"
    done = subprocess.run(loadtest(*args, "--report", str(out)), env=env_for(tmp_path), capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert all(s in done.stderr for s in says), done.stderr
    assert "Traceback" not in done.stderr and not out.exists()  # nothing started, nothing written


def test_a_wrong_setting_and_a_taken_port_are_named_before_anything_starts(tmp_path: Path) -> None:
    out = tmp_path / "report"
    argv = loadtest("--rate", "20k", "--duration", "5s", "--report", str(out))
    bad = subprocess.run(argv, env=env_for(tmp_path, IOC_PARTITIONS="many"), capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert bad.returncode == 2 and "IOC_PARTITIONS='many'" in bad.stderr and "Traceback" not in bad.stderr
    env = env_for(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(env["IOC_BROKER_PORT"])))
        taken.listen()  # another broker holds it
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"port {env['IOC_BROKER_PORT']} on 127.0.0.1 for the embedded broker is in use" in done.stderr
    assert "set IOC_BROKER_PORT to a free port" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_a_child_that_dies_early_has_its_last_error_line_on_the_console(tmp_path: Path) -> None:
    # The worker's own code will not load (as in a broken install): a sitecustomize on the children's path
    # hides processors.cli from `python -m ioc worker` only.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        'import sys\nif sys.orig_argv[-1:] == ["worker"]:\n    sys.modules["processors.cli"] = None\n'
    )
    env = env_for(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    out = tmp_path / "report"
    done = subprocess.run(loadtest("--rate", "5k", "--duration", "5s", "--report", str(out)), env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    assert (
        "error: the worker exited early with code 1: Error: `ioc worker` could not be loaded" in done.stdout
    )
    assert "processors.cli" in done.stdout and str(out / "logs" / "worker.log") in done.stdout
    assert "Traceback" not in done.stderr
    report = orjson.loads((out / "report.json").read_bytes())
    assert report["verdict"]["overall"] == "failed" and "could not be loaded" in report["status"]["failure"]


def test_compare_names_a_file_that_is_not_a_report(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{}")
    argv = loadtest("compare", str(tmp_path / "a.json"), str(tmp_path / "b"))
    done = subprocess.run(argv, env=env_for(tmp_path), capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "a.json: not a load-test report of format 2" in done.stderr
    assert "Traceback" not in done.stderr
