"""What an apply or a deploy does to its maintenance request: which request it is, its state
moves (`in_staging`, `tested`, `in_production`) with who and where, the note that reaches the
ticket through the outbox, and the client's validation that production work needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tma_agent.errors import TmaError
from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import Kind, OutboxItem, OutboxState, Request, RequestEvent, WorkState
from tma_agent.tickets._types import TicketDraft
from tma_agent.tickets.reconcile import AGENT, OPEN_STATES

if TYPE_CHECKING:
    from tma_agent.apply.running import Execution
    from tma_agent.config import Config

__all__ = [
    "NotValidated",
    "add_note",
    "files_of",
    "move_request",
    "pick_request",
    "require_validation",
]


class NotValidated(TmaError):
    """Production work on a request the client has not validated (exit 6)."""

    exit_code = 6


def pick_request(session: Session, site_id: str, reference: str | None) -> Request | None:
    """`--request REF` (which must be this site's and open), else the site's newest open
    request opened by the checks; None when the site has none."""
    if reference is not None:
        from tma_agent.tickets.lookup import find_request

        request = find_request(session, reference)
        if request.site != site_id:
            raise TmaError(f"request #{request.id} is about site {request.site!r}, not {site_id!r}")
        if request.state not in OPEN_STATES:
            raise TmaError(f"request #{request.id} is {request.state.value}: nothing to apply")
        return request
    return session.scalar(
        select(Request)
        .where(
            Request.site == site_id,
            Request.state.in_(OPEN_STATES),
            Request.kind == Kind.PREVENTIVE,
            Request.group_key.not_like("manual:%"),
        )
        .order_by(Request.id.desc())
        .limit(1)
    )


def move_request(
    session: Session,
    request: Request,
    states: Sequence[WorkState],
    note: str,
    *,
    key: str,
    actor: str = AGENT,
    files: Mapping[str, Any] | None = None,
) -> None:
    """Move `request` through `states` in order (one event each) and queue one ticket update
    carrying `note` (and `files`, see `add_note`); `key` makes the write happen once however
    often this is retried."""
    for to in states:
        if request.state == to:
            continue
        request.events.append(
            RequestEvent(from_state=request.state, to_state=to, actor=actor, source="agent")
        )
        request.state = to
    add_note(session, request, note, key=key, files=files)


def add_note(
    session: Session,
    request: Request,
    note: str,
    *,
    key: str,
    files: Mapping[str, Any] | None = None,
) -> None:
    """Queue `note` as a comment on the request's ticket (an `update` of its fields as they
    are, which every backend takes; an `attach` when `files`, from `files_of`, name any).
    Queued once per `key`."""
    if session.scalar(select(OutboxItem.id).where(OutboxItem.idempotency_key == key)):
        return
    request.revision += 1
    payload: dict[str, Any] = {"draft": _current_draft(session, request), "note": note}
    if files and files.get("files"):
        payload.update(files)
    session.add(
        OutboxItem(
            request_id=request.id,
            operation="attach" if "files" in payload else "update",
            payload=payload,
            idempotency_key=key,
            state=OutboxState.QUEUED,
        )
    )


def files_of(config: Config, request: Request, execution: Execution) -> dict[str, Any]:
    """The run's attachments (a visual check's images), by reference, for `add_note`; read
    when the note is sent, up to the client's `tickets.attachments.max_bytes`."""
    from tma_agent.tickets.files import files_payload
    from tma_agent.tickets.registry import ticket_target
    from tma_agent.tickets.settings import AttachmentSettings

    attachments = execution.ctx.attachments
    if not attachments:
        return {}
    raw = ticket_target(config, request.client).raw.get("attachments")
    limit = AttachmentSettings.model_validate(raw or {}).max_bytes
    return files_payload(
        config.state_path / "applies",
        [(a.label, a.path) for a in attachments],
        max_bytes=limit,
        site=request.site,
        journal_id=execution.journal_id,
        base_url=config.web.base_url,
    )


def _current_draft(session: Session, request: Request) -> dict[str, Any]:
    """The ticket's fields as last written (labels included), else rebuilt from the request."""
    last = session.scalar(
        select(OutboxItem)
        .where(
            OutboxItem.request_id == request.id,
            OutboxItem.operation.in_(("create", "update", "attach")),
        )
        .order_by(OutboxItem.id.desc())
        .limit(1)
    )
    if last is not None and isinstance(last.payload.get("draft"), dict):
        return dict(last.payload["draft"])
    draft = TicketDraft(
        fingerprint=request.fingerprint,
        title=request.title,
        description=request.description,
        site=request.site,
        client=request.client,
        kind=request.kind.value,
        priority=request.priority,  # type: ignore[arg-type]
        estimate_minutes=max(request.estimate_minutes, 60),
    )
    return asdict(draft)


def require_validation(ledger: Ledger, request_id: int, sync: Any | None = None) -> str:
    """Who validated the request, read live from the ticket system first when its backend
    can express a validation (`sync`: a callable syncing this site's requests); else
    `NotValidated`."""
    with ledger.session() as session:
        request = session.get(Request, request_id)
        if request is None:
            raise TmaError(f"no request #{request_id}")
        site = request.site
    errors: list[str] = []
    if sync is not None:
        errors = list(sync(site))
    with ledger.session() as session:
        request = session.get(Request, request_id)
        if request is None:  # deleted meanwhile: nothing can have validated it
            raise TmaError(f"no request #{request_id}")
        if request.validations:
            first = request.validations[0]
            return (
                f"{first.validated_by} ({first.source}, {first.at.isoformat(timespec='seconds')})"
            )
        seen = f"; the ticket system could not be read: {errors[0]}" if errors else ""
        raise NotValidated(
            f"request #{request.id} {request.fingerprint} is not validated by the client: "
            f"production is refused (tma requests validate {request.id} --by NAME, or the "
            f"ticket's validated status){seen}"
        )
