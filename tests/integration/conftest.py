"""Fixtures of the integration tests that need a database: one real PostgreSQL per session (Debian's
binaries, tests/support/postgres.py), and `database`, which runs a test on a SQLite file and on it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from ioc.store import schema
from ioc.store.database import migrate, open_engine
from tests.support.postgres import postgres_cluster


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'ioc.db'}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_reset(url))
    return url


async def _reset(url: str) -> None:
    engine = open_engine(url)
    await migrate(engine)
    async with engine.begin() as c:
        for table in reversed(schema.metadata.sorted_tables):
            await c.execute(table.delete())
    await engine.dispose()
