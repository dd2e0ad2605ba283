"""Alembic environment: migrations run on the connection ioc.store.database hands over."""

from __future__ import annotations

from alembic import context

from ioc.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
