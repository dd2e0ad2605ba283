"""Child processes that die with their parent and stop in order: the plumbing of `ioc up` and tests."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from ioc.children import die_with_parent


def spawn(
    argv: Sequence[str],
    log: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a child in its own session (a terminal's Ctrl-C reaches only the supervisor, which stops
    children in order) that is terminated if this process dies."""
    out: IO[bytes] | int = subprocess.DEVNULL
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        out = open(log, "ab")  # noqa: SIM115 - the child owns it for its lifetime
    try:
        return subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    finally:
        if not isinstance(out, int):
            out.close()


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0, sig: int = signal.SIGTERM) -> int | None:
    """Ask a child to stop, wait, then kill it; return its exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(5)
    return proc.returncode


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


# What an error reads like in a child's log: a traceback's last line, a logged error, a refusal.
_ERROR_LINE = re.compile(r"error|exception|fatal|critical|failed|refused|denied|cannot|could not|panic", re.I)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def last_line(log: Path | None, limit: int = 65_536) -> str:
    """A dead child's last word, usually why it exited: the last line of its log that reads like an error
    (a traceback's final line, a logged error; not the shutdown chatter after it), else its last non-blank
    line, or ''. At most 300 characters."""
    if log is None:
        return ""
    try:
        with log.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - limit))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line for line in (_ANSI.sub("", x).strip() for x in text.splitlines()) if line]
    found = next((line for line in reversed(lines) if _ERROR_LINE.search(line)), lines[-1] if lines else "")
    return found if len(found) <= 300 else found[:297] + "..."


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def wait_for(
    check: Callable[[], bool], timeout: float, interval: float = 0.05, what: str = "condition"
) -> float:
    """Poll `check()` until true; return seconds waited or raise TimeoutError naming `what`."""
    start = time.monotonic()
    while True:
        if check():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what} not ready after {timeout:.0f} s")
        time.sleep(interval)


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants in MB (a server that runs several processes)."""
    return sum(rss_mb(p) for p in descendants(pid)) + rss_mb(pid)


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process and its descendants have used so far (Linux /proc; a process
    gone in between counts 0): benchmarks take the difference over a window."""
    total = 0.0
    for p in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc), children first; [] if it is gone."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        with contextlib.suppress(OSError):
            for child in map(int, (task / "children").read_text().split()):
                found += [child, *descendants(child)]
    return found


def children_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env
