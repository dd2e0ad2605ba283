"""Wrong input to the recording tools (`ioc record`, `replay`, `compare`, `recording export|import`), each
run as a user would: a non-zero exit, a one-line reason naming the option, file or broker, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ioc.ops import procs
from ioc.ops.recording import file as recording

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("errors")
    (d / "zip.ioc").write_bytes(b"PK\x03\x04 not a recording")
    (d / "other.jsonl").write_text('{"format": "something-else"}\n')
    writer = recording.Writer(d / "ok.ioc", {"namespace": "ioc", "topics": ["raw.traffic"]})
    writer.write([recording.Entry("raw.traffic", 0, 0, 0, b"k", b'{"tick": 60000}')])
    writer.close()
    return d


NO_BROKER = f"127.0.0.1:{procs.free_port()}"  # nothing listens there
CASES = {
    "record --duration 5x": (["record", "--out", "x.ioc", "--duration", "5x"], ["'--duration'", "5x"]),
    "record --duration 0": (["record", "--out", "x.ioc", "--duration", "0"], ["'--duration'"]),
    "record --max-size 12q": (["record", "--out", "x.ioc", "--max-size", "12q"], ["'--max-size'", "12q"]),
    "record into a missing folder": (["record", "--out", "no/such/x.ioc"], ["'--out'", "no/such"]),
    "record, no broker": (["record", "--out", "x.ioc", "--duration", "5s"], [NO_BROKER, "IOC_BOOTSTRAP"]),
    "replay --speed ten": (["replay", "zip.ioc", "--speed", "ten"], ["'--speed'", "ten"]),
    "replay, no broker": (["replay", "ok.ioc", "--speed", "max"], [NO_BROKER, "IOC_BOOTSTRAP"]),
    "replay, not a recording": (["replay", "zip.ioc"], ["zip.ioc: not a recording", "expected"]),
    "compare, a missing file": (["compare", "missing.ioc", "zip.ioc"], ["missing.ioc", "does not exist"]),
    "compare, not a recording": (["compare", "other.jsonl", "zip.ioc"], ["other.jsonl: its first line"]),
    "export, a missing file": (["recording", "export", "missing.ioc", "y.jsonl"], ["missing.ioc"]),
    "export, not a recording": (["recording", "export", "zip.ioc", "y.jsonl"], ["zip.ioc: not a recording"]),
    "export onto itself": (["recording", "export", "zip.ioc", "zip.ioc"], ["'DST'", "the file being read"]),
    "import, not a recording": (["recording", "import", "other.jsonl", "y.ioc"], ["other.jsonl"]),
}


@pytest.mark.parametrize("case", CASES)
def test_wrong_input_gets_a_reason_and_no_traceback(files: Path, case: str) -> None:
    args, named = CASES[case]
    env = {**os.environ, "IOC_BOOTSTRAP": NO_BROKER, "IOC_NAMESPACE": "errors"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ioc", *args], cwd=files, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr and "Error: " in done.stderr, done.stderr
    for word in named:
        assert word in done.stderr, (word, done.stderr)
    assert time.monotonic() - started < 10  # a closed port is told at once, not after a timeout
    assert not (files / "x.ioc").exists()  # nothing written for a command that could not run
