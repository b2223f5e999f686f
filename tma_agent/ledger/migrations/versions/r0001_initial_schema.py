"""Initial schema: requests, their history and validations, the ticket outbox.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# The values as this revision knew them: a later state is added by a later migration.
WORK_STATES = ("new", "estimated", "in_staging", "tested", "in_production", "closed", "rejected")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def _at(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("client", sa.String(length=200), nullable=False),
        sa.Column("group_key", sa.String(length=200), nullable=False),
        sa.Column("kind", _enum("kind", "preventive", "corrective", "evolutive"), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("estimate_minutes", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("target_digest", sa.String(length=64), nullable=False),
        sa.Column("state", _enum("work_state", *WORK_STATES), nullable=False),
        sa.Column("ticket_backend", sa.String(length=50), nullable=True),
        sa.Column("ticket_ref", sa.String(length=200), nullable=True),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        sa.ForeignKeyConstraint(
            ["previous_id"], ["requests.id"], name=op.f("fk_requests_previous_id_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_requests_fingerprint")),
    )
    for column in ("client", "site", "state"):
        op.create_index(op.f(f"ix_requests_{column}"), "requests", [column])

    op.create_table(
        "request_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("from_state", _enum("from_state", *WORK_STATES), nullable=True),
        sa.Column("to_state", _enum("to_state", *WORK_STATES), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        _at("at"),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name=op.f("fk_request_events_request_id_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_events")),
    )
    op.create_index(op.f("ix_request_events_request_id"), "request_events", ["request_id"])

    op.create_table(
        "validations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("validated_by", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        _at("at"),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name=op.f("fk_validations_request_id_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validations")),
    )
    op.create_index(op.f("ix_validations_request_id"), "validations", ["request_id"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(length=50), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column(
            "state", _enum("outbox_state", "queued", "sent", "done", "parked"), nullable=False
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_answer", sa.Text(), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name=op.f("fk_outbox_request_id_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index(op.f("ix_outbox_request_id"), "outbox", ["request_id"])
    op.create_index(op.f("ix_outbox_state"), "outbox", ["state"])


def downgrade() -> None:
    for table in ("outbox", "validations", "request_events", "requests"):
        op.drop_table(table)
