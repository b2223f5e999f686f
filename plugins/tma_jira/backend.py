"""The `jira` ticket backend: Jira Cloud's REST API v3, one project.

A ticket carries its fingerprint twice: as the label `tma-fp-<hash>` (Jira labels cannot hold
spaces) and as the description's marker line. `find` copes with Jira's eventually consistent
search (see `finder`); every write is one request whose effect can be seen afterwards, so
`delivered` can tell whether a write whose answer was lost reached the ticket.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tma_agent.tickets import (
    BackendContext,
    RemoteTicket,
    RemoteTimeEntry,
    TicketDraft,
    TicketFile,
    TicketRefused,
    TicketUnavailable,
    TimeEntry,
)
from tma_jira.adf import adf_text, markdown_to_adf, paragraph, text_node
from tma_jira.api import JiraAPI
from tma_jira.attachments import attach_files
from tma_jira.finder import Finder
from tma_jira.issues import as_dict, estimate_text, fingerprint_label, jira_label, remote_ticket
from tma_jira.settings import DEFAULT_STATUSES, JiraSettings
from tma_jira.worklogs import JiraWorklogs

__all__ = ["DELIVERY_PREFIX", "JiraBackend"]

#: The last line of every comment the agent writes: which outbox write it was.
DELIVERY_PREFIX = "tma-delivery:"
#: Keys per `key in (...)` search: JQL stays short, a page holds them all.
_KEYS_PER_SEARCH = 50
_MISSING_KEY = re.compile(r"issue with key '([^']+)' does not exist")
_FIELDS = "status,labels"


class JiraBackend:
    name = "jira"

    def __init__(self, context: BackendContext) -> None:
        settings = context.settings
        if not isinstance(settings, JiraSettings):  # the registry validates with our model
            settings = JiraSettings.model_validate(settings.model_dump())
        self.settings = settings
        self.base_url = str(settings.url)
        self.project = str(settings.project)
        self.api = JiraAPI(
            self.base_url,
            str(settings.user),
            settings.secret,
            timeout=context.http.timeout,
            retries=context.http.retries,
        )
        self.finder = Finder(self.api, self.project, self.base_url, settings.search_lag)
        self.worklogs = JiraWorklogs(self.api)

    # -- reads

    def find(self, fingerprint: str, *, recent: bool = False) -> RemoteTicket | None:
        return self.finder.find(fingerprint, recent=recent)

    def fetch(self, refs: Sequence[str]) -> Mapping[str, RemoteTicket]:
        found: dict[str, RemoteTicket] = {}
        wanted = list(dict.fromkeys(refs))
        for start in range(0, len(wanted), _KEYS_PER_SEARCH):
            found.update(self._fetch_some(wanted[start : start + _KEYS_PER_SEARCH]))
        # The index may not show a just-created ticket yet; the issue itself is always current.
        for ref in wanted:
            if ref not in found:
                issue = self.finder.issue(ref, _FIELDS, expand="changelog")
                if issue is not None:
                    found[ref] = remote_ticket(issue, self.base_url, self.api.url("/issue"))
        return found

    def _fetch_some(self, keys: list[str]) -> dict[str, RemoteTicket]:
        # Jira refuses the whole query when one key does not exist (deleted, moved away):
        # those keys are dropped and the query sent again.
        while keys:
            jql = f"key in ({', '.join(_quoted(key) for key in keys)})"
            try:
                issues = list(self.api.search(jql, _FIELDS, expand="changelog"))
            except TicketRefused as exc:
                missing = set(_MISSING_KEY.findall(exc.reason)) & set(keys)
                if exc.status != 400 or not missing:
                    raise
                keys = [key for key in keys if key not in missing]
                continue
            url = self.api.url("/search/jql")
            tickets = [remote_ticket(issue, self.base_url, url) for issue in issues]
            return {ticket.ref: ticket for ticket in tickets if ticket.ref in keys}
        return {}

    def delivered(self, ref: str, delivery_id: str) -> bool:
        line = _delivery_line(delivery_id)
        start = 0
        while True:
            page = self.api.object(
                "GET",
                f"/issue/{ref}/comment",
                params={"startAt": start, "maxResults": 50, "orderBy": "-created"},
            )
            comments = page.get("comments")
            if not isinstance(comments, list):
                raise TicketUnavailable(
                    "jira", self.api.url(f"/issue/{ref}/comment"), "answer lacks 'comments'"
                )
            for comment in comments:
                if isinstance(comment, dict) and line in adf_text(comment.get("body")).splitlines():
                    return True
            start += len(comments)
            total = page.get("total")
            if not comments or not isinstance(total, int) or start >= total:
                return False

    # -- writes

    def create(self, draft: TicketDraft) -> RemoteTicket:
        fields = {
            "project": {"key": self.project},
            "issuetype": {"name": self.settings.issue_type},
            "labels": self._labels(draft),
            **self._fields(draft),
        }
        body: dict[str, Any] = {"fields": fields}
        if draft.previous_ref:
            link = {"type": {"name": "Relates"}, "outwardIssue": {"key": draft.previous_ref}}
            body["update"] = {"issuelinks": [{"add": link}]}
        answer = self.api.object("POST", "/issue", json=body)
        key = answer.get("key")
        if not isinstance(key, str) or not key:
            # The issue may exist: the outbox searches by fingerprint before sending again.
            raise TicketUnavailable("jira", self.api.url("/issue"), "answer lacks the new key")
        self.finder.created(draft.fingerprint, key)
        status = "open"
        try:
            issue = self.finder.issue(key, _FIELDS)
            status = (
                remote_ticket(issue, self.base_url, self.api.url("/issue")).status
                if issue
                else status
            )
        except (TicketUnavailable, TicketRefused):
            pass  # the ticket exists: its status is read back by the next fetch
        return RemoteTicket(
            ref=key,
            status=status,
            url=f"{self.base_url}/browse/{key}",
            labels=tuple(fields["labels"]),
        )

    def update(self, ref: str, draft: TicketDraft, note: str | None, delivery_id: str) -> None:
        # Labels are added, never set: people's own labels on the ticket stay.
        labels = [{"add": label} for label in self._labels(draft)]
        self.api.call(
            "PUT",
            f"/issue/{ref}",
            json={"fields": self._fields(draft), "update": {"labels": labels}},
        )
        if note:
            self._comment(ref, note, delivery_id)

    def close(self, ref: str, note: str, delivery_id: str) -> None:
        issue = self.finder.issue(ref, "status")
        if issue is None:
            raise TicketRefused(
                "jira", self.api.url(f"/issue/{ref}"), "the issue does not exist", status=404
            )
        status = remote_ticket(issue, self.base_url, self.api.url("/issue")).status
        closed = self.settings.statuses.closed or DEFAULT_STATUSES["closed"]
        done = {name.casefold() for name in (*closed, self.settings.close_transition)}
        # A close whose transition went through but whose comment did not: comment only.
        if status.casefold() not in done:
            self.api.call(
                "POST",
                f"/issue/{ref}/transitions",
                json={"transition": {"id": self._transition(ref, status)}},
            )
        self._comment(ref, note, delivery_id)

    def _transition(self, ref: str, status: str) -> str:
        url = self.api.url(f"/issue/{ref}/transitions")
        data = self.api.object("GET", f"/issue/{ref}/transitions")
        transitions = data.get("transitions")
        if not isinstance(transitions, list):
            raise TicketUnavailable("jira", url, "answer lacks 'transitions'")
        wanted = self.settings.close_transition.casefold()
        seen: list[str] = []
        for item in transitions:
            if not isinstance(item, dict):
                continue
            target = as_dict(item.get("to")).get("name")
            seen.append(f"{item.get('name')} (to {target})")
            names = {str(item.get("name")).casefold(), str(target).casefold()}
            if wanted in names and isinstance(item.get("id"), str | int):
                return str(item["id"])
        raise TicketRefused(
            "jira",
            url,
            f"no transition {self.settings.close_transition!r} from status {status!r} "
            f"(available: {', '.join(seen) or 'none'}): add it to the workflow "
            "or set tickets.close_transition",
        )

    def attach(self, ref: str, files: Sequence[TicketFile], note: str, delivery_id: str) -> None:
        """Each file an attachment of the issue, then one comment naming them (`attachments`)."""
        self._comment(ref, attach_files(self.api, ref, files, note), delivery_id)

    def _comment(self, ref: str, note: str, delivery_id: str) -> None:
        body = markdown_to_adf(note)
        grey = {"type": "textColor", "attrs": {"color": "#97a0af"}}
        body["content"].append(paragraph(text_node(_delivery_line(delivery_id), [grey])))
        self.api.call("POST", f"/issue/{ref}/comment", json={"body": body})

    def _fields(self, draft: TicketDraft) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "summary": " ".join(draft.title.split())[:255],
            "description": markdown_to_adf(draft.description),
            "timetracking": {"originalEstimate": estimate_text(draft.estimate_minutes)},
        }
        priority = self.settings.priorities.get(draft.priority)
        if priority:
            fields["priority"] = {"name": priority}
        return fields

    def _labels(self, draft: TicketDraft) -> list[str]:
        labels = [*self.settings.labels, *draft.labels, fingerprint_label(draft.fingerprint)]
        return list(dict.fromkeys(jira_label(label) for label in labels if label.strip()))

    # -- time entries (TimeKeeper): worklogs

    def log_time(self, ref: str | None, entry: TimeEntry, delivery_id: str) -> str:
        return self.worklogs.log(ref, entry, delivery_id)

    def update_time(self, entry_ref: str, entry: TimeEntry, delivery_id: str) -> str:
        return self.worklogs.update(entry_ref, entry, delivery_id)

    def delete_time(self, entry_ref: str, delivery_id: str) -> None:
        self.worklogs.delete(entry_ref)

    def find_time(
        self, delivery_id: str, ref: str | None, *, spent_on: dt.date | None = None
    ) -> str | None:
        return self.worklogs.find(delivery_id, ref)

    def time_entries(
        self, month: str, *, refs: Sequence[str] = (), scopes: Sequence[tuple[str, str]] = ()
    ) -> list[RemoteTimeEntry]:
        return self.worklogs.entries(month, refs)

    def check(self) -> list[str]:
        from tma_jira.setup_check import setup_problems

        return setup_problems(self.api, self.settings)

    def close_connection(self) -> None:
        self.api.close()


def _delivery_line(delivery_id: str) -> str:
    return f"{DELIVERY_PREFIX} {delivery_id}"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
