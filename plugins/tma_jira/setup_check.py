"""`tma tickets check` for Jira: what an admin must set up before the agent can write.

Each problem is one line naming the thing to create or the key to change. A refused
credential stops the check (nothing else can be read); a Jira that is down raises
`TicketUnavailable` like every other call.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tma_agent.tickets import TicketRefused, TicketUnavailable
from tma_jira.api import JiraAPI
from tma_jira.finder import jql_string
from tma_jira.issues import as_dict, as_list
from tma_jira.settings import DEFAULT_STATUSES, JiraSettings

__all__ = ["setup_problems"]


def _paged(api: JiraAPI, path: str, key: str) -> Iterator[dict[str, Any]]:
    """Items of a `startAt`/`maxResults` list (`isLast` or `total` ends it)."""
    start = 0
    for _ in range(100):
        page = api.object("GET", path, params={"startAt": start, "maxResults": 50})
        items = page.get(key)
        if not isinstance(items, list):
            raise TicketUnavailable("jira", api.url(path), f"answer lacks {key!r}")
        yield from (item for item in items if isinstance(item, dict))
        start += len(items)
        total = page.get("total")
        if not items or page.get("isLast") or (isinstance(total, int) and start >= total):
            return


def setup_problems(api: JiraAPI, settings: JiraSettings) -> list[str]:
    key, user = str(settings.project), str(settings.user)
    try:
        api.object("GET", "/myself")
    except TicketRefused as exc:
        return [
            f"jira {exc.url}: {user} and tickets.token are refused ({exc.reason}): create an "
            "API token for that account and give its email as tickets.user"
        ]
    try:
        project = api.object("GET", f"/project/{key}")
    except TicketRefused as exc:
        if exc.status != 404:
            raise
        return [
            f"jira: project {key} does not exist or {user} cannot browse it: create it, or "
            "grant that account Browse projects and Create issues in it, or fix tickets.project"
        ]
    problems: list[str] = []
    types = {
        str(t.get("name")): str(t.get("id"))
        for t in as_list(project.get("issueTypes"))
        if isinstance(t, dict)
    }
    type_id = types.get(settings.issue_type)
    if type_id is None:
        problems.append(
            f"jira: project {key} has no issue type {settings.issue_type!r} (it has: "
            f"{', '.join(sorted(types)) or 'none'}): add it to the project or set "
            "tickets.issue_type"
        )
    else:
        problems += _statuses(api, settings, key)
        problems += _screen(api, settings, key, type_id)
        problems += _close_from_open(api, settings, key)
    problems += _priorities(api, settings)
    links = as_list(api.object("GET", "/issueLinkType").get("issueLinkTypes"))
    if not any(isinstance(t, dict) and t.get("name") == "Relates" for t in links):
        problems.append(
            "jira: there is no issue link type 'Relates' (a new request links the closed one "
            "it follows): create it in the site's issue linking settings"
        )
    return problems


def _statuses(api: JiraAPI, settings: JiraSettings, key: str) -> list[str]:
    data = api.json("GET", f"/project/{key}/statuses")
    names: set[str] = set()
    for item in data if isinstance(data, list) else ():
        if isinstance(item, dict) and item.get("name") == settings.issue_type:
            names |= {str(as_dict(s).get("name")).casefold() for s in as_list(item.get("statuses"))}
    problems: list[str] = []
    where = f"the workflow of {settings.issue_type} in project {key}"
    closed = settings.statuses.closed or DEFAULT_STATUSES["closed"]
    if not {n.casefold() for n in (*closed, settings.close_transition)} & names:
        problems.append(
            f"jira: {where} has no status {settings.close_transition!r}: add a status and a "
            f"transition named {settings.close_transition!r} to it allowed from every status "
            "(a global transition), or set tickets.close_transition"
        )
    validated = settings.statuses.validated or DEFAULT_STATUSES["validated"]
    if not {n.casefold() for n in validated} & names:
        problems.append(
            f"jira: {where} has no status {validated[0]!r} (the client's validation): add it "
            "with a transition to it, or set tickets.statuses.validated"
        )
    return problems


def _close_from_open(api: JiraAPI, settings: JiraSettings, key: str) -> list[str]:
    """The close transition seen from an open ticket the agent wrote, when there is one (a
    workflow's transitions can only be read through an issue)."""
    label = settings.labels[0] if settings.labels else None
    if label is None:
        return []
    ended = {n.casefold() for meaning in ("closed", "rejected") for n in
             (getattr(settings.statuses, meaning) or DEFAULT_STATUSES[meaning])}  # fmt: skip
    jql = f"project = {jql_string(key)} AND labels = {jql_string(label)} ORDER BY key DESC"
    for issue in api.search(jql, "status", page=10, limit=10):
        status = str(as_dict(as_dict(issue.get("fields")).get("status")).get("name"))
        if status.casefold() in ended:
            continue
        data = api.object("GET", f"/issue/{issue['key']}/transitions")
        transitions = [as_dict(t) for t in as_list(data.get("transitions"))]
        wanted = settings.close_transition.casefold()
        names = [(str(t.get("name")), str(as_dict(t.get("to")).get("name"))) for t in transitions]
        if any(wanted in (n.casefold(), to.casefold()) for n, to in names):
            return []
        offered = ", ".join(f"{n} (to {to})" for n, to in names) or "none"
        return [
            f"jira: {issue['key']} in status {status!r} offers no transition "
            f"{settings.close_transition!r} (it offers: {offered}): make "
            f"{settings.close_transition!r} a global transition (allowed from every status) "
            "in the workflow, or set tickets.close_transition"
        ]
    return []


def _screen(api: JiraAPI, settings: JiraSettings, key: str, type_id: str) -> list[str]:
    path = f"/issue/createmeta/{key}/issuetypes/{type_id}"
    fields = {str(f.get("fieldId") or f.get("key")) for f in _paged(api, path, "fields")}
    wanted = ["summary", "description", "labels", "timetracking"]
    if settings.priorities:
        wanted.append("priority")
    missing = [name for name in wanted if name not in fields]
    if not missing:
        return []
    return [
        f"jira: the create screen of {settings.issue_type} in project {key} lacks "
        f"{', '.join(missing)}: add them to the screen (and turn on time tracking for "
        "timetracking); for priority you may instead set tickets.priorities: {}"
    ]


def _priorities(api: JiraAPI, settings: JiraSettings) -> list[str]:
    known = {str(p.get("name")) for p in _paged(api, "/priority/search", "values")}
    return [
        f"jira: there is no priority {name!r} (tickets.priorities.{level}): create it or map "
        f"{level} to one of {', '.join(sorted(known)) or 'none'}"
        for level, name in settings.priorities.items()
        if name not in known
    ]
