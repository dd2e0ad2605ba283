"""`ioc record` stopped from outside, with the real CLI on the real broker: SIGINT (Ctrl-C) and SIGTERM close
a whole gzip file and print the summary; after SIGKILL the file holds what was flushed, and every tool
reads it up to its last complete record with one warning naming it."""

from __future__ import annotations

import gzip
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ioc.ops import procs
from ioc.ops.recording import file as recording
from tests.support.stack import StartServices, unique_namespace

pytestmark = pytest.mark.integration


def ioc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ioc", *args], env=env, capture_output=True, text=True)


def entries_in(path: Path) -> tuple[int, list[str]]:
    warnings: list[str] = []
    return sum(1 for _ in recording.read(path, warnings.append)[1]), warnings


@contextmanager
def recording_from_now(env: dict[str, str], path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`ioc record` from now while 5 simulated minutes go out; (the recorder, the frames sent), once the
    file holds them all. Its SIGINT is a terminal's (a test run in the background would ignore it)."""
    argv = [sys.executable, "-m", "ioc", "record", "--out", str(path), "--topics", "raw"]
    rec = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        procs.wait_for(path.exists, 30, 0.1, "the recorder's file")  # connected, signals handled
        done = ioc(
            env, "simulate", "--start", "2025-10-14T18:00", "--duration", "5m", "--speed", "max", "--quiet"
        )
        assert done.returncode == 0, done.stderr
        frames = int(done.stdout.split(" frames")[0].split()[-1].replace(",", ""))
        # The recorder flushes each second: an open file already reads up to what it flushed.
        procs.wait_for(lambda: entries_in(path)[0] == frames, 30, 0.2, f"{frames} frames in the open file")
        yield rec, frames
    finally:
        if rec.poll() is None:
            rec.terminate()
        rec.communicate(timeout=30)  # and its pipes closed


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_recorder_stopped_by_a_signal_closes_a_whole_file_and_prints_its_summary(
    start_services: StartServices, tmp_path: Path, sig: signal.Signals
) -> None:
    env = start_services(unique_namespace("sig")).env
    path = tmp_path / "stopped.ioc"
    with recording_from_now(env, path) as (rec, frames):
        rec.send_signal(sig)
        out, err = rec.communicate(timeout=30)
    assert rec.returncode == 0, out + err
    assert "Aborted" not in out + err and "Traceback" not in err, err
    assert f"stopped by {sig.name}; the file is closed" in out
    assert f"recorded {frames:,} records" in out and str(path) in out and " MB compressed" in out
    assert "topics: raw.traffic " in out and "raw.environment " in out
    assert (
        "simulated time (the raw frames' ticks): 2025-10-14 18:00:00 → 18:05:00 Vietnam time (5 min 0 s)"
        in out
    )
    gzip.decompress(path.read_bytes())  # as `gzip -t`: a whole gzip file, its end-of-stream marker written
    assert entries_in(path) == (frames, [])
    exported = ioc(env, "recording", "export", str(path), str(tmp_path / "x.jsonl"))
    compared = ioc(env, "compare", str(path), str(tmp_path / "x.jsonl"))
    assert exported.returncode == 0 and exported.stderr == "", exported.stderr  # no warning
    assert compared.stderr == "", compared.stderr


def test_after_sigkill_every_tool_reads_what_was_flushed_with_one_warning(
    start_services: StartServices, tmp_path: Path
) -> None:
    env = start_services(unique_namespace("kill")).env
    path = tmp_path / "killed.ioc"
    with recording_from_now(env, path) as (rec, frames):
        rec.kill()
        rec.communicate(timeout=10)
    warning = (
        f"warning: {path} is truncated after {frames:,} records (the recorder did not close it); reading "
        "what is complete"
    )
    assert entries_in(path) == (frames, [warning])
    jsonl, fixed = tmp_path / "killed.jsonl", tmp_path / "fixed.ioc"
    for args in (
        ["recording", "export", str(path), str(jsonl)],
        ["recording", "import", str(path), str(fixed)],
        ["compare", str(path), str(jsonl)],
        ["replay", str(path), "--dry-run"],
    ):
        done = ioc(env, *args)
        assert done.returncode in (0, 2) and done.stderr.splitlines() == [warning], (args, done.stderr)
    assert entries_in(jsonl) == entries_in(fixed) == (frames, [])
    gzip.decompress(fixed.read_bytes())  # import wrote it whole
