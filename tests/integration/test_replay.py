"""Record and replay with the real CLI on the real broker: a simulated stretch recorded from its namespace
and replayed into a replay namespace comes back frame for frame in the same order per key, every frame
carrying the job id; a dry run sends nothing; a replay pauses on SIGUSR1 and resumes; live namespaces are
refused."""

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

from ioc.ops import procs
from ioc.ops.recording import file as recording
from tests.support.keys import token
from tests.support.stack import StartServices, unique_namespace
from tests.support.wall import http_call

pytestmark = pytest.mark.integration


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
    ioc(env, "simulate", "--start", "2025-10-14T17:00", "--duration", "20m", "--speed", "max", "--quiet")
    path = tmp_path_factory.mktemp("rec") / "live.ioc"
    out = ioc(env, "record", "--out", str(path), "--topics", "raw", "--from-beginning")
    assert "recorded 1,491 records" in out, out  # what the simulator printed for this stretch
    return env, path


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
    start_services: StartServices, env: dict[str, str], path: Path, job: str, tmp: Path
) -> Iterator[Watched]:
    wall = start_services(f"replay-{job}", "web")  # first: its topics exist before the replay looks
    log = tmp / "replay.log"
    argv = [sys.executable, "-m", "ioc", "replay", str(path), "--speed", "120", "--job", job]
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
        # Back to the start: everything before the pause is sent again, so more than 1,491 go out.
        assert http_call("POST", f"{r.url}/api/replay/seek", "engineer", {"sim_ms": 0})[0] == 202
        assert http_call("POST", f"{r.url}/api/replay/resume", "engineer")[0] == 202
        r.banner("playing")
        assert r.proc.wait(60) == 0, r.log.read_text()
        r.banner("finished")
        assert http_call("POST", f"{r.url}/api/replay/pause", "engineer")[0] == 409  # nothing left to steer
    log = r.log.read_text()
    assert int(log.split("replayed ")[1].split(" records")[0].replace(",", "")) > 1491, log
    assert "replay command obeyed" in log


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
    rec = procs.spawn(
        [sys.executable, "-m", "ioc", "record", "--out", str(live), "--topics", "raw", "--duration", "6s"],
        tmp_path / "rec.log",
        env,
    )
    time.sleep(3)  # recording from the topics' end: the earlier 20 minutes are not captured
    out = ioc(env, "simulate", "--start", "2025-10-14T18:00", "--duration", "5m", "--speed", "max", "--quiet")
    assert rec.wait(30) == 0, (tmp_path / "rec.log").read_text()
    frames = int(out.split(" frames")[0].split()[-1].replace(",", ""))
    assert sum(1 for _ in recording.read(live)[1]) == frames
    small = tmp_path / "small.ioc"
    out = ioc(
        env, "record", "--out", str(small), "--topics", "raw", "--from-beginning", "--max-size", "200kb"
    )
    assert 200_000 <= small.stat().st_size < 1_000_000, out  # stopped after the bound, long before the end
