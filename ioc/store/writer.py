"""Writing rows and the reader's positions in one transaction, as upserts on each table's unique key: the
same records read twice leave the same rows, and a crash leaves either both the rows and the positions or
neither."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ioc.contract.documents import AlertStatus
from ioc.store.rows import Rows
from ioc.store.schema import alert_events, alerts, dead_letters, kpi_minutes, operator_actions, positions

Position = tuple[str, int]  # (topic, partition) on one cluster


def _insert(connection: AsyncConnection, table: Table) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


async def _upsert(
    connection: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]], update: Sequence[str] = (),
    only_if_not_less: str | None = None,
) -> None:  # fmt: skip
    """Insert `rows`; on a key already there, leave it (no `update`) or set `update`'s columns, when the new
    row's `only_if_not_less` column is not below the stored one."""
    if not rows:
        return
    stmt = _insert(connection, table)
    keys = [c.name for c in table.primary_key.columns]
    if not update:
        await connection.execute(stmt.on_conflict_do_nothing(index_elements=keys), list(rows))
        return
    where = None
    if only_if_not_less is not None:
        where = getattr(stmt.excluded, only_if_not_less) >= table.c[only_if_not_less]
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={c: getattr(stmt.excluded, c) for c in update}, where=where
    )
    await connection.execute(stmt, list(rows))


async def write(engine: AsyncEngine, rows: Rows, cluster: str, read_to: Mapping[Position, int]) -> None:
    """The batch's rows and the next offset of every partition it came from (on `cluster`), together."""
    alert_columns = [c.name for c in alerts.columns if c.name != "id"]
    kpi_columns = [c.name for c in kpi_minutes.columns if c.name not in ("area", "kpi", "minute")]
    async with engine.begin() as connection:
        await _upsert(connection, alerts, list(rows.alerts.values()), alert_columns, "transitions")
        await _upsert(connection, alert_events, list(rows.alert_events.values()))
        await _upsert(connection, kpi_minutes, list(rows.kpi_minutes.values()), kpi_columns, "at")
        await _upsert(connection, dead_letters, list(rows.dead_letters.values()))
        await _upsert(connection, operator_actions, list(rows.operator_actions.values()))
        places = [
            {"cluster": cluster, "topic": t, "partition": p, "next_offset": o}
            for (t, p), o in read_to.items()
        ]
        await _upsert(connection, positions, places, ["next_offset"])


async def read_positions(engine: AsyncEngine, cluster: str, topics: Sequence[str]) -> dict[Position, int]:
    """Where the historian goes on from: the next offset of each partition of `cluster` it has written rows
    for (none on a new cluster: a restarted memory broker is read from its start)."""
    async with engine.connect() as connection:
        where = (positions.c.cluster == cluster) & positions.c.topic.in_(list(topics))
        found = await connection.execute(select(positions).where(where))
        return {(r.topic, r.partition): r.next_offset for r in found}


async def prune(engine: AsyncEngine, before_ms: int) -> dict[str, int]:
    """Drop what was recorded before `before_ms` (wall-clock ms; a replay of last year's storm is kept as
    long as one of today's), open alerts and the actions on them excepted; rows deleted per table."""
    old_resolved = (alerts.c.status == AlertStatus.RESOLVED) & (alerts.c.recorded_at < before_ms)
    still_open = select(alerts.c.id).where(alerts.c.status != AlertStatus.RESOLVED)
    deletes = {
        "operator_actions": delete(operator_actions).where(
            (operator_actions.c.sent_at < before_ms) & operator_actions.c.alert_id.not_in(still_open)
        ),
        "alert_events": delete(alert_events).where(
            alert_events.c.alert_id.in_(select(alerts.c.id).where(old_resolved))
        ),
        "alerts": delete(alerts).where(old_resolved),
        "kpi_minutes": delete(kpi_minutes).where(kpi_minutes.c.minute < before_ms),
        "dead_letters": delete(dead_letters).where(dead_letters.c.minute < before_ms),
    }
    counts: dict[str, int] = {}
    async with engine.begin() as connection:
        for table, stmt in deletes.items():  # events before their alerts: the subquery still finds them
            counts[table] = (await connection.execute(stmt)).rowcount
    return counts
