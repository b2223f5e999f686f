"""Interventions (billable time), month validations and bucket alerts; outbox items may be
about an intervention's time entry instead of a request.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_KINDS = ("preventive", "corrective", "evolutive")


def upgrade() -> None:
    op.create_table(
        "interventions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=200), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(*_KINDS, name="kind", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("stack", sa.String(length=50), nullable=True),
        sa.Column("update_kind", sa.String(length=20), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("measured_minutes", sa.Integer(), nullable=False),
        sa.Column("billed_minutes", sa.Integer(), nullable=False),
        sa.Column("spent_on", sa.Date(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("adjusts_id", sa.Integer(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("time_entry_backend", sa.String(length=50), nullable=True),
        sa.Column("time_entry_ref", sa.String(length=200), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["adjusts_id"],
            ["interventions.id"],
            name=op.f("fk_interventions_adjusts_id_interventions"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name=op.f("fk_interventions_request_id_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interventions")),
    )
    for column in ("client", "site", "request_id", "month"):
        op.create_index(op.f(f"ix_interventions_{column}"), "interventions", [column])
    op.create_table(
        "month_validations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=200), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("validated_by", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("frozen", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_month_validations")),
        sa.UniqueConstraint("client", "month", name=op.f("uq_month_validations_client")),
    )
    op.create_table(
        "bucket_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=200), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bucket_alerts")),
        sa.UniqueConstraint(
            "client", "period_start", "threshold", name=op.f("uq_bucket_alerts_client")
        ),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("request_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("intervention_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_outbox_intervention_id"), ["intervention_id"])
        batch.create_foreign_key(
            batch.f("fk_outbox_intervention_id_interventions"),
            "interventions",
            ["intervention_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(
            batch.f("fk_outbox_intervention_id_interventions"), type_="foreignkey"
        )
        batch.drop_index(batch.f("ix_outbox_intervention_id"))
        batch.drop_column("intervention_id")
        batch.alter_column("request_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("bucket_alerts")
    op.drop_table("month_validations")
    for column in ("client", "site", "request_id", "month"):
        op.drop_index(op.f(f"ix_interventions_{column}"), table_name="interventions")
    op.drop_table("interventions")
