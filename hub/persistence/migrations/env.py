"""Alembic environment: runs migrations on the connection the hub hands over."""

from __future__ import annotations

from alembic import context

from hub.persistence.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - the hub always passes a connection
    raise RuntimeError("run migrations through hub.persistence.migrate")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
