"""Alembic environment: migrations run on the connection `storage.engine.migrate` hands over."""

from __future__ import annotations

from alembic import context

from storage.models import Base, not_managed

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite can only ALTER through batch table copies
    compare_type=True,
    include_name=not_managed,  # the full-text index and its shadow tables are not models
)
with context.begin_transaction():
    context.run_migrations()
