"""Fixtures: one real embedded broker per test session, started and stopped by the project's own code."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ioc.ops import procs
from ioc.ops.broker import EmbeddedBroker
from tests.helpers import ARTIFACTS


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    with EmbeddedBroker("127.0.0.1", procs.free_port(), log) as b:
        yield b


@pytest.fixture(scope="session")
def artifacts() -> str:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return str(ARTIFACTS)
