"""The audit: every operator action with the token's name and role and the client's address."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "operator_actions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("alert_id", sa.String(300), nullable=False, index=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("by", sa.String(128), nullable=False, index=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("sent_at", sa.BigInteger, nullable=False, index=True),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("assignee", sa.String(128)),
    )


def downgrade() -> None:
    op.drop_table("operator_actions")
