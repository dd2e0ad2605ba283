"""Process plumbing the tools share: which line of a dead child's log to show, whether a port is free,
that children die with their parent."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ioc.net import port_free
from ioc.ops import procs
from tests.support.stack import alive


def test_the_last_error_line_is_a_tracebacks_last_line_not_the_noise_after_it(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    log.write_text(
        'starting\nTraceback (most recent call last):\n  File "x.py", line 1, in <module>\n'
        "OSError: [Errno 98] address already in use\n\x1b[33m[^Worker]: Stopping...\x1b[0m\nbye\n\n"
    )
    assert procs.last_line(log) == "OSError: [Errno 98] address already in use"
    log.write_text("one\ntwo\n")
    assert procs.last_line(log) == "two"  # nothing reads as an error: the last line
    log.write_text("")
    assert (
        procs.last_line(log) == ""
        and procs.last_line(tmp_path / "none") == ""
        and procs.last_line(None) == ""
    )
    log.write_text("x" * 100_000 + "\nValueError: " + "y" * 400)
    line = procs.last_line(log)
    assert line.startswith("ValueError: y") and len(line) == 300


def test_a_port_a_server_listens_on_is_not_free() -> None:
    port = procs.free_port()
    assert port_free("127.0.0.1", port)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        assert not port_free("127.0.0.1", port)


def test_a_child_started_with_die_with_parent_ends_when_its_parent_is_killed() -> None:
    # The parent starts a sleeping child as `ioc up` and `ioc web --processes` do, says its pid, and waits.
    parent_code = (
        "import subprocess, sys, time\n"
        "from ioc.children import die_with_parent\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
        " start_new_session=True, preexec_fn=die_with_parent)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    with subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True) as parent:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        assert alive(child_pid)
        parent.kill()  # SIGKILL: the parent can clean nothing up itself
        parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    outlived = alive(child_pid)
    if outlived:
        os.kill(child_pid, signal.SIGKILL)
    assert not outlived, "the child outlived its killed parent"


def test_cpu_seconds_count_a_process_and_its_descendants_and_a_gone_one_counts_nothing() -> None:
    # A parent that sleeps, and its child that spins ~0.4 s of CPU, then sleeps so both can be measured.
    spin = "import time; t = time.process_time()\nwhile time.process_time() - t < 0.4: pass\ntime.sleep(30)"
    code = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {spin!r}]); time.sleep(30)"
    with subprocess.Popen([sys.executable, "-c", code]) as parent:
        try:
            procs.wait_for(lambda: procs.tree_cpu_s(parent.pid) >= 0.4, 20, 0.05, "the child's spin")
            own = procs.tree_cpu_s(parent.pid) - sum(
                procs.tree_cpu_s(c) for c in procs.descendants(parent.pid)
            )
            assert own < 0.3  # the parent only started Python and slept: the 0.4 s are its child's
        finally:
            for child in procs.descendants(parent.pid):
                os.kill(child, signal.SIGKILL)
            parent.kill()
    assert procs.tree_cpu_s(parent.pid) == 0.0
