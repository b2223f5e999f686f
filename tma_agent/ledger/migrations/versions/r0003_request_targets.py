"""Requests keep their targets, a revision and the ticket's last status; outbox items when sent.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # batch mode: SQLite cannot add NOT NULL columns in place; the server defaults fill the
    # rows already there.
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("targets", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("ticket_status", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("ticket_url", sa.String(length=500), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("sent_at")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("ticket_url")
        batch.drop_column("ticket_status")
        batch.drop_column("revision")
        batch.drop_column("targets")
