"""Alembic's entry point: always given an open connection by `tma_agent.ledger.migrate`."""

from __future__ import annotations

from alembic import context

from tma_agent.ledger.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "the ledger migrations run through tma_agent.ledger.migrate, with a connection"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite alters a table by copying it; batch mode lets later migrations do that portably.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
