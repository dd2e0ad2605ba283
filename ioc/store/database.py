"""Opening the operations record: its URL from the settings (a SQLite file under IOC_DATA_DIR unless
IOC_DATABASE_URL names another database), an async engine, and the Alembic migrations up to the newest."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ioc.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def database_url(settings: Settings, make_dir: bool = True) -> str:
    """IOC_DATABASE_URL, else the SQLite file in IOC_DATA_DIR (made unless `make_dir` is False: a reader)."""
    if settings.database_url:
        return settings.database_url
    if make_dir:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{(settings.data_dir / 'ioc.db').resolve()}"


def open_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        # WAL: the wall reads while the historian writes; a writer waits instead of failing at once.
        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

    return engine


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (nothing to do when it is there already)."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
