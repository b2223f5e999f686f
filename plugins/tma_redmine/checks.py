"""`tma tickets check` for Redmine: what an admin must create or fix, each a line.

Redmine 5.0's REST API cannot create custom fields, statuses, trackers or workflows, so the
check reads what it can and says exactly what to click. `/custom_fields.json` answers only an
administrator's key: with another key, whether the field is "used as a filter" is proven by a
query instead (when there is an issue to prove it on).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from tma_agent.tickets import TicketRefused
from tma_redmine.settings import DEFAULT_STATUSES, RedmineSettings

if TYPE_CHECKING:
    from tma_redmine.api import FieldInfo, RedmineAPI

__all__ = ["setup_problems"]

_FIELD_PATH = "Administration » Custom fields"
#: What the agent does in a project: read, open, edit (fields and status) and comment issues.
NEEDED = ("view_issues", "add_issues", "edit_issues", "add_issue_notes")


def setup_problems(api: RedmineAPI, settings: RedmineSettings) -> list[str]:
    try:
        me = api.get("/users/current.json", {"include": "memberships"}).get("user")
    except TicketRefused as exc:
        if exc.status not in (401, 403):
            raise
        return [
            f"redmine {settings.url}: the API key is refused (GET /users/current.json answers "
            f"HTTP {exc.status}): enable Administration » Settings » API » 'Enable REST web "
            "service' and set tickets.api_key to the key shown in My account » API access key"
        ]
    problems: list[str] = []
    project = None if settings.project_is_template else settings.project
    readable = True
    tracker_id = api.trackers().get(settings.tracker.casefold())
    if tracker_id is None:
        problems.append(
            f"tracker {settings.tracker!r} does not exist: create it in Administration » "
            "Trackers (or set tickets.tracker to one of: "
            f"{', '.join(api.tracker_names()) or 'none'})"
        )
    if project is not None:
        try:
            info = api.project(project)
        except TicketRefused as exc:
            problems.append(exc.reason)
            readable = False  # its fields and issues cannot be read either
        else:
            if tracker_id is not None and tracker_id not in info.trackers.values():
                problems.append(
                    f"tracker {settings.tracker!r} is not enabled in project {project!r}: tick it "
                    "in the project's Settings » Issue tracking"
                )
            if isinstance(me, dict) and me.get("admin") is not True:
                problems += _permission_problems(api, me, info.id, project)
    problems += _status_problems(api, settings)
    priorities = api.priorities()
    for level in ("low", "normal", "high", "urgent"):
        name = getattr(settings.priorities, level)
        if name.casefold() not in priorities:
            problems.append(
                f"priority {name!r} (tickets.priorities.{level}) does not exist: add it in "
                "Administration » Enumerations » Issue priorities or fix tickets.priorities"
            )
    problems += _time_problems(api, settings, me)
    if readable:
        problems += _field_problems(api, settings, project, tracker_id)
    return problems


def _time_problems(api: RedmineAPI, settings: RedmineSettings, me: Any) -> list[str]:
    """The time entry activities named, and whether the key may log for `users`."""
    activities = api.activities()
    named = [(f"activities.{kind}", name) for kind, name in settings.activities.items()]
    if settings.default_activity:
        named.append(("default_activity", settings.default_activity))
    problems = [
        f"time entry activity {name!r} (tickets.{key}) does not exist: add it in "
        "Administration » Enumerations » Activities (time tracking) or fix tickets.activities"
        for key, name in named
        if name.casefold() not in activities
    ]
    if settings.users and not (isinstance(me, dict) and me.get("admin") is True):
        problems.append(
            "tickets.users logs time for other users: only an administrator's API key may "
            "(Redmine refuses user_id otherwise); use one, or remove tickets.users"
        )
    return problems


def _permission_problems(
    api: RedmineAPI, me: dict[str, Any], project_id: int, project: str
) -> list[str]:
    """What the key's roles in the project lack: Redmine drops a field or a status a user may
    not change and still answers 204, so a missing permission would go unnoticed."""
    login = me.get("login")
    memberships = me.get("memberships")
    roles = [
        role["id"]
        for membership in (memberships if isinstance(memberships, list) else [])
        if isinstance(membership, dict)
        and isinstance(membership.get("project"), dict)
        and membership["project"].get("id") == project_id
        for role in membership.get("roles") or []
        if isinstance(role, dict) and isinstance(role.get("id"), int)
    ]
    if not roles:
        return [
            f"the API key's user {login!r} is not a member of project {project!r}: add it in the "
            f"project's Settings » Members with a role that has {', '.join(NEEDED)}"
        ]
    granted: set[str] = set()
    for role in roles:
        shown = api.get(f"/roles/{role}.json").get("role")
        permissions = shown.get("permissions") if isinstance(shown, dict) else None
        granted.update(p for p in permissions or [] if isinstance(p, str))
    missing = [p for p in NEEDED if p not in granted]
    if not missing:
        return []
    return [
        f"the API key's user {login!r} lacks {', '.join(missing)} in project {project!r} (Redmine "
        "silently drops what a user may not change): grant it to its role in Administration » "
        "Roles and permissions"
    ]


def _status_problems(api: RedmineAPI, settings: RedmineSettings) -> list[str]:
    statuses = api.statuses()
    problems: list[str] = []
    wanted = [("close_status", settings.close_status)]
    for meaning in ("validated", "rejected", "closed"):
        names = getattr(settings.statuses, meaning) or DEFAULT_STATUSES[meaning]
        wanted += [(f"statuses.{meaning}", name) for name in names]
    for key, name in wanted:
        if name.casefold() not in statuses:
            problems.append(
                f"status {name!r} (tickets.{key}) does not exist: create it in Administration » "
                "Issue statuses and allow it in Administration » Workflow, or fix tickets."
                f"{key}"
            )
    closing = statuses.get(settings.close_status.casefold())
    if closing is not None and not closing.is_closed:
        problems.append(
            f"status {closing.name!r} (tickets.close_status) is not a closed status: tick "
            f"'Issue closed' for it in Administration » Issue statuses"
        )
    return problems


def _field_problems(
    api: RedmineAPI, settings: RedmineSettings, project: str | None, tracker_id: int | None
) -> list[str]:
    name = settings.fingerprint_field
    admin = api.custom_fields() is not None
    field = api.fingerprint_field(project)
    create = (
        f"create a custom field of format String named {name!r} for Issues in {_FIELD_PATH}, "
        f"tick 'Used as a filter', enable it for tracker {settings.tracker!r} and "
        + (f"project {project!r}" if project else "the projects (or tick 'For all projects')")
    )
    if field is None:
        if not admin:
            return [
                f"custom field {name!r} cannot be verified: GET /custom_fields.json needs an "
                f"administrator's API key and project {project or settings.project!r} does not "
                f"show the field; make sure an admin did this: {create}"
            ]
        return [f"custom field {name!r} (tickets.fingerprint_field) does not exist: {create}"]
    problems: list[str] = []
    if field.field_format not in (None, "string"):
        problems.append(
            f"custom field {name!r} is of format {field.field_format!r}: the fingerprint needs "
            f"a String field; {create}"
        )
    if (
        field.tracker_ids is not None
        and tracker_id is not None
        and tracker_id not in field.tracker_ids
    ):
        problems.append(
            f"custom field {name!r} is not enabled for tracker {settings.tracker!r}: tick it in "
            f"{_FIELD_PATH} » {name} » Trackers"
        )
    ignored = _filter_ignored(api, field, project)
    if field.is_filter is False or ignored:
        proof = f" (a query cf_{field.id}=<a value no issue has> answered all {ignored} issues)"
        problems.append(
            f"custom field {name!r} (id {field.id}) is not 'Used as a filter': Redmine ignores "
            f"cf_{field.id}= in issue queries{proof if ignored else ''}, so tickets are found "
            f"only by the description's marker line; tick 'Used as a filter' in {_FIELD_PATH} "
            f"» {name}"
        )
    return problems


def _filter_ignored(api: RedmineAPI, field: FieldInfo, project: str | None) -> int:
    """How many issues a query for a value no issue has still answered (0: it filters, or no
    issue to prove it on). Redmine answers such a query with every issue when the field is not a
    filter."""
    scope = {"status_id": "*", "limit": 1, **({"project_id": project} if project else {})}
    every = api.get("/issues.json", scope).get("total_count")
    if not isinstance(every, int) or every == 0:
        return 0
    nonce = f"tma-check-{uuid.uuid4().hex}"
    hits = api.get("/issues.json", {**scope, f"cf_{field.id}": nonce}).get("total_count")
    return every if hits == every else 0
