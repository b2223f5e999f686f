"""What a successful check means for a site's requests (decide), and writing that decision to
the ledger with the ticket writes it needs queued in the outbox (record). `--dry-run` decides
and prints; only `record` writes, in the caller's unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from tma_agent.ledger.models import (
    Kind,
    OutboxItem,
    OutboxState,
    Request,
    RequestEvent,
    WorkState,
)
from tma_agent.tickets._types import TicketDraft
from tma_agent.tickets.describe import change_note, close_note, describe, title
from tma_agent.tickets.plan import PlannedRequest, Target, has_newer_target

__all__ = ["AGENT", "OPEN_STATES", "Decision", "decide", "draft_of", "record", "site_requests"]

AGENT = "tma-agent"
#: States in which the agent keeps a request in step with the checks.
OPEN_STATES = frozenset(
    {
        WorkState.NEW,
        WorkState.ESTIMATED,
        WorkState.IN_STAGING,
        WorkState.TESTED,
        WorkState.IN_PRODUCTION,
    }
)
Verb = Literal["create", "update", "unchanged", "close", "stays_closed"]


@dataclass(frozen=True)
class Decision:
    verb: Verb
    fingerprint: str
    site: str
    plan: PlannedRequest | None = None
    request: Request | None = None
    #: The closed or rejected request a new one follows.
    previous: Request | None = None
    note: str | None = None

    @property
    def state(self) -> str:
        if self.verb == "create":
            return WorkState.ESTIMATED.value
        if self.verb == "close":
            return WorkState.CLOSED.value
        return self.request.state.value if self.request is not None else "new"


def site_requests(session: Session, site: str) -> list[Request]:
    return list(session.scalars(select(Request).where(Request.site == site).order_by(Request.id)))


def decide(
    site: str, plans: Sequence[PlannedRequest], existing: Sequence[Request]
) -> list[Decision]:
    """Compare what the check asks for with the site's requests in the ledger."""
    latest: dict[str, Request] = {}
    for request in existing:  # ordered by id: the last of a group is its newest
        if request.kind is Kind.PREVENTIVE and not request.group_key.startswith("manual:"):
            latest[request.group_key] = request  # people's requests are not the checks' to close
    decisions = []
    for plan in plans:
        current = latest.get(plan.group)
        if current is None:
            decisions.append(Decision("create", plan.base_fingerprint, site, plan))
        elif current.state in OPEN_STATES:
            if current.target_digest == plan.digest:
                decisions.append(Decision("unchanged", current.fingerprint, site, plan, current))
            else:
                note = change_note(_targets(current), plan.targets)
                decisions.append(
                    Decision("update", current.fingerprint, site, plan, current, note=note)
                )
        elif has_newer_target(_targets(current), plan.targets):
            generation = sum(1 for r in existing if r.group_key == plan.group) + 1
            fingerprint = f"{plan.base_fingerprint}#{generation}"
            decisions.append(Decision("create", fingerprint, site, plan, previous=current))
        else:
            decisions.append(Decision("stays_closed", current.fingerprint, site, plan, current))
    planned = {p.group for p in plans}
    for group, request in latest.items():
        if group not in planned and request.state in OPEN_STATES:
            decisions.append(
                Decision("close", request.fingerprint, site, request=request, note=close_note())
            )
    return decisions


def _targets(request: Request) -> list[Target]:
    return [Target.from_dict(t) for t in request.targets or []]


def draft_of(
    plan: PlannedRequest,
    fingerprint: str,
    *,
    url: str | None,
    labels: Sequence[str],
    previous_ref: str | None,
) -> TicketDraft:
    return TicketDraft(
        fingerprint=fingerprint,
        title=title(plan),
        description=describe(plan, url=url, fingerprint=fingerprint, previous_ref=previous_ref),
        site=plan.site,
        client=plan.client,
        kind=plan.kind,
        priority=plan.priority,
        estimate_minutes=plan.estimate_minutes,
        labels=tuple(dict.fromkeys([*labels, *plan.labels])),
        previous_ref=previous_ref,
    )


def record(
    session: Session, decision: Decision, *, backend: str, url: str | None, labels: Sequence[str]
) -> Request | None:
    """Write one decision and queue its ticket write; the request it concerns."""
    plan, request = decision.plan, decision.request
    if decision.verb == "create" and plan is not None:
        previous_ref = decision.previous.ticket_ref if decision.previous else None
        draft = draft_of(
            plan, decision.fingerprint, url=url, labels=labels, previous_ref=previous_ref
        )
        request = Request(
            fingerprint=decision.fingerprint,
            site=plan.site,
            client=plan.client,
            group_key=plan.group,
            kind=Kind(plan.kind),
            priority=plan.priority,
            estimate_minutes=plan.estimate_minutes,
            title=draft.title,
            description=draft.description,
            target_digest=plan.digest,
            targets=[t.to_dict() for t in plan.targets],
            state=WorkState.ESTIMATED,
            ticket_backend=backend,
            previous=decision.previous,
        )
        request.events.append(
            RequestEvent(from_state=None, to_state=WorkState.ESTIMATED, actor=AGENT, source="agent")
        )
        session.add(request)
        session.flush()
        _queue(session, request, "create", f"create:{request.fingerprint}", draft, None)
        return request
    if request is None:
        return None
    if decision.verb == "update" and plan is not None:
        draft = draft_of(
            plan,
            request.fingerprint,
            url=url,
            labels=labels,
            previous_ref=request.previous.ticket_ref if request.previous else None,
        )
        request.title, request.description = draft.title, draft.description
        request.priority, request.estimate_minutes = plan.priority, plan.estimate_minutes
        request.target_digest = plan.digest
        request.targets = [t.to_dict() for t in plan.targets]
        request.revision += 1
        key = f"update:{request.fingerprint}:{request.revision}"
        _queue(session, request, "update", key, draft, decision.note)
    elif decision.verb == "close":
        _change_state(request, WorkState.CLOSED, actor=AGENT, source="agent")
        _queue(
            session,
            request,
            "close",
            f"close:{request.fingerprint}:{request.revision}",
            None,
            decision.note,
        )
    return request


def _change_state(request: Request, to: WorkState, *, actor: str, source: str) -> None:
    request.events.append(
        RequestEvent(from_state=request.state, to_state=to, actor=actor, source=source)
    )
    request.state = to


def _queue(
    session: Session,
    request: Request,
    operation: str,
    key: str,
    draft: TicketDraft | None,
    note: str | None,
) -> None:
    payload = {"draft": asdict(draft) if draft else None, "note": note}
    session.add(
        OutboxItem(
            request_id=request.id,
            operation=operation,
            payload=payload,
            idempotency_key=key,
            state=OutboxState.QUEUED,
        )
    )
