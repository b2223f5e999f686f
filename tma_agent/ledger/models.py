"""The ledger's tables as typed SQLAlchemy 2 models.

Durations are integer minutes (never floats); times are timezone-aware UTC. The schema itself is
made by the Alembic migrations in `tma_agent.ledger.migrations`; a test checks they agree.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Base",
    "Kind",
    "Lease",
    "OutboxItem",
    "OutboxState",
    "Request",
    "RequestEvent",
    "Run",
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
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime()}


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
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
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
