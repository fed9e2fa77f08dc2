"""Alembic environment: runs on the engine handed over by ``hub.storage.migrations`` (online
only)."""

from __future__ import annotations

from alembic import context

from hub.storage.tables import metadata

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    # transactional_ddl: our SQLite connections emit their own BEGIN, so a failed migration
    # rolls back entirely on SQLite as it does on PostgreSQL.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      compare_type=True, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()
