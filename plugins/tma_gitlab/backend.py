"""The `gitlab` ticket backend: GitLab issues through REST v4 (`PRIVATE-TOKEN`).

A ticket is an issue of one project. The fingerprint is a label (`tma-fp:<hash>`, exact and
filterable, AND semantics) and the description's marker line (searched when the label was
removed by hand). The estimate is GitLab's time tracking (`time_estimate`), a second call after
the create: when it fails the issue exists anyway, and every `update` sets the estimate again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from tma_agent.tickets import (
    BackendContext,
    RemoteTicket,
    RemoteTimeEntry,
    TicketDraft,
    TicketError,
    TicketFile,
    TicketRefused,
    TicketUnavailable,
    TimeEntry,
    marker_line,
)
from tma_agent.tickets.forge.wire import (
    client,
    delivered_in,
    delivery_comment,
    draft_labels,
    fingerprint_label,
    integer,
    issue_labels,
    obj,
    text,
)
from tma_gitlab._wire import NAME, duration, pages
from tma_gitlab.settings import GitLabSettings
from tma_gitlab.spent import GitLabSpent

__all__ = ["GitLabBackend"]

log = logging.getLogger(__name__)
_Keep = Callable[[dict[str, Any]], bool]
_FETCH_CHUNK = 100


class GitLabBackend:
    name = NAME

    def __init__(self, context: BackendContext, *, transport: Any = None) -> None:
        settings = context.settings
        if not isinstance(settings, GitLabSettings):  # pragma: no cover - the registry's job
            raise TypeError("GitLabBackend needs GitLabSettings")
        self.settings = settings
        headers = {"PRIVATE-TOKEN": settings.token}
        self.http = client(NAME, f"{settings.url}/api/v4", headers, context, transport)
        project = settings.project
        self._project = f"/projects/{project if project.isdigit() else quote(project, safe='')}"
        self.spent = GitLabSpent(self.http, self._project)

    # -- reading -------------------------------------------------------------------------------

    def find(self, fingerprint: str, *, recent: bool = False) -> RemoteTicket | None:
        label = fingerprint_label(fingerprint)
        found = self._list({"labels": label, "state": "all"}, lambda i: label in issue_labels(i))
        if found:
            return found
        marker = marker_line(fingerprint)
        # The search is by words: keep only issues whose description holds the exact line.
        return self._list(
            {"search": marker, "in": "description", "state": "all"},
            lambda i: marker in text(i, "description").splitlines(),
        )

    def _list(self, params: dict[str, Any], keep: _Keep) -> RemoteTicket | None:
        best: dict[str, Any] | None = None
        for answer, items in pages(
            self.http, f"{self._project}/issues", {**params, "per_page": 100}
        ):
            for item in items:
                integer(answer, item, "iid")
                # The newest wins: a request reopened for a newer target has the same fingerprint.
                if keep(item) and (best is None or item["iid"] > best["iid"]):
                    best = item
        return None if best is None else self._remote(best)

    def fetch(self, refs: Sequence[str]) -> Mapping[str, RemoteTicket]:
        wanted = sorted({int(ref) for ref in refs if ref.isdigit()})
        tickets: dict[str, RemoteTicket] = {}
        for start in range(0, len(wanted), _FETCH_CHUNK):
            params = {"iids[]": wanted[start : start + _FETCH_CHUNK], "state": "all"}
            for answer, items in pages(
                self.http, f"{self._project}/issues", {**params, "per_page": 100}
            ):
                for item in items:
                    ticket = self._remote(item, answer.url)
                    tickets[ticket.ref] = ticket
        for ref, ticket in tickets.items():
            if ticket.status in (self.settings.validated_label, self.settings.rejected_label):
                tickets[ref] = replace(ticket, changed_by=self._labelled_by(ref, ticket.status))
        return {ref: tickets[ref] for ref in refs if ref in tickets}

    def _labelled_by(self, ref: str, label: str) -> str | None:
        """Who last added `label` (the client's validation or rejection): one more read per
        such ticket, from the issue's label events (oldest first)."""
        who = None
        path = f"{self._issue(ref)}/resource_label_events"
        for _answer, events in pages(self.http, path, {"per_page": 100}):
            for event in events:
                if event.get("action") == "add" and text(event.get("label"), "name") == label:
                    who = text(event.get("user"), "username") or who
        return who

    def delivered(self, ref: str, delivery_id: str) -> bool:
        path = f"{self._issue(ref)}/notes"
        return delivered_in(pages(self.http, path, {"per_page": 100, "sort": "asc"}), delivery_id)

    def _remote(self, item: dict[str, Any], url: str = "") -> RemoteTicket:
        iid = item.get("iid")
        if not isinstance(iid, int):
            raise TicketUnavailable(NAME, url or self.http.url(self._project), "issue without iid")
        labels = issue_labels(item)
        state = text(item, "state") or "opened"
        status = state
        if self.settings.rejected_label in labels:
            status = self.settings.rejected_label
        elif state == "opened" and self.settings.validated_label in labels:
            status = self.settings.validated_label
        closed_by = item.get("closed_by")
        changed_by = text(closed_by, "username") if isinstance(closed_by, dict) else ""
        web_url = text(item, "web_url")
        return RemoteTicket(
            ref=str(iid),
            status=status,
            url=web_url or None,
            changed_by=(changed_by or None) if state == "closed" else None,
            labels=tuple(labels),
        )

    # -- writing -------------------------------------------------------------------------------

    def create(self, draft: TicketDraft) -> RemoteTicket:
        answer = self.http.request(
            "POST",
            f"{self._project}/issues",
            json={
                "title": draft.title,
                "description": _description(draft),
                "labels": ",".join(self._labels_of(draft)),
            },
        )
        issue = obj(answer)
        integer(answer, issue, "iid")
        try:
            self._estimate(str(issue["iid"]), draft.estimate_minutes)
        except TicketError as exc:
            # The issue exists: report it created; the next update sets the estimate.
            log.warning("%s (the estimate is set by the next update)", exc)
        return self._remote(issue, answer.url)

    def update(self, ref: str, draft: TicketDraft, note: str | None, delivery_id: str) -> None:
        answer = self.http.request(
            "PUT",
            self._issue(ref),
            json={
                "title": draft.title,
                "description": _description(draft),
                # Added, never replaced: people's labels (validated, their own) stay.
                "add_labels": ",".join(self._labels_of(draft)),
            },
        )
        stats = obj(answer).get("time_stats")
        if not isinstance(stats, dict) or stats.get("time_estimate") != draft.estimate_minutes * 60:
            self._estimate(ref, draft.estimate_minutes)
        if note is not None:
            self._note(ref, note, delivery_id)

    def close(self, ref: str, note: str, delivery_id: str) -> None:
        # Closed first, the note last: a note found by `delivered` means both were done.
        self.http.request("PUT", self._issue(ref), json={"state_event": "close"})
        self._note(ref, note, delivery_id)

    def _estimate(self, ref: str, minutes: int) -> None:
        self.http.request(
            "POST", f"{self._issue(ref)}/time_estimate", params={"duration": duration(minutes)}
        )

    def attach(self, ref: str, files: Sequence[TicketFile], note: str, delivery_id: str) -> None:
        """Each file a project upload, then one note showing them (see `uploads`)."""
        from tma_gitlab.uploads import note_with_uploads

        self._issue(ref)  # a bad reference is refused before anything is uploaded
        self._note(ref, note_with_uploads(self.http, self._project, files, note), delivery_id)

    def _note(self, ref: str, note: str, delivery_id: str) -> None:
        body = f"{note}\n\n{delivery_comment(delivery_id)}"
        self.http.request("POST", f"{self._issue(ref)}/notes", json={"body": body})

    def _issue(self, ref: str) -> str:
        if not ref.isdigit():
            raise TicketRefused(NAME, self.http.url(self._project), f"{ref!r} is not an issue iid")
        return f"{self._project}/issues/{ref}"

    def _labels_of(self, draft: TicketDraft) -> list[str]:
        return draft_labels(self.settings.labels, draft, self.settings.max_label)

    # -- time spent (TimeKeeper): per-issue totals, see `spent` ------------------------------

    def log_time(self, ref: str | None, entry: TimeEntry, delivery_id: str) -> str:
        return self.spent.log(ref, entry, delivery_id)

    def update_time(self, entry_ref: str, entry: TimeEntry, delivery_id: str) -> str:
        return self.spent.update(entry_ref, entry, delivery_id)

    def delete_time(self, entry_ref: str, delivery_id: str) -> None:
        self.spent.delete(entry_ref, delivery_id)

    def find_time(
        self, delivery_id: str, ref: str | None, *, spent_on: dt.date | None = None
    ) -> str | None:
        return self.spent.find(delivery_id, ref)

    def time_entries(
        self, month: str, *, refs: Sequence[str] = (), scopes: Sequence[tuple[str, str]] = ()
    ) -> list[RemoteTimeEntry]:
        # Totals per issue, all months: reconcile compares them with the ledger's.
        return self.spent.totals(refs)

    # -- setup ---------------------------------------------------------------------------------

    def check(self) -> list[str]:
        from tma_gitlab.check import problems

        return problems(self)

    def close_connection(self) -> None:
        self.http.close()


def _description(draft: TicketDraft) -> str:
    """The draft's Markdown with the priority (GitLab CE has no priority field) and the
    previous ticket before the marker line, which stays last."""
    lines = draft.description.rstrip("\n").split("\n")
    marker = marker_line(draft.fingerprint)
    body = lines[:-1] if lines and lines[-1] == marker else lines
    extra = [f"**Priority:** {draft.priority}"]
    if draft.previous_ref:
        extra.append(f"Follows #{draft.previous_ref}.")
    return "\n".join([*body, "", *extra, "", marker])
