"""Indexes for the shift handover report: it selects transitions by when they were recorded and KPI minutes
by minute, across every alert and area (without them each report reads both tables whole)."""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_index("ix_alert_events_recorded_at", "alert_events", ["recorded_at"])
    op.create_index("ix_kpi_minutes_minute", "kpi_minutes", ["minute"])


def downgrade() -> None:
    op.drop_index("ix_kpi_minutes_minute", "kpi_minutes")
    op.drop_index("ix_alert_events_recorded_at", "alert_events")
