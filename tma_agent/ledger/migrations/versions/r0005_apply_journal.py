"""The apply journal: one row per apply, deploy or playbook run, with its facts and steps.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

_STATES = ("running", "succeeded", "failed", "rolled_back", "recovered")


def upgrade() -> None:
    op.create_table(
        "apply_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("env", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("playbook", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                *_STATES, name="apply_state", native_enum=False, create_constraint=True, length=20
            ),
            nullable=False,
        ),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("pid_file", sa.String(length=500), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name=op.f("fk_apply_runs_request_id_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apply_runs")),
    )
    for column in ("site", "request_id", "state"):
        op.create_index(op.f(f"ix_apply_runs_{column}"), "apply_runs", [column])


def downgrade() -> None:
    for column in ("site", "request_id", "state"):
        op.drop_index(op.f(f"ix_apply_runs_{column}"), table_name="apply_runs")
    op.drop_table("apply_runs")
