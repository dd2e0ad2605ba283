"""Record and replay with the real CLI on the real broker: a simulated stretch recorded from its namespace
and replayed into a replay namespace comes back frame for frame in the same order per key, every frame
carrying the job id; a dry run sends nothing; a replay pauses on SIGUSR1 and resumes; live namespaces are
refused; the replay's wall names the recorded scenario and the stage playing, after a seek too."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.sync.client import ClientConnection, connect

from ioc.clock import parse_start
from ioc.ops import procs
from ioc.ops.recording import file as recording
from tests.support.keys import token
from tests.support.stack import StartServices, unique_namespace
from tests.support.wall import http_call

pytestmark = pytest.mark.integration

MIN = 60_000
T0 = parse_start("2025-10-14T17:00")
SCENARIO = """
name = "rec-rain"
title = "Mưa ghi lại"
title_en = "Recorded rain"
duration = "20m"

[[stage]]
name = "Drizzle"
title = "mưa nhỏ"
at = "0m"
until = "10m"
[stage.set]
"environment.*.rain_mm_h" = 5.0

[[stage]]
name = "Downpour"
title = "mưa to"
at = "10m"
[stage.set]
"environment.*.rain_mm_h" = 60.0
"""


def ioc(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "ioc", *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def frames_per_key(path: Path) -> tuple[dict[Any, list[dict[str, Any]]], set[str]]:
    out: dict[Any, list[dict[str, Any]]] = {}
    jobs = set()
    for e in recording.read(path)[1]:
        doc = orjson.loads(e.value or b"null")
        jobs.add(doc.pop("job", ""))
        out.setdefault((e.topic, e.partition, e.key), []).append(doc)
    return out, jobs


@pytest.fixture(scope="module")
def recorded(
    start_module_services: StartServices, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, str], Path]:
    env = start_module_services(unique_namespace("rec")).env  # no processes: the namespace and its topics
    folder = tmp_path_factory.mktemp("rec")
    scenario = folder / "rec-rain.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    ioc(env, "simulate", "--start", "2025-10-14T17:00", "--duration", "20m", "--speed", "max", "--quiet",
        "--scenario", str(scenario))  # fmt: skip
    path = folder / "live.ioc"
    out = ioc(env, "record", "--out", str(path), "--topics", "raw", "--from-beginning")
    assert "recorded 1,491 records" in out, out  # what the simulator printed for this stretch
    return env, path


@pytest.fixture(scope="module")
def with_status(recorded: tuple[dict[str, str], Path]) -> Path:
    """The same stretch recorded with the default topics, which hold the simulator's status."""
    env, raw = recorded
    path = raw.with_name("default-topics.ioc")
    ioc(env, "record", "--out", str(path), "--from-beginning")
    header, entries = recording.read(path)
    assert "simulator" in header["topics"]
    stages = [orjson.loads(e.value or b"")["stage"] for e in entries if e.topic == "simulator"]
    assert stages[0] == "Drizzle" and "Downpour" in stages, stages
    return path


def test_replay_is_lossless_in_order_per_key_and_tagged(recorded: tuple[dict[str, str], Path]) -> None:
    env, path = recorded
    out = ioc(env, "replay", str(path), "--speed", "max", "--job", "j1")
    assert "replayed 1,491 records into 'replay-j1'" in out
    back = path.with_name("back.ioc")
    replay_env = {**env, "IOC_NAMESPACE": "replay-j1"}
    ioc(replay_env, "record", "--out", str(back), "--topics", "raw", "--from-beginning")
    original, live_jobs = frames_per_key(path)
    replayed, jobs = frames_per_key(back)
    assert live_jobs == {""} and jobs == {"j1"}
    assert replayed == original  # same frames, same partitions, same order per key


def test_dry_run_sends_nothing_and_live_namespaces_are_refused(recorded: tuple[dict[str, str], Path]) -> None:
    env, path = recorded
    out = ioc(env, "replay", str(path), "--speed", "10", "--job", "dry", "--dry-run")
    assert "raw.lighting" in out and "about 120 s at ×10" in out and "dry run: nothing sent" in out
    assert "recording spans 2025-10-14T17:00:00+07:00 .. 2025-10-14T17:20:00+07:00" in out
    # --from is honoured: what is left of the recording from there, and how long it plays.
    later = ioc(env, "replay", str(path), "--speed", "10", "--dry-run", "--from", "2025-10-14T17:10")
    left = int(later.split("from 2025-10-14T17:10: ")[1].split(" of 1,491")[0].replace(",", ""))
    assert 600 < left < 900 and "about 60 s at ×10" in later, later
    for wrong, said in (
        ("2030-01-01", "2030-01-01T00:00:00+07:00 is outside the recording: 2025-10-14T17:00:00+07:00 .. "),
        ("yesterday", "Invalid value for --from: 'yesterday' is not an ISO 8601 time like 2025-10-14T18:00"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "ioc", "replay", str(path), "--dry-run", "--from", wrong],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr, done.stderr
    again = path.with_name("again.ioc")
    assert "recorded 1,491" in ioc(env, "record", "--out", str(again), "--topics", "raw", "--from-beginning")
    done = subprocess.run(
        [sys.executable, "-m", "ioc", "record", "--out", "/dev/null", "--topics", "raw", "--from-beginning"],
        env={**env, "IOC_NAMESPACE": "replay-dry"},
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "no such topics" in done.stderr  # the dry run created nothing
    refused = subprocess.run(
        [sys.executable, "-m", "ioc", "replay", str(path), "--namespace", env["IOC_NAMESPACE"]],
        env=env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "starts with 'replay-'" in refused.stderr


@dataclass
class Watched:
    """A replay at ×120 (20 simulated minutes: 10 s) with a wall on its namespace and a viewer on the wall."""

    proc: subprocess.Popen[bytes]
    log: Path
    url: str
    ws: ClientConnection

    def banner(self, state: str) -> dict[str, Any]:
        return banner(self.ws, lambda m: m.get("state") == state)


@contextmanager
def watched_replay(
    start_services: StartServices, env: dict[str, str], path: Path, job: str, tmp: Path, *more: str
) -> Iterator[Watched]:
    wall = start_services(f"replay-{job}", "web")  # first: its topics exist before the replay looks
    log = tmp / "replay.log"
    argv = [sys.executable, "-m", "ioc", "replay", str(path), "--speed", "120", "--job", job, *more]
    proc = procs.spawn(argv, log, env)
    try:
        with connect(f"ws://127.0.0.1:{wall.port('web')}/ws?token={token('viewer')}", max_size=None) as ws:
            yield Watched(proc, log, wall.url("web"), ws)
        wall.assert_running()
    finally:
        procs.stop(proc)


def test_replay_pauses_and_resumes_on_sigusr1_and_the_wall_shows_it(
    recorded: tuple[dict[str, str], Path], start_services: StartServices, tmp_path: Path
) -> None:
    env, path = recorded
    with watched_replay(start_services, env, path, "p1", tmp_path) as r:
        want = {"kind": "replay", "speed": 120.0, "namespace": "replay-p1", "job": "p1", "state": "playing"}
        banner = r.banner("playing")
        assert {k: banner[k] for k in want} == want and type(banner["paced"]) is bool
        r.proc.send_signal(signal.SIGUSR1)  # pause
        started = time.monotonic()
        r.banner("paused")
        time.sleep(10)  # longer than the whole replay would take unpaused
        assert r.proc.poll() is None, r.log.read_text()
        r.proc.send_signal(signal.SIGUSR1)  # resume
        r.banner("playing")
        assert r.proc.wait(30) == 0, r.log.read_text()
        r.banner("finished")
    assert time.monotonic() - started >= 10
    assert "replayed 1,491 records into 'replay-p1'" in r.log.read_text()


def test_an_engineer_steers_the_replay_from_the_wall(
    recorded: tuple[dict[str, str], Path], start_services: StartServices, tmp_path: Path
) -> None:
    env, path = recorded
    with watched_replay(start_services, env, path, "st", tmp_path) as r:
        r.banner("playing")
        for role in ("viewer", "operator"):
            assert http_call("POST", f"{r.url}/api/replay/pause", role)[0] == 403
        code, body = http_call("POST", f"{r.url}/api/replay/pause", "engineer")
        assert code == 202 and body["accepted"]["job"] == "st", body
        r.banner("paused")
        status = http_call("GET", f"{r.url}/api/replay", "viewer")[1]
        assert status["state"] == "paused" and 0 < status["position"] < 1491, status
        # Outside the recording: refused, saying its span (it used to end the replay with no way back).
        code, body = http_call("POST", f"{r.url}/api/replay/seek", "engineer", {"sim_ms": 0})
        assert code == 422 and "is outside the recording: 2025-10-14T17:0" in body["detail"], body
        # Back to the start: everything before the pause is sent again, so more than 1,491 go out.
        start = {"sim_ms": status["sim_from"]}
        assert http_call("POST", f"{r.url}/api/replay/seek", "engineer", start)[0] == 202
        assert http_call("POST", f"{r.url}/api/replay/resume", "engineer")[0] == 202
        r.banner("playing")
        assert r.proc.wait(60) == 0, r.log.read_text()
        r.banner("finished")
        assert http_call("POST", f"{r.url}/api/replay/pause", "engineer")[0] == 409  # nothing left to steer
    log = r.log.read_text()
    assert int(log.split("replayed ")[1].split(" records")[0].replace(",", "")) > 1491, log
    assert "replay command obeyed" in log


def test_the_replays_wall_names_the_scenario_and_the_stage_playing_at_the_replayed_time(
    recorded: tuple[dict[str, str], Path], with_status: Path, start_services: StartServices, tmp_path: Path
) -> None:
    env, _ = recorded

    def stage(name: str, state: str = "playing") -> Callable[[dict[str, Any]], bool]:
        return lambda m: m.get("state") == state and (m.get("scenario") or {}).get("stage") == name

    # From 17:12, past the Downpour status: the status in force there is sent first.
    with watched_replay(start_services, env, with_status, "sc", tmp_path, "--from", "2025-10-14T17:12") as r:
        mode = banner(r.ws, stage("Downpour"))
        assert mode["kind"] == "replay" and mode["namespace"] == "replay-sc"
        assert (mode["scenario"]["title"], mode["scenario"]["title_en"]) == ("Mưa ghi lại", "Recorded rain")
        assert http_call("GET", f"{r.url}/api/state", "viewer")[1]["mode"]["scenario"]["stage"] == "Downpour"
        # Back to 17:03: Drizzle again, though its status was recorded before that point and sent long ago.
        assert http_call("POST", f"{r.url}/api/replay/pause", "engineer")[0] == 202
        r.banner("paused")
        seek = {"sim_ms": T0 + 3 * MIN}
        assert http_call("POST", f"{r.url}/api/replay/seek", "engineer", seek)[0] == 202
        assert http_call("POST", f"{r.url}/api/replay/resume", "engineer")[0] == 202
        banner(r.ws, stage("Drizzle"))
        banner(r.ws, stage("Downpour"))  # and on, in order with the data, as 17:10 is replayed
        assert r.proc.wait(60) == 0, r.log.read_text()
        # The recording ends with the scenario: its last status says so, and the finished replay's banner.
        over = banner(
            r.ws, lambda m: (m["scenario"] or {}).get("phase") == "after" and m["state"] == "finished"
        )
        assert over["scenario"]["title"] == "Mưa ghi lại"


@pytest.mark.parametrize("cluster", ["existing", "own"])
def test_replay_watch_brings_its_own_worker_and_wall_and_stays_seekable_after_the_end(
    recorded: tuple[dict[str, str], Path], tmp_path: Path, cluster: str
) -> None:
    env, path = recorded
    data = tmp_path / "data"
    watch_env = {**env, "IOC_DATA_DIR": str(data)}
    if cluster == "own":  # nothing answers at IOC_BOOTSTRAP: it starts a broker of its own
        watch_env["IOC_BOOTSTRAP"] = f"127.0.0.1:{procs.free_port()}"
    log = tmp_path / "watch.log"
    argv = [
        sys.executable,
        "-m",
        "ioc",
        "replay",
        str(path),
        "--watch",
        "--speed",
        "120",
        "--job",
        f"w{cluster}",
    ]
    proc = procs.spawn(argv, log, watch_env)
    try:
        procs.wait_for(lambda: "  viewer " in log.read_text() or proc.poll() is not None, 90, 0.2, "links")
        assert proc.poll() is None, log.read_text()
        text = log.read_text()
        assert ("its own embedded broker" in text) == (cluster == "own"), text
        url = text.split("replay wall: ")[1].split("/\n")[0]
        assert f"{url}/?token={token('viewer')}" in text and f"{url}/?token={token('engineer')}" in text
        assert url != f"http://127.0.0.1:{env.get('IOC_WEB_PORT', '8000')}"  # a port of its own
        with connect(f"ws://{url.removeprefix('http://')}/ws?token={token('viewer')}", max_size=None) as ws:
            done = banner(ws, lambda m: m.get("state") == "finished", timeout=60)
            assert done["stays"] and done["namespace"] == f"replay-w{cluster}", done
            assert proc.poll() is None  # at the end it stays, still seekable

            # Its own worker computed what the wall holds from the replayed readings (20 minutes are too
            # few for an hourly VN_AQI: traffic and lighting).
            assert http_call("GET", f"{url}/health", "viewer")[1]["entities"] > 100
            span = done["span"]
            code, body = http_call("POST", f"{url}/api/replay/seek", "engineer", {"sim_ms": span[1] + MIN})
            assert code == 422 and "outside the recording" in body["detail"], body
            assert http_call("POST", f"{url}/api/replay/seek", "engineer", {"sim_ms": span[0]})[0] == 202
            banner(ws, lambda m: m.get("state") == "playing")
            banner(ws, lambda m: m.get("state") == "finished", timeout=60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()
    finally:
        procs.stop(proc)
    out = log.read_text()
    assert "replayed" in out and "Traceback" not in out, out
    assert (data / "replays" / f"w{cluster}" / "ioc.db").exists()  # its record, not the live one
    assert not (data / "ioc.db").exists()
    assert not procs.port_open("127.0.0.1", int(url.rsplit(":", 1)[1]))  # its wall stopped with it


def banner(
    ws: ClientConnection, wanted: Callable[[dict[str, Any]], bool], timeout: float = 15
) -> dict[str, Any]:
    """The wall's LIVE / REPLAY banner facts from the first message that satisfies `wanted`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        mode: dict[str, Any] = orjson.loads(ws.recv(timeout=max(0.1, end - time.monotonic())))["mode"]
        if wanted(mode):
            return mode
    raise AssertionError("the wall never showed the wanted replay state")


def test_record_from_now_is_bounded_by_duration_and_by_size(
    recorded: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, _ = recorded
    live = tmp_path / "from-now.ioc"
    argv = ["record", "--out", str(live), "--topics", "raw,simulator", "--duration", "6s"]
    rec = procs.spawn([sys.executable, "-m", "ioc", *argv], tmp_path / "rec.log", env)
    time.sleep(3)  # recording from the topics' end: the earlier 20 minutes are not captured
    out = ioc(env, "simulate", "--start", "2025-10-14T18:00", "--duration", "5m", "--speed", "max", "--quiet")
    assert rec.wait(30) == 0, (tmp_path / "rec.log").read_text()
    frames = int(out.split(" frames")[0].split()[-1].replace(",", ""))
    entries = list(recording.read(live)[1])
    assert sum(1 for e in entries if e.topic.startswith("raw.")) == frames
    # The simulator's status: the one in force when the recording began (the earlier run's: its scenario
    # over; a broker reporting a short end may hand back a few before it, in order), then this run's.
    statuses = [orjson.loads(e.value or b"") for e in entries if e.topic == "simulator"]
    before = [(s["scenario"], s["phase"]) for s in statuses if s["sim_ms"] < T0 + MIN * 60]
    assert before and before[-1] == ("rec-rain", "after"), statuses
    assert len(statuses) > len(before) and {s["phase"] for s in statuses[len(before) :]} == {"none"}
    small = tmp_path / "small.ioc"
    out = ioc(
        env, "record", "--out", str(small), "--topics", "raw", "--from-beginning", "--max-size", "200kb"
    )
    assert 200_000 <= small.stat().st_size < 1_000_000, out  # stopped after the bound, long before the end
