"""Actions spaced out for every `tma serve` on the ledger (the dashboard's "sync now").

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "throttles",
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_throttles")),
    )


def downgrade() -> None:
    op.drop_table("throttles")
