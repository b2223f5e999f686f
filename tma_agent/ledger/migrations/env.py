"""Alembic's entry point: always given an open connection by `tma_agent.ledger.migrate`."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from tma_agent.ledger.models import Base, UTCDateTime

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "the ledger migrations run through tma_agent.ledger.migrate, with a connection"
    )


def _render_item(kind: str, obj: Any, _autogen: AutogenContext) -> str | Literal[False]:
    # Migrations stay free of the models' Python types: UTC handling is done in Python, the
    # column itself is a plain zoned timestamp.
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite alters a table by copying it; batch mode lets later migrations do that portably.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=_render_item,
)
with context.begin_transaction():
    context.run_migrations()
