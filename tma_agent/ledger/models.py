"""The ledger's tables as typed SQLAlchemy 2 models.

Durations are integer minutes (never floats); times are timezone-aware UTC. The schema itself is
made by the Alembic migrations in `tma_agent.ledger.migrations`; a test checks they agree.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "ApplyRun",
    "ApplyState",
    "Base",
    "BucketAlert",
    "Intervention",
    "Kind",
    "Lease",
    "LoginFailure",
    "MonthValidation",
    "OutboxItem",
    "OutboxState",
    "Request",
    "RequestEvent",
    "Run",
    "Throttle",
    "UTCDateTime",
    "Validation",
    "WorkState",
    "utcnow",
]

# Named constraints: Alembic can then alter or drop them the same way on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every database: SQLite keeps no
    zone and would hand back naive values that cannot be compared with `utcnow()`."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the ledger (use UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime(), date: Date()}


class Kind(enum.StrEnum):
    PREVENTIVE = "preventive"
    CORRECTIVE = "corrective"
    EVOLUTIVE = "evolutive"


class WorkState(enum.StrEnum):
    NEW = "new"
    ESTIMATED = "estimated"
    IN_STAGING = "in_staging"
    TESTED = "tested"
    IN_PRODUCTION = "in_production"
    CLOSED = "closed"
    REJECTED = "rejected"


class ApplyState(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    #: Found `running` with its holder gone (a SIGKILL): cleaned up by a later run.
    RECOVERED = "recovered"


class OutboxState(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DONE = "done"
    PARKED = "parked"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as the values (what users and tickets see), checked by a CHECK constraint rather
    # than a PostgreSQL ENUM type: adding a state later is then a plain migration on both.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
    )


class Request(Base):
    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Never changes for the life of the request (site + group); stored in the ticket too.
    fingerprint: Mapped[str] = mapped_column(String(200), unique=True)
    site: Mapped[str] = mapped_column(String(200), index=True)
    client: Mapped[str] = mapped_column(String(200), index=True)
    group_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[Kind] = mapped_column(_enum(Kind, "kind"))
    priority: Mapped[str] = mapped_column(String(20))
    estimate_minutes: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    #: Components, target versions and advisory ids: says whether something changed.
    target_digest: Mapped[str] = mapped_column(String(64))
    #: What the request asks for: each component, installed, target version and advisories.
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: Bumped on every change written to the ticket (outbox keys: `update:<fp>:<revision>`).
    revision: Mapped[int] = mapped_column(default=0)
    state: Mapped[WorkState] = mapped_column(_enum(WorkState, "work_state"), index=True)
    ticket_backend: Mapped[str | None] = mapped_column(String(50))
    ticket_ref: Mapped[str | None] = mapped_column(String(200))
    #: The ticket's status name as last read back (`tma requests sync`, every run).
    ticket_status: Mapped[str | None] = mapped_column(String(100))
    ticket_url: Mapped[str | None] = mapped_column(String(500))
    #: The closed or rejected request this one follows (a strictly newer target appeared).
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    previous: Mapped[Request | None] = relationship(remote_side=[id])
    events: Mapped[list[RequestEvent]] = relationship(
        back_populates="request", order_by="RequestEvent.id"
    )
    validations: Mapped[list[Validation]] = relationship(back_populates="request")


class RequestEvent(Base):
    """One change of a request's work state: from, to, who, when and where it was seen."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    from_state: Mapped[WorkState | None] = mapped_column(_enum(WorkState, "from_state"))
    to_state: Mapped[WorkState] = mapped_column(_enum(WorkState, "to_state"))
    actor: Mapped[str] = mapped_column(String(200))
    #: Where the change came from: `agent`, `cli`, the ticket backend's name, `portal`.
    source: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[Request] = relationship(back_populates="events")


class Validation(Base):
    """The client's go-ahead for a request: production work always needs one."""

    __tablename__ = "validations"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    validated_by: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[Request] = relationship(back_populates="validations")


class OutboxItem(Base):
    """A ticket write, recorded before it is sent and marked done once the answer is stored."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The request the write is about; None for a time entry of an intervention without one.
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    #: The intervention a time-entry write is about (`time_create`, `time_update`, `time_delete`).
    intervention_id: Mapped[int | None] = mapped_column(ForeignKey("interventions.id"), index=True)
    operation: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column()
    #: The same write asked twice is one row: re-runs never queue a duplicate.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[OutboxState] = mapped_column(_enum(OutboxState, "outbox_state"), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_answer: Mapped[str | None] = mapped_column(Text)
    #: When it was last handed to the ticket system (its answer may have been lost since).
    sent_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    summary: Mapped[dict[str, Any] | None] = mapped_column()


class Lease(Base):
    """A named lock held until `expires_at` unless its holder renews it (`heartbeat_at`)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column()
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginFailure(Base):
    """A failed log-in to `tma serve`, counted by every server on the ledger (several
    workers, a restart); rows older than the window are pruned (`tma_agent.web.limits`)."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: HMAC-SHA256 (`web.secret_key`) of `address:IP` or `account:NAME`: a password typed in
    #: the name field is not kept readable.
    key: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Throttle(Base):
    """When an action spaced out for everyone on the ledger (the dashboard's "sync now", per
    scope) last ran: every `tma serve` on the ledger waits the same (`tma_agent.web.limits`)."""

    __tablename__ = "throttles"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_at: Mapped[datetime] = mapped_column()


class Intervention(Base):
    """One piece of billable work on a site: recorded by `tma_agent.billing.record_intervention`
    (an apply, a deploy, a playbook run, `tma time log`). Minutes are integers; `month` is the
    `spent_on` month in the configured timezone, the unit a client validates."""

    __tablename__ = "interventions"

    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(String(200), index=True)
    site: Mapped[str] = mapped_column(String(200), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    kind: Mapped[Kind] = mapped_column(_enum(Kind, "kind"))
    #: What did the work: `apply`, `deploy`, `playbook`, `manual` (a developer's `tma time log`).
    action: Mapped[str] = mapped_column(String(50))
    stack: Mapped[str | None] = mapped_column(String(50))
    #: The most urgent update kind an apply handled (for flat billing rules).
    update_kind: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    #: Who did it: `tma-agent` or a developer's name.
    actor: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    measured_minutes: Mapped[int] = mapped_column(Integer)
    billed_minutes: Mapped[int] = mapped_column(Integer)
    spent_on: Mapped[date] = mapped_column()
    month: Mapped[str] = mapped_column(String(7), index=True)
    #: Set on a correction recorded in an open month for an entry of a validated one.
    adjusts_id: Mapped[int | None] = mapped_column(ForeignKey("interventions.id"))
    #: `tma time delete` in an open month: kept (its time entry must be removed too), not shown.
    deleted_at: Mapped[datetime | None] = mapped_column()
    #: The ticket system's time entry, once the outbox has written it.
    time_entry_backend: Mapped[str | None] = mapped_column(String(50))
    time_entry_ref: Mapped[str | None] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    request: Mapped[Request | None] = relationship()


class MonthValidation(Base):
    """A client's validation of a month's report: who, when, the checksum of its entries and
    everything the report needs, frozen (a later config change cannot alter it)."""

    __tablename__ = "month_validations"
    __table_args__ = (UniqueConstraint("client", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(String(200))
    month: Mapped[str] = mapped_column(String(7))
    validated_by: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: sha256 of the month's entries as validated.
    checksum: Mapped[str] = mapped_column(String(64))
    #: The report's data as validated: entries, totals, contract terms, rates, client name.
    frozen: Mapped[dict[str, Any]] = mapped_column()


class BucketAlert(Base):
    """A bucket threshold (80 %, 100 %) reached in a period: each is raised once per period."""

    __tablename__ = "bucket_alerts"
    __table_args__ = (UniqueConstraint("client", "period_start", "threshold"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[date] = mapped_column()
    threshold: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ApplyRun(Base):
    """The journal of one apply, deploy or playbook run on a site: written when it starts and
    after every step, so that a run killed in the middle leaves what a later one needs to
    undo it (the facts: starting commit, backup paths, maintenance on) and who held it."""

    __tablename__ = "apply_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = mapped_column(String(200), index=True)
    env: Mapped[str] = mapped_column(String(100))
    #: `apply`, `deploy` or `playbook` (a `tma playbook run`).
    action: Mapped[str] = mapped_column(String(20))
    playbook: Mapped[str] = mapped_column(String(200))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    state: Mapped[ApplyState] = mapped_column(_enum(ApplyState, "apply_state"), index=True)
    #: What the steps learnt, JSON-able (`git.start`, `db.backup`, `maintenance`...).
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: What a later recovery needs to run `on_failure` again: the playbook's path, the run's
    #: stamp (backup directory, pid file), the stack and the variables as resolved.
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: One entry per step run: index, step, title, status, phase, error, commands.
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: `host:pid` of the process running it: a `running` row whose holder is gone was killed.
    holder: Mapped[str] = mapped_column(String(200))
    #: On the site's host: the file holding the pid of the command running there now.
    pid_file: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()
