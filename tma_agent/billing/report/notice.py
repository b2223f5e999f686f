"""A validated month written to the client's ticket system, whoever validated it (the client
portal, `tma report validate`): one notice ticket per client and month, fingerprint
`tma:report:<client>:<month>`, saying who validated it, when, and the month's totals as
frozen by the validation (the ledger's sums to the minute).

It is queued in the unit of work that records the validation (both or neither) and sent
like the bucket alerts' notices (`billing.notices`): claimed before it leaves, its ticket
looked for by fingerprint before any create, so a lost answer or a killed process opens no
second one. Why a ticket of its own rather than a note: a month has no ticket (`tma report
send` mails the report, it opens none), and notes on each request's ticket would be many
writes and miss the time logged without a request (docs/tickets.md)."""

from __future__ import annotations

import datetime as dt

import pluggy
from sqlalchemy.orm import Session

from tma_agent.billing.notices import queue_draft, send_notices
from tma_agent.billing.report.view import totals
from tma_agent.config import Config
from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import MonthValidation
from tma_agent.tickets._types import TicketDraft, marker_line

__all__ = ["fingerprint_of", "queue_month_notice", "send_month_notice"]

_WHERE = {"portal": "in the client portal", "cli": "with `tma report validate`"}


def fingerprint_of(client: str, month: str) -> str:
    return f"tma:report:{client}:{month}"


def _hours(minutes: int) -> str:
    return f"{minutes // 60} h {minutes % 60:02d} ({minutes} min)"


def _body(validation: MonthValidation) -> list[str]:
    document = validation.frozen
    name = document["client"]["name"]
    where = _WHERE.get(validation.source, f"({validation.source})")
    at = validation.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    summed = totals(document)
    lines = [
        f"The maintenance report of {validation.month} for {name} was validated by "
        f"{validation.validated_by} {where} on {at} UTC.",
        "",
        f"- interventions: {len(document['entries'])}",
        f"- billed: {_hours(summed.minutes)}",
    ]
    lines += [f"- {kind}: {_hours(minutes)}" for kind, minutes in summed.by_kind]
    lines += [f"- site {site}: {_hours(minutes)}" for site, minutes in summed.by_site]
    bucket = document.get("bucket")
    if bucket is not None:
        lines += [
            f"- bucket of the period from {bucket['period_start']}: "
            f"{_hours(bucket['available_minutes'])} available, "
            f"{_hours(bucket['remaining_minutes'])} remaining, "
            f"{_hours(bucket['overage_minutes'])} of overage",
        ]
    lines += ["", f"The report's entries have the checksum sha256 {validation.checksum}."]
    return lines


def queue_month_notice(session: Session, config: Config, validation: MonthValidation) -> str:
    """In `validate_month`'s unit of work; the outbox item's idempotency key."""
    client = validation.client
    fingerprint = fingerprint_of(client, validation.month)
    name = validation.frozen["client"]["name"]
    site = next((s.id for s in config.sites if s.client == client), client)
    draft = TicketDraft(
        fingerprint=fingerprint,
        title=f"[TMA] {name}: report of {validation.month} validated",
        description="\n".join([*_body(validation), "", marker_line(fingerprint)]),
        site=site,
        client=client,
        kind="preventive",
        priority="low",
        estimate_minutes=60,  # the least a draft carries; the notice asks for no work
        labels=("tma", "month-validated"),
    )
    return queue_draft(session, draft)


def send_month_notice(
    config: Config, pm: pluggy.PluginManager, ledger: Ledger, client: str, month: str
) -> list[str]:
    """Send the month's notice now (after the validation is committed); what cannot be sent
    stays queued for the next run (`tma run`, `tma time sync`). The errors, not raised."""
    from tma_agent.billing.notices import NOTICE
    from tma_agent.tickets.registry import registered_ticket_backends
    from tma_agent.tickets.targets import Backends

    backends = Backends(config, registered_ticket_backends(pm))
    try:
        key = f"{NOTICE}:{fingerprint_of(client, month)}"
        return send_notices(ledger, backends, keys=[key]).errors
    finally:
        backends.close()
