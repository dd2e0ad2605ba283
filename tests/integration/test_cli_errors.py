"""Wrong input to `ioc up` and to the IOC_* settings is refused before any process starts, in one line naming
the option or variable, without a traceback; a part that dies while the stack starts has its last log line
on the console."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ioc.ops.recording.file import Writer
from tests.support.stack import up_env

pytestmark = pytest.mark.integration


def ioc(args: list[str], env: dict[str, str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ioc", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def refused(result: subprocess.CompletedProcess[str], data: Path, *said: str) -> None:
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "Traceback" not in out, out
    for text in said:
        assert text in result.stderr, result.stderr
    assert not (data / "logs").exists(), "a process was started"  # `ioc up` writes its parts' logs there


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--scenario", "typhoon"], ["--scenario typhoon: no scenario 'typhoon'; known:", "typhoon-vinh"]),
        (["--start", "yesterday-ish"], ["--start='yesterday-ish': not 'now' nor an ISO 8601 time"]),
        (["--start", "2025-13-45"], ["--start='2025-13-45'", "month must be in 1..12"]),
        (["--speed", "-3"], ["--speed=-3.0: Input should be greater than 0"]),
        (["--speed", "ten"], ["Invalid value for '--speed': 'ten' is not a valid float"]),
    ],
)
def test_ioc_up_refuses_a_wrong_option_before_starting_anything(
    tmp_path: Path, args: list[str], said: list[str]
) -> None:
    env = up_env(tmp_path / "data", "cli")
    refused(ioc(["up", *args], env), tmp_path / "data", *said)


def test_a_scenario_naming_sensors_the_city_lacks_is_refused_before_starting(tmp_path: Path) -> None:
    scenario = tmp_path / "ghost.toml"
    scenario.write_text(
        'name = "ghost"\ntitle = "x"\nduration = "10m"\n[[stage]]\nname = "s"\nat = "0m"\n'
        '[stage.set]\n"faults.AQ-NOWHERE-99.offline" = true\n',
        encoding="utf-8",
    )
    env = up_env(tmp_path / "data", "cli")
    refused(ioc(["up", "--scenario", str(scenario)], env), tmp_path / "data", "AQ-NOWHERE-99")


@pytest.mark.parametrize(("var", "value"), [("IOC_SPEED", "abc"), ("IOC_START", "2025-13-45")])
def test_a_wrong_setting_is_named_without_a_traceback(tmp_path: Path, var: str, value: str) -> None:
    env = {**up_env(tmp_path / "data", "cli"), var: value}
    for command in (["settings"], ["up"]):
        result = ioc(command, env)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert f"{var}='{value}':" in result.stderr, result.stderr
    assert not (tmp_path / "data" / "logs").exists()


def test_a_port_in_use_is_named_before_starting_anything(tmp_path: Path) -> None:
    env = up_env(tmp_path / "data", "cli")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(env["IOC_WEB_PORT"])))
        taken.listen()
        result = ioc(["up"], env)
    refused(result, tmp_path / "data", f"--port={env['IOC_WEB_PORT']}: port", "is in use")


def test_a_part_that_dies_at_start_says_why_on_the_console(tmp_path: Path) -> None:
    # Nothing listens on port 1: the historian cannot reach its database and exits. The reason was only in
    # its log; now its last line is on the console.
    env = up_env(tmp_path / "data", "cli", IOC_DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    result = ioc(["up", "--no-sim"], env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "historian exited with code 1: " in result.stderr, result.stderr
    assert "Connect call failed ('127.0.0.1', 1)" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--speed", "ten"], "Invalid value for '--speed': 'ten' is not a number; give e.g. 1, 10"),
        (["--speed", "0"], "Invalid value for '--speed': '0': the speed must be above 0 (or 'max')"),
        (["--namespace", "ioc"], "Invalid value for --namespace: a replay namespace starts with 'replay-'"),
    ],
)
def test_ioc_replay_refuses_a_wrong_option_before_reading_or_sending(
    tmp_path: Path, args: list[str], said: str
) -> None:
    recording = tmp_path / "any.ioc"
    recording.write_bytes(b"")  # never read: the options are checked first
    result = ioc(["replay", str(recording), *args], up_env(tmp_path / "data", "cli"))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert said in result.stderr, result.stderr


def test_ioc_replay_without_a_broker_says_so_and_what_to_do(tmp_path: Path) -> None:
    recording = tmp_path / "empty.ioc"
    Writer(recording, {"namespace": "ioc", "topics": ["raw.traffic"]}).close()  # a header, no records
    env = up_env(tmp_path / "data", "cli")  # IOC_BOOTSTRAP: a free port, where nothing answers
    result = ioc(["replay", str(recording), "--speed", "max"], env)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    said = f"no Kafka broker answered at {env['IOC_BOOTSTRAP']} (IOC_BOOTSTRAP"
    assert said in result.stderr, result.stderr
    assert "use --watch" in result.stderr
