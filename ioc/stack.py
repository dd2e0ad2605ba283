"""The embedded stack behind `ioc up`: broker, Faust worker, web server and simulators, started and stopped
in order, each a child process whose log goes to the data directory."""

from __future__ import annotations

import asyncio
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ioc import procs
from ioc.broker import EmbeddedBroker
from ioc.kafka import ensure_topics
from ioc.settings import Settings
from ioc.topics import Topics


class StackError(RuntimeError):
    """A part of the stack failed to start or died."""


@dataclass
class Part:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None


@dataclass
class Stack:
    """Broker first, then the parts in the given order; stop runs in reverse."""

    settings: Settings
    parts: list[Part]
    log_dir: Path
    broker: EmbeddedBroker | None = None
    env: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

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
        self.env = procs.children_env({"IOC_BOOTSTRAP": bootstrap, **self.env})
        settings = self.settings.model_copy(update={"bootstrap": bootstrap})
        asyncio.run(ensure_topics(settings, Topics(settings.namespace).layout(settings.partitions)))
        self.timings["broker"] = time.monotonic() - t0
        for part in self.parts:
            part.log = self.log_dir / f"{part.name}.log"
            part.log.write_bytes(b"")
            part.proc = procs.spawn(part.argv, part.log, self.env)
        self.timings["spawned"] = time.monotonic() - t0

    def wait_web(self, timeout: float = 60.0) -> None:
        t0 = time.monotonic()
        procs.wait_for(lambda: self.check_alive() and self.health() is not None, timeout, 0.2, "web server")
        self.timings["web"] = time.monotonic() - t0

    def wait_live(self, areas: list[str], timeout: float = 60.0) -> None:
        """Wait until the wall holds live values for every area."""

        def live() -> bool:
            self.check_alive()
            health = self.health() or {}
            return all(health.get("areas", {}).get(a, 0) > 0 for a in areas)

        procs.wait_for(live, timeout, 0.25, f"live data for {', '.join(areas)}")

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"{self.web_url}/health", timeout=1) as r:
                body: dict[str, Any] = orjson.loads(r.read())
                return body
        except (OSError, ValueError):
            return None

    def check_alive(self) -> bool:
        for part in self.parts:
            if part.proc is not None and part.proc.poll() is not None:
                raise StackError(f"{part.name} exited with code {part.proc.returncode}; see {part.log}")
        return True

    def watch(self, interval: float = 0.5, until: Callable[[], bool] = lambda: False) -> None:
        """Block while every part runs; raise StackError naming the first one that dies."""
        while not until():
            self.check_alive()
            time.sleep(interval)

    def memory_mb(self) -> dict[str, float]:
        rows = {p.name: procs.rss_mb(p.proc.pid) for p in self.parts if p.proc is not None}
        if self.broker is not None and self.broker.proc is not None:
            rows["broker"] = procs.rss_mb(self.broker.proc.pid)
        return rows

    def stop(self) -> None:
        for part in reversed(self.parts):
            if part.proc is not None:
                procs.stop(part.proc, timeout=15)
        if self.broker is not None:
            self.broker.stop()
