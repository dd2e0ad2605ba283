"""Chaos cases against real processes: a real broker, a real worker and wall, devices on confluent-kafka.
Each case adds a row (inputs tried, faults injected, valid readings sent and lost) to a summary printed at
the end of the run and written to tests/artifacts/chaos-summary.md; lost must be 0 in every row."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from ioc.ops.broker import EmbeddedBroker
from ioc.settings import Settings
from tests.support.artifacts import ARTIFACTS
from tests.support.stack import Services, StartServices, unique_namespace
from tests.support.wall import metric


@dataclass
class Row:
    case: str
    inputs: str
    faults: str
    sent: int
    accepted: int

    @property
    def lost(self) -> int:
        return self.sent - self.accepted


ROWS: list[Row] = []


def record(case: str, inputs: str, faults: str, sent: int, accepted: int) -> None:
    """A row of the summary; the caller asserts nothing was lost after recording it, so a failing case
    still shows its figures."""
    ROWS.append(Row(case, inputs, faults, sent, accepted))


def summary() -> str:
    lines = [
        "| case | inputs tried | faults injected | valid readings sent | lost |",
        "|---|---|---|---|---|",
        *(f"| {r.case} | {r.inputs} | {r.faults} | {r.sent:,} | {r.lost:,} |" for r in ROWS),
    ]
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if ROWS:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "chaos-summary.md").write_text(summary() + "\n")
        terminalreporter.write_sep("=", "chaos summary (tests/artifacts/chaos-summary.md)")
        terminalreporter.write_line(summary())


@dataclass
class Stack:
    """A worker and a wall on the session's broker, in a namespace of their own."""

    broker: EmbeddedBroker
    services: Services

    @property
    def env(self) -> dict[str, str]:
        return self.services.env

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def worker_port(self) -> str:
        return str(self.services.port("worker"))

    @property
    def web(self) -> str:
        return self.services.url("web")

    def accepted(self, domain: str) -> float:
        return metric(self.worker_port, "ioc_readings_accepted_total", domain=domain)

    def letters(self, reason: str, domain: str | None = None) -> float:
        labels = {"reason": reason, **({"domain": domain} if domain else {})}
        return metric(self.worker_port, "ioc_deadletter_total", **labels)

    def refused_readings(self, reason: str) -> float:
        return metric(self.worker_port, "ioc_deadletter_readings_total", reason=reason)

    def health(self) -> dict[str, Any]:
        """/health's body, also when it is red (503): a restarted worker is missed for a few seconds."""
        try:
            with urllib.request.urlopen(f"{self.web}/health", timeout=2) as r:
                body: dict[str, Any] = orjson.loads(r.read())
        except urllib.error.HTTPError as err:
            body = orjson.loads(err.read())
        return body

    def restart_worker(self) -> None:
        """A clean stop (its last checkpoints written) and a fresh worker process."""
        self.services.stop("worker")
        self.services.start("worker", "worker")
        self.services.wait_ready("worker")


@pytest.fixture(scope="module")
def stack(broker: EmbeddedBroker, start_module_services: StartServices) -> Iterator[Stack]:
    services = start_module_services(
        unique_namespace("chaos"),
        "worker",
        "web",
        checkpoint_interval_s=0.5,
        feed_stale_s=4,
        heartbeat_interval_s=0.5,
    )
    yield Stack(broker, services)
    services.assert_running()
    for name in ("worker", "web"):
        assert "Traceback" not in services.log(name), services.log(name)[-4000:]
