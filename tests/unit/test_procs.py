"""Process plumbing the tools share: which line of a dead child's log to show, whether a port is free."""

from __future__ import annotations

import socket
from pathlib import Path

from ioc.net import port_free
from ioc.ops import procs


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
