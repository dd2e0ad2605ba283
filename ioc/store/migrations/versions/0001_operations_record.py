"""The operations record: alerts, their transitions, KPI minutes, dead letters, the historian's positions."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("rule", sa.String(64), nullable=False, index=True),
        sa.Column("entity", sa.String(128), nullable=False, index=True),
        sa.Column("area", sa.String(32), index=True),
        sa.Column("domain", sa.String(32), index=True),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("sub_category", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("assignee", sa.String(128)),
        sa.Column("escalations", sa.Integer, nullable=False),
        sa.Column("raised_at", sa.BigInteger, nullable=False, index=True),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("transitions", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.BigInteger, nullable=False, index=True),
    )
    op.create_table(
        "alert_events",
        sa.Column("alert_id", sa.String(300), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False, index=True),
        sa.Column("recorded_at", sa.BigInteger, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("severity", sa.String(16)),
        sa.Column("assignee", sa.String(128)),
    )
    op.create_table(
        "kpi_minutes",
        sa.Column("area", sa.String(32), primary_key=True),
        sa.Column("kpi", sa.String(32), primary_key=True),
        sa.Column("minute", sa.BigInteger, primary_key=True),
        sa.Column("domain", sa.String(32), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("standing", sa.String(16)),
        sa.Column("entities", sa.Integer, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "dead_letters",
        sa.Column("cluster", sa.String(64), primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True),
        sa.Column("offset", sa.BigInteger, primary_key=True),
        sa.Column("domain", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("minute", sa.BigInteger, nullable=False, index=True),
    )
    op.create_table(
        "positions",
        sa.Column("cluster", sa.String(64), primary_key=True),
        sa.Column("topic", sa.String(255), primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True),
        sa.Column("next_offset", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("positions", "dead_letters", "kpi_minutes", "alert_events", "alerts"):
        op.drop_table(table)
