"""The Redmine backend: one Redmine, one project (or one per client or site), through the
protocol of `tma_agent.tickets.TicketBackend`.

Writes are sent once (the outbox decides about resending); each one Redmine could silently
change (a tracker not enabled, a status the workflow forbids) is checked before or after.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from tma_agent.tickets import (
    BackendContext,
    RemoteTicket,
    RemoteTimeEntry,
    TicketDraft,
    TicketError,
    TicketFile,
    TicketRefused,
    TimeEntry,
)
from tma_redmine._answers import BACKEND, list_of, obj_of
from tma_redmine.api import RedmineAPI
from tma_redmine.finding import find_ticket
from tma_redmine.reading import fetch_tickets, ticket_of
from tma_redmine.settings import RedmineSettings, project_for
from tma_redmine.timekeeping import RedmineTime

__all__ = ["DELIVERY_PREFIX", "RedmineBackend", "delivery_line", "hours_of"]

#: The last line of every note the agent writes: how `delivered` recognises its own writes.
DELIVERY_PREFIX = "tma-delivery:"
#: Redmine's `subject` column is 255 characters.
_SUBJECT_MAX = 255


def delivery_line(delivery_id: str) -> str:
    return f"{DELIVERY_PREFIX} {delivery_id}"


def hours_of(minutes: int) -> str:
    """`H:MM`, which Redmine parses exactly (a decimal of 100 minutes would be rounded)."""
    return f"{minutes // 60}:{minutes % 60:02d}"


def _issue_path(ref: str) -> str:
    if not ref.isdigit():  # a ref goes into the path: nothing but a number may
        raise TicketRefused(BACKEND, f"/issues/{ref}", f"{ref!r} is not a Redmine issue number")
    return f"/issues/{int(ref)}.json"


class RedmineBackend:
    name = BACKEND

    def __init__(
        self, context: BackendContext, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        settings = context.settings
        if not isinstance(settings, RedmineSettings):  # the registry validated the block with it
            settings = RedmineSettings.model_validate(settings.model_dump(exclude_unset=True))
        self.settings = settings
        self.api = RedmineAPI(
            settings,
            timeout=context.http.timeout,
            retries=context.http.retries,
            transport=transport,
        )
        self.time = RedmineTime(self.api, settings)

    def find(self, fingerprint: str, *, recent: bool = False) -> RemoteTicket | None:
        return find_ticket(self.api, self.settings, fingerprint)

    # -- writing ----------------------------------------------------------------------------

    def create(self, draft: TicketDraft) -> RemoteTicket:
        identifier = project_for(self.settings, draft)
        project = self.api.project(identifier)
        tracker = self._tracker_id()
        # Redmine silently files an issue under the project's first tracker when the one asked
        # for is not enabled there: refuse instead of opening it in the wrong tracker.
        if tracker not in project.trackers.values():
            raise TicketRefused(
                BACKEND,
                self.api.http.url(f"/projects/{identifier}.json"),
                f"tracker {self.settings.tracker!r} is not enabled in project {identifier!r}: "
                "tick it in the project's Settings » Issue tracking",
            )
        issue = {"project_id": project.id, "tracker_id": tracker, **self._fields(draft)}
        answer = self.api.write("POST", "/issues.json", {"issue": issue})
        created = obj_of(answer, "issue", self.api.http.url("/issues.json"))
        ticket = ticket_of(created, self.settings.url)
        if "custom_fields" not in issue:
            # A key that may not list custom fields learns the field's id from the answer:
            # the first ticket gets its fingerprint at once instead of only the marker line.
            self.api.learn(created)
            field = self.api.fingerprint_field(identifier)
            if field is not None:
                self._put(
                    ticket.ref, {"custom_fields": [{"id": field.id, "value": draft.fingerprint}]}
                )
        if draft.previous_ref and draft.previous_ref.isdigit():
            self._relate(ticket.ref, draft.previous_ref)
        return ticket

    def update(self, ref: str, draft: TicketDraft, note: str | None, delivery_id: str) -> None:
        issue = self._fields(draft)
        if note:
            issue["notes"] = _with_delivery(note, delivery_id)
        self._put(ref, issue)

    def attach(self, ref: str, files: Sequence[TicketFile], note: str, delivery_id: str) -> None:
        from tma_redmine.uploads import files_listed, upload_all

        _issue_path(ref)  # a bad ref is refused before anything is uploaded
        uploads = upload_all(self.api, files)
        notes = _with_delivery(files_listed(note, files), delivery_id)
        self._put(ref, {"notes": notes, "uploads": uploads})

    def close(self, ref: str, note: str, delivery_id: str) -> None:
        statuses = self.api.statuses()
        wanted = statuses.get(self.settings.close_status.casefold())
        path = _issue_path(ref)
        if wanted is None:
            raise TicketRefused(
                BACKEND,
                self.api.http.url("/issue_statuses.json"),
                f"close_status {self.settings.close_status!r} is not a Redmine status",
            )
        # The status first, alone: Redmine drops a status its workflow does not allow and still
        # answers 204, so it is read back before the note says the ticket is closed.
        self._put(ref, {"status_id": wanted.id})
        shown = obj_of(self.api.get(path), "issue", self.api.http.url(path))
        now = obj_of(shown, "status", self.api.http.url(path))
        if now.get("id") != wanted.id:
            raise TicketRefused(
                BACKEND,
                self.api.http.url(path),
                f"Redmine's workflow does not let the API key's user move issue #{ref} from "
                f"{now.get('name')!r} to {wanted.name!r}: allow that transition in "
                "Administration » Workflow",
            )
        self._put(ref, {"notes": _with_delivery(note, delivery_id)})

    def delivered(self, ref: str, delivery_id: str) -> bool:
        path = _issue_path(ref)
        url = self.api.http.url(path)
        issue = obj_of(self.api.get(path, {"include": "journals"}), "issue", url)
        wanted = delivery_line(delivery_id)
        for journal in list_of(issue, "journals", url):
            notes = journal.get("notes")
            if isinstance(notes, str) and wanted in _lines(notes):
                return True
        return False

    def fetch(self, refs: Sequence[str]) -> Mapping[str, RemoteTicket]:
        return fetch_tickets(self.api, self.settings, refs)

    def check(self) -> list[str]:
        from tma_redmine.checks import setup_problems

        return setup_problems(self.api, self.settings)

    # -- time entries (TimeKeeper) -----------------------------------------------------------

    def log_time(self, ref: str | None, entry: TimeEntry, delivery_id: str) -> str:
        return self.time.log(ref, entry, delivery_id)

    def update_time(self, entry_ref: str, entry: TimeEntry, delivery_id: str) -> str:
        return self.time.update(entry_ref, entry, delivery_id)

    def delete_time(self, entry_ref: str, delivery_id: str) -> None:
        self.time.delete(entry_ref)

    def find_time(
        self, delivery_id: str, ref: str | None, *, spent_on: dt.date | None = None
    ) -> str | None:
        return self.time.find(delivery_id, ref, spent_on)

    def time_entries(
        self, month: str, *, refs: Sequence[str] = (), scopes: Sequence[tuple[str, str]] = ()
    ) -> list[RemoteTimeEntry]:
        return self.time.entries(month, refs, scopes)

    def close_connection(self) -> None:
        self.api.close()

    # -- helpers ----------------------------------------------------------------------------

    def _fields(self, draft: TicketDraft) -> dict[str, Any]:
        priorities = self.api.priorities()
        name = self.settings.priorities.name_of(draft.priority)
        priority = priorities.get(name.casefold())
        if priority is None:
            raise TicketRefused(
                BACKEND,
                self.api.http.url("/enumerations/issue_priorities.json"),
                f"priority {name!r} (tickets.priorities.{draft.priority}) is not a Redmine "
                "priority: add it in Administration » Enumerations or fix tickets.priorities",
            )
        fields: dict[str, Any] = {
            "subject": draft.title[:_SUBJECT_MAX],
            "description": draft.description,
            "priority_id": priority,
            "estimated_hours": hours_of(draft.estimate_minutes),
        }
        field = self.api.fingerprint_field(project_for(self.settings, draft))
        if field is not None:
            fields["custom_fields"] = [{"id": field.id, "value": draft.fingerprint}]
        return fields

    def _tracker_id(self) -> int:
        tracker = self.api.trackers().get(self.settings.tracker.casefold())
        if tracker is None:
            raise TicketRefused(
                BACKEND,
                self.api.http.url("/trackers.json"),
                f"tracker {self.settings.tracker!r} does not exist: create it in "
                "Administration » Trackers or fix tickets.tracker",
            )
        return tracker

    def _put(self, ref: str, issue: Mapping[str, Any]) -> None:
        path = _issue_path(ref)
        try:
            self.api.write("PUT", path, {"issue": dict(issue)})
        except TicketRefused as exc:
            if exc.status != 404:
                raise
            raise TicketRefused(
                BACKEND,
                exc.url,
                f"issue #{ref} does not exist or the API key's user may not see it (HTTP 404)",
                status=404,
            ) from None

    def _relate(self, ref: str, previous: str) -> None:
        body = {"relation": {"issue_to_id": int(previous), "relation_type": "relates"}}
        try:
            self.api.write("POST", f"/issues/{int(ref)}/relations.json", body)
        except TicketError:
            # The ticket exists: failing the create now would make the outbox search for it
            # and never add the link either. The link is a convenience; the description and
            # the ledger keep which request this one follows.
            return


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def _with_delivery(note: str, delivery_id: str) -> str:
    return f"{note.rstrip()}\n\n{delivery_line(delivery_id)}"
