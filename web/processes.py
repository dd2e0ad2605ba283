"""`ioc web --processes N`: N wall server processes on one port, each binding it with SO_REUSEPORT (the kernel
spreads new connections over them) and reading the topics itself, with no consumer group, so each holds the
whole wall state. This parent starts them, starts again one that dies (with back-off), and stops them all on
SIGTERM or SIGINT. They write their metrics into one directory of this run, so `/metrics` from any of them
counts them all."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from prometheus_client import multiprocess

from ioc import auth
from ioc.children import die_with_parent
from ioc.net import port_free
from ioc.settings import Settings
from web.metrics import SHARED_DIR
from web.serve import STARTUP_FAILURE

log = logging.getLogger("ioc.web.processes")
POLL_S = 0.2
STOP_TIMEOUT_S = 15.0
STARTING_S = 10.0  # a process that dies this soon after its first start never got going
STABLE_S = 60.0  # one that ran this long before dying starts again after the shortest back-off
BACKOFF_MAX_S = 30.0


@dataclass
class Child:
    index: int
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restarts: int = 0
    restart_at: float | None = None


def run_processes(s: Settings, port: int, n: int) -> int:
    """Serve with `n` processes until SIGTERM or SIGINT; the exit code of a process that could not start."""
    logging.basicConfig(level=s.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not port_free(s.web_host, port):  # else the children would share it with another server
        log.error("port %s:%d is in use", s.web_host, port)
        return STARTUP_FAILURE
    argv = [sys.executable, "-m", "ioc", "web", "--port", str(port), "--reuse-port"]
    # Fresh for each run: prometheus_client would add up files an earlier run left.
    metrics_dir = tempfile.mkdtemp(prefix=f"ioc-wall-metrics-{port}-")
    env = {**_shared_env(s, n), SHARED_DIR: metrics_dir}
    signals: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda got, _frame: signals.append(got))
    children = [Child(i) for i in range(n)]
    log.info("%d wall processes on %s:%d", n, s.web_host, port)
    try:
        for child in children:
            _start(child, argv, env)
        while not signals:
            time.sleep(POLL_S)
            for child in children:
                if not _tend(child, argv, env):
                    return STARTUP_FAILURE
    finally:
        _stop_all(children)
        shutil.rmtree(metrics_dir, ignore_errors=True)
    _end_by(signals[0])
    return 0


def _shared_env(s: Settings, n: int) -> dict[str, str]:
    """What every process must agree on: without IOC_TOKENS each would make its own development tokens."""
    if s.tokens:
        return {"IOC_WEB_PROCESSES": str(n)}
    spec = auth.dev_tokens()
    log.warning("IOC_TOKENS not set; development tokens for this run: %s", spec)
    return {"IOC_WEB_PROCESSES": str(n), "IOC_TOKENS": spec}


def _start(child: Child, argv: list[str], env: dict[str, str]) -> None:
    # Their output goes where this server's goes (its log); their own session keeps a terminal's Ctrl-C
    # to this process, which stops them all.
    env = {**os.environ, **env}
    child.proc = subprocess.Popen(argv, env=env, start_new_session=True, preexec_fn=die_with_parent)
    child.started = time.monotonic()
    child.restart_at = None
    log.info("wall process %d started (pid %d)", child.index, child.proc.pid)


def _tend(child: Child, argv: list[str], env: dict[str, str]) -> bool:
    """Notice a dead process and start it again after its back-off; False if it could not start at all."""
    assert child.proc is not None
    now = time.monotonic()
    if child.restart_at is not None:
        if now >= child.restart_at:
            _start(child, argv, env)
        return True
    code = child.proc.poll()
    if code is None:
        return True
    multiprocess.mark_process_dead(child.proc.pid, env[SHARED_DIR])  # its clients gone; its counts kept
    if code == STARTUP_FAILURE or (code > 0 and child.restarts == 0 and now - child.started < STARTING_S):
        # A setting or the port: starting it again would end the same way. Not logged as an error, so that
        # `ioc up` quotes the process's own last error line (its log is this one).
        log.warning("wall process %d (pid %d) ended while starting (exit %s); stopping the others",
                    child.index, child.proc.pid, code)  # fmt: skip
        return False
    child.restarts = 1 if now - child.started >= STABLE_S else child.restarts + 1
    delay = min(BACKOFF_MAX_S, 2.0 ** (child.restarts - 1))  # 1, 2, 4 ... 30 s
    log.error("wall process %d (pid %d) exited with code %s after %.0f s; starting it again in %.0f s",
              child.index, child.proc.pid, code, now - child.started, delay)  # fmt: skip
    child.restart_at = now + delay
    return True


def _stop_all(children: list[Child]) -> None:
    """All at once (each closes its websockets), then wait for each, killing what outlives the timeout."""
    running = [c.proc for c in children if c.proc is not None and c.proc.poll() is None]
    for proc in running:
        proc.send_signal(signal.SIGTERM)
    for proc in running:
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _end_by(sig: int) -> None:
    """Exit as the single-process server does after a signal: by that signal, once everything is stopped."""
    signal.signal(sig, signal.SIG_DFL)
    signal.raise_signal(sig)
