"""The processes a test talks to (ioc worker, ioc web) on the session's broker, run by ioc.ops.stack.Stack
(the code behind `ioc up`): one Settings object per namespace, topics first, all stopped at the end."""

from __future__ import annotations

import functools
import itertools
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from ioc.ops import procs
from ioc.ops.broker import EmbeddedBroker
from ioc.ops.stack import Part, Stack
from ioc.settings import Settings
from tests.support.keys import CONTROL_KEY, DOCUMENT_KEY, TOKENS
from tests.support.wall import answers, wait_wall_processes

READY = {"worker": "/metrics", "web": "/health"}  # what answers once each command is up
_counter = itertools.count()


def unique_namespace(prefix: str = "t") -> str:
    return f"{prefix}{os.getpid()}-{next(_counter)}"


def service_settings(bootstrap: str, namespace: str, **settings: Any) -> Settings:
    """A test's settings: free ports, fast emits and joins, this run's tokens and keys, then `settings`; the
    rest from the environment, as for `ioc up`."""
    defaults: dict[str, Any] = {
        "bootstrap": bootstrap,
        "namespace": namespace,
        "session_timeout_ms": 2000,  # Tansu joins after half of it
        "emit_interval_s": 0.2,
        "kpi_interval_s": 0.2,
        "push_hz": 10,
        "worker_web_port": procs.free_port(),
        "web_port": procs.free_port(),
        "log_level": "info",
        "tokens": TOKENS,
        "document_key": DOCUMENT_KEY,
        "control_key": CONTROL_KEY,
    }
    return Settings(**{**defaults, **settings})


class Services:
    """Parts of a Stack without a broker of its own, in one namespace; a part is `ioc ARGS` under a name."""

    def __init__(self, settings: Settings, log_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.stack = Stack(settings, [], log_dir, env=dict(env or {}))
        self.commands: dict[str, str] = {}  # part → the ioc command it runs
        self._up = False

    def up(self) -> Services:
        """Create the namespace's topics (once)."""
        if not self._up:
            self.stack.start(embedded_broker=False)
            self._up = True
        return self

    @property
    def settings(self) -> Settings:
        return self.stack.settings

    @property
    def env(self) -> dict[str, str]:
        """The environment of the parts, for the test's own `ioc` commands (simulate, record ...)."""
        return self.up().stack.env

    @property
    def procs(self) -> dict[str, subprocess.Popen[bytes]]:
        return {p.name: p.proc for p in self.stack.parts if p.proc is not None}

    def start(self, name: str, *args: str, **settings: Any) -> subprocess.Popen[bytes]:
        """Start `ioc ARGS` as part `name`, with `settings` where it differs from the others."""
        self.up()
        part = self.stack.add(Part(name, [sys.executable, "-m", "ioc", *args], settings=settings))
        self.commands[name] = args[0]
        assert part.proc is not None
        return part.proc

    def settings_of(self, name: str) -> Settings:
        return self.stack.settings_of(next(p for p in self.stack.parts if p.name == name))

    def port(self, name: str) -> int:
        """The HTTP port of a part: the wall's, or a worker's metrics port."""
        s = self.settings_of(name)
        return s.web_port if self.commands[name] == "web" else s.worker_web_port

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port(name)}"

    def wait_ready(self, *names: str, timeout: float = 30.0) -> None:
        """Wait until each part answers on HTTP (as `ioc up` waits for its wall), failing fast with its log
        if one dies."""
        for name in names:
            url = self.url(name) + READY[self.commands[name]]
            procs.wait_for(functools.partial(self._answers, url), timeout, 0.1, url)
            if self.commands[name] == "web" and self.settings_of(name).web_processes > 1:
                wait_wall_processes(url, self.settings_of(name).web_processes, timeout)

    def _answers(self, url: str) -> bool:
        self.assert_running()
        return answers(url)

    def log(self, name: str) -> str:
        path = self.stack.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def assert_running(self) -> None:
        for name, p in self.procs.items():
            assert p.poll() is None, f"{name} exited with {p.returncode}:\n{self.log(name)[-3000:]}"

    def kill(self, name: str) -> None:
        """SIGKILL: no goodbye, no last checkpoint."""
        self.stack.remove(name, signal.SIGKILL)

    def stop(self, name: str | None = None) -> None:
        """Stop one part, or all of them in reverse order."""
        if name is not None:
            self.stack.remove(name)
            return
        self.stack.stop()
        self.stack.parts.clear()


class StartServices(Protocol):
    def __call__(self, namespace: str, *parts: str, **settings: Any) -> Services: ...


@contextmanager
def services_on(broker: EmbeddedBroker, log_dir: Path) -> Iterator[StartServices]:
    """A factory of Services on `broker`: `start(namespace, "worker", "web", **settings)` creates the
    namespace's topics, starts the parts (one per command, named after it) and waits until they answer.
    Whatever it started is stopped on leaving."""
    started: list[Services] = []

    def start(namespace: str, *parts: str, **settings: Any) -> Services:
        services = Services(service_settings(broker.bootstrap, namespace, **settings), log_dir / namespace)
        started.append(services.up())
        for part in parts:
            services.start(part, part)
        services.wait_ready(*parts)
        return services

    try:
        yield start
    finally:
        for services in reversed(started):
            services.stop()


def up_env(data_dir: Path, prefix: str, **extra: str) -> dict[str, str]:
    """The environment of an `ioc up` a test runs as its own process: free ports for the broker, the wall
    and the worker's metrics, a namespace and data directory of its own, this run's tokens and keys, fast
    joins; `extra` IOC_* variables over it."""
    broker = str(procs.free_port())
    return {
        **os.environ,
        "IOC_BROKER_PORT": broker,
        "IOC_BOOTSTRAP": f"127.0.0.1:{broker}",
        "IOC_WEB_PORT": str(procs.free_port()),
        "IOC_WORKER_WEB_PORT": str(procs.free_port()),
        "IOC_NAMESPACE": unique_namespace(prefix),
        "IOC_DATA_DIR": str(data_dir),
        "IOC_TOKENS": TOKENS,
        "IOC_DOCUMENT_KEY": DOCUMENT_KEY,
        "IOC_CONTROL_KEY": CONTROL_KEY,
        "IOC_SESSION_TIMEOUT_MS": "2000",
        **extra,
    }


def up_children(pid: int) -> dict[str, int]:
    """`ioc up`'s children by role (broker, historian, worker, web; others by command line)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    found = {}
    for child in map(int, out):
        argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        words = [w.decode(errors="replace") for w in argv]
        role = next((r for r in ("historian", "worker", "web") if r in words), None)
        found[role or ("broker" if any("tansu" in w for w in words) else " ".join(words))] = child
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
