"""Fixtures: one real embedded broker per test session and the services (worker, web) of a test on it, all
started and stopped by the project's own code (ioc.ops.broker, ioc.ops.stack)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ioc.ops import procs
from ioc.ops.broker import EmbeddedBroker
from tests.support.artifacts import ARTIFACTS
from tests.support.stack import StartServices, services_on


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    with EmbeddedBroker("127.0.0.1", procs.free_port(), log) as b:
        yield b


@pytest.fixture
def start_services(broker: EmbeddedBroker, tmp_path: Path) -> Iterator[StartServices]:
    """`start_services(namespace, "worker", "web", **settings)`: running, stopped after the test."""
    with services_on(broker, tmp_path) as start:
        yield start


@pytest.fixture(scope="module")
def start_module_services(
    broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StartServices]:
    """As `start_services`, for a module's fixtures: stopped after the module."""
    with services_on(broker, tmp_path_factory.mktemp("services")) as start:
        yield start


@pytest.fixture(scope="session")
def artifacts() -> str:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return str(ARTIFACTS)
