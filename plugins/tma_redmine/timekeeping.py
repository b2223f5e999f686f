"""Redmine time entries (`/time_entries.json`): hours sent as `H:MM`, which Redmine parses
exactly and reads back as a decimal of hours; the activity mapped from the intervention's kind;
the developer mapped to a login (logged for that user with an administrator's key)."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from typing import Any

from tma_agent.tickets import (
    TIME_DELIVERY_PREFIX,
    RemoteTimeEntry,
    TicketRefused,
    TimeEntry,
    intervention_of,
    time_comment,
)
from tma_redmine._answers import BACKEND, int_of, list_of, obj_of
from tma_redmine.api import RedmineAPI
from tma_redmine.settings import RedmineSettings, project_of

__all__ = ["RedmineTime"]

#: Redmine's `time_entries.comments` column is 1024 characters.
_COMMENT_MAX = 1024
_PAGE = 100


def _hours(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def _minutes(value: Any) -> int:
    # A float of hours holding a whole number of minutes: rounding recovers it exactly.
    return round(float(value) * 60) if isinstance(value, int | float) else 0


def _entry_path(entry_ref: str) -> str:
    if not entry_ref.isdigit():  # it goes into the path
        raise TicketRefused(BACKEND, "/time_entries", f"{entry_ref!r} is not a time entry id")
    return f"/time_entries/{int(entry_ref)}.json"


class RedmineTime:
    def __init__(self, api: RedmineAPI, settings: RedmineSettings) -> None:
        self.api = api
        self.settings = settings
        self._users: dict[str, int] = {}

    def log(self, ref: str | None, entry: TimeEntry, delivery_id: str) -> str:
        body = self._fields(entry, delivery_id)
        if ref is None:
            project = project_of(self.settings, entry.client, entry.site)
            body["project_id"] = self.api.project(project).id
        elif ref.isdigit():
            body["issue_id"] = int(ref)
        else:
            raise TicketRefused(BACKEND, "/time_entries.json", f"{ref!r} is not an issue number")
        user = self._user_id(entry.user)
        if user is not None:
            body["user_id"] = user
        url = self.api.http.url("/time_entries.json")
        answer = self.api.write("POST", "/time_entries.json", {"time_entry": body})
        return str(int_of(obj_of(answer, "time_entry", url), "id", url))

    def update(self, entry_ref: str, entry: TimeEntry, delivery_id: str) -> str:
        body = self._fields(entry, delivery_id)
        user = self._user_id(entry.user)
        if user is not None:
            body["user_id"] = user
        self.api.write("PUT", _entry_path(entry_ref), {"time_entry": body})
        return entry_ref

    def delete(self, entry_ref: str) -> None:
        # Gone already (deleted by hand, or a lost answer of this very delete): done.
        self.api.http.request("DELETE", _entry_path(entry_ref), expect={404})

    def find(self, delivery_id: str, ref: str | None, spent_on: dt.date | None) -> str | None:
        params: dict[str, Any] = {}
        if ref is not None and ref.isdigit():
            params["issue_id"] = int(ref)
        if spent_on is not None:
            params["from"] = params["to"] = spent_on.isoformat()
        wanted = f"{TIME_DELIVERY_PREFIX} {delivery_id}"
        for item in self._pages(params):
            comment = item.get("comments")
            if isinstance(comment, str) and comment.endswith(wanted):
                return str(item.get("id"))
        return None

    def entries(
        self, month: str, refs: Sequence[str], scopes: Sequence[tuple[str, str]]
    ) -> list[RemoteTimeEntry]:
        year, number = (int(part) for part in month.split("-"))
        first = dt.date(year, number, 1)
        last = first.replace(day=calendar.monthrange(year, number)[1])
        span = {"from": first.isoformat(), "to": last.isoformat()}
        seen: dict[str, RemoteTimeEntry] = {}
        projects = {project_of(self.settings, client, site) for client, site in scopes}
        lists: list[dict[str, Any]] = [{"project_id": p, **span} for p in sorted(projects)]
        lists += [{"issue_id": int(r), **span} for r in refs if r.isdigit()]
        for params in lists:
            for item in self._pages(params):
                remote = _remote(item)
                if remote.ref is not None:
                    seen[remote.ref] = remote
        return list(seen.values())

    # -- helpers ----------------------------------------------------------------------------

    def _pages(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        url = self.api.http.url("/time_entries.json")
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            body = self.api.get("/time_entries.json", {**params, "limit": _PAGE, "offset": offset})
            page = list_of(body, "time_entries", url)
            found += page
            total = body.get("total_count")
            offset += len(page)
            if not page or not isinstance(total, int) or offset >= total:
                return found

    def _fields(self, entry: TimeEntry, delivery_id: str) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "hours": _hours(entry.minutes),
            "spent_on": entry.spent_on.isoformat(),
            "comments": time_comment(entry.comment, delivery_id, _COMMENT_MAX),
        }
        activity = self._activity_id(entry.activity)
        if activity is not None:
            fields["activity_id"] = activity
        return fields

    def _activity_id(self, kind: str) -> int | None:
        name = self.settings.activities.get(kind, self.settings.default_activity)
        if name is None:
            return None  # Redmine's default activity
        path = "/enumerations/time_entry_activities.json"
        found = self.api.activities().get(name.casefold())
        if found is None:
            raise TicketRefused(
                BACKEND,
                self.api.http.url(path),
                f"time entry activity {name!r} (tickets.activities) is not a Redmine activity: "
                "add it in Administration » Enumerations or fix tickets.activities",
            )
        return int(found)

    def _user_id(self, who: str) -> int | None:
        login = self.settings.users.get(who)
        if login is None:
            return None  # logged as the API key's user
        if login not in self._users:
            url = self.api.http.url("/users.json")
            try:
                body = self.api.get("/users.json", {"name": login, "limit": 100})
            except TicketRefused as exc:
                if exc.status != 403:
                    raise
                raise TicketRefused(
                    BACKEND,
                    url,
                    f"tickets.users maps {who!r} to {login!r}, but only an administrator's "
                    "API key may look users up and log time for them",
                    status=403,
                ) from None
            for user in list_of(body, "users", url):
                if user.get("login") == login:
                    self._users[login] = int_of(user, "id", url)
            if login not in self._users:
                raise TicketRefused(
                    BACKEND, url, f"tickets.users maps {who!r} to {login!r}: no such Redmine login"
                )
        return self._users[login]


def _remote(item: dict[str, Any]) -> RemoteTimeEntry:
    issue = item.get("issue")
    ticket = str(issue["id"]) if isinstance(issue, dict) and "id" in issue else None
    spent = item.get("spent_on")
    comment = item.get("comments") if isinstance(item.get("comments"), str) else ""
    return RemoteTimeEntry(
        ref=str(item["id"]) if "id" in item else None,
        minutes=_minutes(item.get("hours")),
        ticket_ref=ticket,
        spent_on=dt.date.fromisoformat(spent) if isinstance(spent, str) else None,
        intervention_id=intervention_of(comment),
        comment=str(comment or ""),
    )
