"""Reading tickets back: `RemoteTicket` from an issue, and `fetch` of many issues in pages of
`GET /issues.json?issue_id=1,2,3&status_id=*`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tma_agent.tickets import RemoteTicket
from tma_agent.tickets.registry import meaning_of
from tma_redmine._answers import int_of, list_of, obj_of, str_of
from tma_redmine.settings import DEFAULT_STATUSES, RedmineSettings

if TYPE_CHECKING:
    from tma_redmine.api import RedmineAPI

__all__ = ["PAGE", "fetch_tickets", "status_changed_by", "ticket_of"]

#: Redmine's largest page (Administration » Settings » API: `limit` is capped at 100), and as
#: many ids per query: the ids go in the URL, which WEBrick and proxies bound.
PAGE = 100


def ticket_of(
    issue: Mapping[str, Any], base_url: str, changed_by: str | None = None
) -> RemoteTicket:
    url = f"{base_url}/issues.json"
    number = int_of(issue, "id", url)
    status = str_of(obj_of(issue, "status", url), "name", url)
    return RemoteTicket(
        ref=str(number), status=status, url=f"{base_url}/issues/{number}", changed_by=changed_by
    )


def fetch_tickets(
    api: RedmineAPI, settings: RedmineSettings, refs: Sequence[str]
) -> dict[str, RemoteTicket]:
    """One request per page of issues; then, only for tickets now in a validated or rejected
    status, one more each for who made that change (the journals are not in the list)."""
    asked = {int(ref): ref for ref in refs if ref.isdigit()}
    wanted = sorted(asked)
    found: dict[str, RemoteTicket] = {}
    for start in range(0, len(wanted), PAGE):
        chunk = wanted[start : start + PAGE]
        ids = ",".join(str(number) for number in chunk)
        offset = 0
        while True:
            params = {"issue_id": ids, "status_id": "*", "limit": PAGE, "offset": offset}
            body = api.get("/issues.json", params)
            url = api.http.url("/issues.json")
            issues = list_of(body, "issues", url)
            for issue in issues:
                ticket = ticket_of(issue, settings.url)
                ref = asked.get(int(ticket.ref))
                if ref is not None:
                    found[ref] = RemoteTicket(ref, ticket.status, ticket.url)
            offset += len(issues)
            total = body.get("total_count")
            # A page can hold no more issues than ids asked: a bogus total cannot loop forever.
            if not issues or not isinstance(total, int) or offset >= min(total, len(chunk)):
                break
    statuses = settings.statuses
    for ref, ticket in list(found.items()):
        if meaning_of(ticket.status, statuses, DEFAULT_STATUSES) in ("validated", "rejected"):
            who = status_changed_by(api, ref)
            found[ref] = RemoteTicket(ticket.ref, ticket.status, ticket.url, who, ticket.labels)
    return found


def status_changed_by(api: RedmineAPI, ref: str) -> str | None:
    """The name of whoever last changed the issue's status (its last journal with a
    `status_id` detail), None when no journal did (the status was set at creation)."""
    path = f"/issues/{int(ref)}.json"
    url = api.http.url(path)
    issue = obj_of(api.get(path, {"include": "journals"}), "issue", url)
    who: str | None = None
    for journal in list_of(issue, "journals", url):
        details = journal.get("details")
        if isinstance(details, list) and any(
            isinstance(d, dict) and d.get("property") == "attr" and d.get("name") == "status_id"
            for d in details
        ):
            user = journal.get("user")
            name = user.get("name") if isinstance(user, dict) else None
            who = name if isinstance(name, str) else None
    return who
