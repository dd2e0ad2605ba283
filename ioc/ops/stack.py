"""The embedded stack behind `ioc up`: broker, Faust worker, web server and simulators, started and stopped
in order, each a child process whose log goes to the data directory, and supervised: a part that dies is
started again with back-off (the broker first, with its topics: a memory broker comes back empty)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ioc.contract.documents import WallHealth
from ioc.kafka import ensure_topics
from ioc.ops import procs
from ioc.ops.broker import EmbeddedBroker
from ioc.settings import Settings
from ioc.topics import Topics


class StackError(RuntimeError):
    """A part of the stack failed to start or died."""


BACKOFF_MAX_S = 30.0
STABLE_S = 60.0  # a part that ran this long before dying starts again after the shortest back-off


@dataclass
class Part:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    may_finish: bool = False  # exit 0 means done (a scenario that ended), not a failure
    restarts: int = 0
    started: float = 0.0
    restart_at: float | None = None  # waiting out its back-off
    done: bool = False
    settings: dict[str, Any] = field(default_factory=dict)  # where it differs from the stack's (a 2nd worker)
    # A file in the data directory the part writes, with the broker's cluster id, once the parts after it
    # may start (the historian: open alerts republished before a worker takes the areas over).
    ready_file: str | None = None
    # Another part's ready file: this part (the worker) starts, and starts again after the broker came back
    # empty, only once that file names the broker's current cluster.
    waits_for: str | None = None


def settings_env(s: Settings, names: Iterable[str] | None = None) -> dict[str, str]:
    """The settings (every one, or `names`) as the IOC_* variables a child process reads them from: the
    one object crosses the process boundary whole, in the form Settings itself reads."""
    values = s.model_dump(mode="json", include=set(names) if names is not None else None)
    return {f"IOC_{name.upper()}": _env_text(v) for name, v in values.items()}


def _env_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def backoff(restarts: int) -> float:
    """1, 2, 4 ... 30 s."""
    return min(BACKOFF_MAX_S, 2.0 ** max(restarts - 1, 0))


@dataclass
class Stack:
    """Broker first, then the parts in the given order; stop runs in reverse. Every part gets the stack's
    settings (with the broker's address once it is known) as its environment, `env` laid over them."""

    settings: Settings
    parts: list[Part]
    log_dir: Path
    broker: EmbeddedBroker | None = None
    env: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    _broker_retry_at: float = 0.0
    _broker_failures: int = 0

    @property
    def web_url(self) -> str:
        return f"http://{self.settings.web_host}:{self.settings.web_port}"

    def start(self, embedded_broker: bool = True) -> None:
        t0 = time.monotonic()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        bootstrap = self.settings.bootstrap
        if embedded_broker:
            self.broker = EmbeddedBroker(
                self.settings.broker_host, self.settings.broker_port, self.log_dir / "broker.log"
            ).start(self.settings.broker_ready_timeout_s)
            bootstrap = self.broker.bootstrap
        self.settings = self.settings.model_copy(update={"bootstrap": bootstrap})
        self.env = procs.children_env({**settings_env(self.settings), **self.env})
        self._create_topics()
        self.timings["broker"] = time.monotonic() - t0
        for part in self.parts:
            part.log = self.log_dir / f"{part.name}.log"
            part.log.write_bytes(b"")
            self._spawn(part)
            self._wait_ready(part)
        self.timings["spawned"] = time.monotonic() - t0

    def _create_topics(self) -> None:
        s = self.settings
        asyncio.run(ensure_topics(s, Topics(s.namespace).layout(s.partitions)))

    def add(self, part: Part) -> Part:
        """Start one more part on the running stack (a second worker, a server started again); its log goes
        on where a part of the same name left off."""
        self.parts.append(part)
        part.log = self.log_dir / f"{part.name}.log"
        self._spawn(part)
        return part

    def remove(self, name: str, sig: int = signal.SIGTERM) -> int | None:
        """Stop a part (SIGKILL: without a goodbye) and forget it; its exit code."""
        part = next(p for p in self.parts if p.name == name)
        self.parts.remove(part)
        return procs.stop(part.proc, timeout=15, sig=sig) if part.proc is not None else None

    def settings_of(self, part: Part) -> Settings:
        if not part.settings:
            return self.settings
        return Settings.model_validate({**self.settings.model_dump(), **part.settings})

    def _wait_ready(self, part: Part, timeout: float = 60.0) -> None:
        if part.ready_file is None:
            return
        ready_file = part.ready_file

        def ready() -> bool:
            self.check_alive()
            return self._is_ready(ready_file)

        procs.wait_for(ready, timeout, 0.1, f"{part.name} ready ({self.settings.data_dir / ready_file})")

    def _is_ready(self, ready_file: str) -> bool:
        """The file is there and names this broker's cluster (any cluster on a broker the stack did not
        start: it cannot tell a restart)."""
        marker = self.settings.data_dir / ready_file
        try:
            text = marker.read_text()
        except FileNotFoundError:
            return False
        return self.broker is None or text == self.broker.cluster_id

    def _spawn(self, part: Part) -> None:
        if part.ready_file is not None:
            (self.settings.data_dir / part.ready_file).unlink(missing_ok=True)  # a past run's says nothing
        assert part.log is not None
        env = {**self.env, **settings_env(self.settings_of(part), part.settings)}
        part.proc = procs.spawn(part.argv, part.log, env)
        part.started = time.monotonic()
        part.restart_at = None

    def wait_web(self, timeout: float = 60.0) -> None:
        t0 = time.monotonic()
        procs.wait_for(lambda: self.check_alive() and self.health() is not None, timeout, 0.2, "web server")
        self.timings["web"] = time.monotonic() - t0

    def wait_live(self, areas: list[str], timeout: float = 60.0) -> None:
        """Wait until the wall holds live values for every area."""

        def live() -> bool:
            self.check_alive()
            health = self.health()
            return health is not None and all(health.areas.get(a, 0) > 0 for a in areas)

        procs.wait_for(live, timeout, 0.25, f"live data for {', '.join(areas)}")

    def health(self) -> WallHealth | None:
        """The wall's /health body (also when it answers 503: red, with its problems), None if unreachable."""
        try:
            with urllib.request.urlopen(f"{self.web_url}/health", timeout=1) as r:
                return WallHealth.model_validate_json(r.read())
        except urllib.error.HTTPError as err:
            try:
                return WallHealth.model_validate_json(err.read())
            except ValueError:
                return None
        except (OSError, ValueError):
            return None

    def check_alive(self) -> bool:
        for part in self.parts:
            if part.proc is not None and part.proc.poll() is not None:
                code = part.proc.returncode
                raise StackError(f"{part.name} exited with code {code}{_said(part)}; see {part.log}")
        return True

    def watch(
        self,
        interval: float = 0.5,
        until: Callable[[], bool] = lambda: False,
        say: Callable[[str], None] = print,
    ) -> None:
        """Supervise until `until()`: restart the broker or any part that dies, with back-off."""
        while not until():
            self.supervise(say)
            time.sleep(interval)

    def supervise(self, say: Callable[[str], None]) -> None:
        """One round: the broker first (the parts need it), then every part."""
        now = time.monotonic()
        if self.broker is not None and not self.broker.alive() and now >= self._broker_retry_at:
            self._restart_broker(say)
        for part in self.parts:
            if part.done:
                continue
            if part.proc is None:
                if part.restart_at is not None and now >= part.restart_at and self._may_start(part):
                    say(f"starting {part.name} again (restart {part.restarts})")
                    self._spawn(part)
                continue
            code = part.proc.poll()
            if code is None:
                continue
            if code == 0 and part.may_finish:
                part.done = True
                say(f"{part.name} finished (exit 0); the rest of the stack keeps running")
                continue
            part.restarts = 1 if now - part.started >= STABLE_S else part.restarts + 1
            delay = backoff(part.restarts)
            again = f"starting it again in {delay:.0f} s (log {part.log})"
            say(f"{part.name} exited with code {code}{_said(part)}; {again}")
            part.proc, part.restart_at = None, now + delay

    def _restart_broker(self, say: Callable[[str], None]) -> None:
        """A memory broker that died comes back empty: start it (a new cluster id, so every client can tell)
        and create the topics before any client does so with the broker's default partition count."""
        assert self.broker is not None
        code = self.broker.proc.returncode if self.broker.proc is not None else None
        say(f"the broker died (exit {code}); starting it again: everything it held is lost")
        self.broker.proc = None
        try:
            self.broker.start(self.settings.broker_ready_timeout_s)
            self._create_topics()
        except Exception as exc:  # the port may still be held: try again after a back-off
            self.broker.stop()
            self._broker_failures += 1
            delay = backoff(self._broker_failures)
            self._broker_retry_at = time.monotonic() + delay
            say(f"broker restart failed ({exc}); trying again in {delay:.0f} s")
            return
        self._broker_failures = 0
        say(f"broker up again as cluster {self.broker.cluster_id}; the worker, wall and simulator start over")
        for part in self.parts:
            if (part.ready_file or part.waits_for) and part.proc is not None:
                # Stopped now rather than when each notices the new cluster: the historian puts the open
                # alerts back at once, and the worker does not judge the new broker's readings before.
                code = procs.stop(part.proc, timeout=15)
                then = f" once {part.waits_for} names the new cluster" if part.waits_for else ""
                say(f"{part.name} stopped (exit {code}) to start again on the new broker{then}")
                part.proc, part.restart_at = None, time.monotonic()

    def _may_start(self, part: Part) -> bool:
        return part.waits_for is None or self._is_ready(part.waits_for)

    def memory_mb(self) -> dict[str, float]:
        rows = {p.name: procs.tree_rss_mb(p.proc.pid) for p in self.parts if p.proc is not None}
        if self.broker is not None and self.broker.proc is not None:
            rows["broker"] = procs.rss_mb(self.broker.proc.pid)
        return rows

    def stop(self) -> None:
        for part in reversed(self.parts):
            if part.proc is not None:
                procs.stop(part.proc, timeout=15)
        if self.broker is not None:
            self.broker.stop()


def _said(part: Part) -> str:
    """A dead part's last log line, so the reason is on the console and not only in its log."""
    line = procs.last_line(part.log)
    return f': "{line}"' if line else ""
