"""Finding a request from what a person types: its id, fingerprint or ticket reference."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tma_agent.errors import TmaError
from tma_agent.ledger.models import Request

__all__ = ["UnknownRequest", "find_request"]


class UnknownRequest(TmaError):
    """No request matches the reference given on the command line."""


def find_request(session: Session, reference: str) -> Request:
    """`12` or `#12` (the ledger id), a fingerprint, or the ticket's own reference."""
    ref = reference.strip()
    ident = ref.removeprefix("#")
    if ident.isdigit():
        found = session.get(Request, int(ident))
        if found is not None:
            return found
    matches = list(
        session.scalars(
            select(Request).where(or_(Request.fingerprint == ref, Request.ticket_ref == ref))
        )
    )
    if len(matches) == 1:
        return matches[0]
    if matches:
        refs = ", ".join(f"#{m.id}" for m in matches)
        raise TmaError(f"request {reference!r} is ambiguous ({refs}): give the ledger id")
    raise UnknownRequest(f"no request {reference!r} (tma requests list shows them)")
