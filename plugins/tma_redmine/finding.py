"""`find(fingerprint)`: the ticket carrying a fingerprint, open or closed.

First by the string custom field `fingerprint_field` (a `cf_N` filter, which Redmine honours only
when the field is "used as a filter"), then, when that finds nothing, by the description's
marker line (the `description` contains-filter). Every hit is compared exactly: Redmine may
ignore the filter, and "contains" matches a longer fingerprint too. The oldest match wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tma_agent.tickets import RemoteTicket, marker_line
from tma_redmine._answers import list_of
from tma_redmine.reading import PAGE, ticket_of

if TYPE_CHECKING:
    from tma_redmine.api import RedmineAPI
    from tma_redmine.settings import RedmineSettings

__all__ = ["find_ticket"]

Params = list[tuple[str, str]]


def find_ticket(
    api: RedmineAPI, settings: RedmineSettings, fingerprint: str
) -> RemoteTicket | None:
    # A project per client or site cannot be filled without a draft: search every project
    # the key sees (the fingerprint names the site, so it is unique across them).
    project = None if settings.project_is_template else settings.project
    scope: Params = [("f[]", "status_id"), ("op[status_id]", "*")]  # open and closed
    scope += [("sort", "id"), ("limit", str(PAGE))]
    if project is not None:
        scope.append(("project_id", project))
    field = api.fingerprint_field(project)
    if field is not None:
        # The long filter form: the short `cf_N=value` splits values on `|` and reads a
        # leading `!`, `~` or `*` as an operator.
        name = f"cf_{field.id}"
        query = [("f[]", name), (f"op[{name}]", "="), (f"v[{name}][]", fingerprint)]
        for issue in _issues(api, [*query, *scope]):
            if _field_value(issue, field.id) == fingerprint:
                return ticket_of(issue, settings.url)
    marker = marker_line(fingerprint)
    query = [("f[]", "description"), ("op[description]", "~"), ("v[description][]", marker)]
    for issue in _issues(api, [*query, *scope]):
        api.learn(issue)
        description = issue.get("description")
        # Redmine stores CRLF line ends: compare lines, not text.
        if isinstance(description, str) and marker in _lines(description):
            return ticket_of(issue, settings.url)
    return None


def _issues(api: RedmineAPI, params: Params) -> list[dict[str, Any]]:
    return list_of(api.get("/issues.json", params), "issues", api.http.url("/issues.json"))


def _field_value(issue: Mapping[str, Any], field_id: int) -> object:
    fields = issue.get("custom_fields")
    for field in fields if isinstance(fields, list) else ():
        if isinstance(field, dict) and field.get("id") == field_id:
            return field.get("value")
    return None


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]
