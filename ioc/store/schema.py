"""The operations record's tables (SQLAlchemy Core). Every row has a natural unique key, so reading the
same records again changes nothing; `positions` holds how far the historian has read each partition, written
in the same transaction as the rows it produced."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Integer, MetaData, String, Table, Text

metadata = MetaData()

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(300), primary_key=True),  # <rule>:<entity>:<condition first seen>
    Column("rule", String(64), nullable=False, index=True),
    Column("entity", String(128), nullable=False, index=True),
    Column("area", String(32), index=True),
    Column("domain", String(32), index=True),
    Column("category", String(64), nullable=False),
    Column("sub_category", String(64), nullable=False),
    Column("severity", String(16), nullable=False, index=True),
    Column("status", String(16), nullable=False, index=True),
    Column("assignee", String(128)),
    Column("escalations", Integer, nullable=False),
    Column("raised_at", BigInteger, nullable=False, index=True),  # simulated ms (dateIssued)
    Column("updated_at", BigInteger, nullable=False),  # simulated ms of the latest transition
    Column("transitions", Integer, nullable=False),  # the longest history seen wins
    Column("recorded_at", BigInteger, nullable=False, index=True),  # wall-clock ms of that document
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("alert_id", String(300), primary_key=True),
    Column("seq", Integer, primary_key=True),  # the transition's place in the alert's history
    Column("action", String(32), nullable=False),
    Column("by", String(128), nullable=False),
    Column("at", BigInteger, nullable=False, index=True),  # event time (simulated ms)
    Column("recorded_at", BigInteger, nullable=False, index=True),  # wall-clock ms the document was published
    Column("comment", Text, nullable=False),
    Column("severity", String(16)),
    Column("assignee", String(128)),
)

kpi_minutes = Table(
    "kpi_minutes",
    metadata,
    Column("area", String(32), primary_key=True),
    Column("kpi", String(32), primary_key=True),
    Column("minute", BigInteger, primary_key=True, index=True),  # wall-clock ms at the start of the minute
    Column("domain", String(32), nullable=False),
    Column("value", Float, nullable=False),  # the last value published in the minute
    Column("standing", String(16)),
    Column("entities", Integer, nullable=False),
    Column("at", BigInteger, nullable=False),  # when that last value was published
)

operator_actions = Table(
    "operator_actions",  # the audit: every action an operator sent, whether or not the alert allowed it
    metadata,
    Column("id", String(64), primary_key=True),
    Column("alert_id", String(300), nullable=False, index=True),
    Column("action", String(32), nullable=False),
    Column("by", String(128), nullable=False, index=True),
    Column("role", String(32), nullable=False),
    Column("source", String(64), nullable=False),
    Column("at", BigInteger, nullable=False),  # the IOC's simulated ms
    Column("sent_at", BigInteger, nullable=False, index=True),  # wall-clock ms the wall accepted it
    Column("comment", Text, nullable=False),
    Column("assignee", String(128)),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("cluster", String(64), primary_key=True),  # a restarted memory broker numbers from 0 again
    Column("partition", Integer, primary_key=True),  # of the dead-letter topic: one row per record
    Column("offset", BigInteger, primary_key=True),
    Column("domain", String(32), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("minute", BigInteger, nullable=False, index=True),
)

positions = Table(
    "positions",
    metadata,
    Column("cluster", String(64), primary_key=True),  # offsets mean something on one broker's cluster only
    Column("topic", String(255), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
)
