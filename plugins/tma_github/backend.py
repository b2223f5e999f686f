"""The `github` ticket backend: GitHub issues through the REST API (2022-11-28).

A ticket is an issue of one repository. The fingerprint is a label (`tma-fp:<hash>`, under
GitHub's 50 characters, filterable) and the body's marker line (found by the search API when
the label was removed by hand). GitHub has no time tracking and no priority field: both are
written in the body, above the marker line. The issues endpoints also list pull requests;
those (items with `pull_request`) are never a ticket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from tma_agent.tickets import (
    BackendContext,
    RemoteTicket,
    TicketDraft,
    TicketFile,
    TicketRefused,
    marker_line,
)
from tma_agent.tickets.forge.wire import (
    client,
    delivered_in,
    delivery_comment,
    draft_labels,
    fingerprint_label,
    issue_labels,
    obj,
    text,
)
from tma_agent.tickets.http import TicketAnswer
from tma_github._wire import NAME, call, number, pages
from tma_github.settings import MAX_LABEL, GitHubSettings

__all__ = ["MAX_BODY", "GitHubBackend"]

_Pages = Iterator[tuple[TicketAnswer, list[dict[str, Any]]]]
#: GitHub refuses a longer issue body (422); the draft is cut before the marker line.
MAX_BODY = 65536
#: Up to this many tickets are read one by one; more are read from the label's list.
_ONE_BY_ONE = 5


class GitHubBackend:
    name = NAME

    def __init__(self, context: BackendContext, *, transport: Any = None) -> None:
        settings = context.settings
        if not isinstance(settings, GitHubSettings):  # pragma: no cover - the registry's job
            raise TypeError("GitHubBackend needs GitHubSettings")
        self.settings = settings
        headers = {
            "Authorization": f"Bearer {settings.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        url = settings.url or "https://api.github.com"
        self.http = client(NAME, url, headers, context, transport)
        self.repo = f"/repos/{settings.project}"

    # -- reading -------------------------------------------------------------------------------

    def find(self, fingerprint: str, *, recent: bool = False) -> RemoteTicket | None:
        label = fingerprint_label(fingerprint)
        params = {"labels": label, "state": "all", "per_page": 100}
        best = self._newest(pages(self.http, f"{self.repo}/issues", params), lambda i: True)
        if best is None:
            # The label was removed by hand: the search API reads bodies (by words, so the
            # exact line is checked here).
            marker = marker_line(fingerprint)
            phrase = marker.replace('"', " ")  # a quote would end the phrase early
            query = f'"{phrase}" repo:{self.settings.project} is:issue in:body'
            found = pages(self.http, "/search/issues", {"q": query, "per_page": 100}, "items")
            best = self._newest(found, lambda i: marker in text(i, "body").splitlines())
        return None if best is None else self._remote(best)

    def _newest(
        self, found: _Pages, keep: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any] | None:
        best: dict[str, Any] | None = None
        for answer, items in found:
            for item in items:
                if "pull_request" in item or not keep(item):
                    continue
                # The newest wins: a request reopened for a newer target has the same fingerprint.
                if best is None or number(answer, item) > best["number"]:
                    best = item
        return best

    def fetch(self, refs: Sequence[str]) -> Mapping[str, RemoteTicket]:
        wanted = {ref for ref in refs if ref.isdigit()}
        tickets: dict[str, RemoteTicket] = {}
        if len(wanted) > _ONE_BY_ONE and self.settings.labels:
            params = {"labels": self.settings.labels[0], "state": "all", "per_page": 100}
            for answer, items in pages(self.http, f"{self.repo}/issues", params):
                for item in items:
                    if "pull_request" not in item and str(number(answer, item)) in wanted:
                        tickets[str(item["number"])] = self._remote(item)
        gone = False
        for ref in sorted(wanted - tickets.keys(), key=int):
            answer = call(self.http, "GET", f"{self.repo}/issues/{ref}", expect=(404, 410))
            if answer.status in (404, 410):
                gone = True  # deleted or transferred: left out, as the protocol says
                continue
            item = obj(answer)
            if "pull_request" not in item:
                number(answer, item)
                tickets[ref] = self._remote(item)
        for ref, ticket in tickets.items():
            if ticket.status in (self.settings.validated_label, self.settings.rejected_label):
                tickets[ref] = replace(ticket, changed_by=self._labelled_by(ref, ticket.status))
        if gone:
            # GitHub answers the same 404 for a missing repository: that one is refused,
            # not "every ticket was deleted".
            call(self.http, "GET", self.repo)
        return {ref: tickets[ref] for ref in refs if ref in tickets}

    def _labelled_by(self, ref: str, label: str) -> str | None:
        """Who last added `label` (the client's validation or rejection): one more read per
        such ticket, from the issue's events (oldest first)."""
        who = None
        for _answer, events in pages(self.http, f"{self._issue(ref)}/events", {"per_page": 100}):
            for event in events:
                if event.get("event") == "labeled" and text(event.get("label"), "name") == label:
                    who = text(event.get("actor"), "login") or who
        return who

    def delivered(self, ref: str, delivery_id: str) -> bool:
        path = f"{self._issue(ref)}/comments"
        return delivered_in(pages(self.http, path, {"per_page": 100}), delivery_id)

    def _remote(self, item: dict[str, Any]) -> RemoteTicket:
        labels = issue_labels(item)
        settings = self.settings
        if text(item, "state") == "closed":
            reason = text(item, "state_reason")
            status = "closed" if reason in ("", "completed") else f"closed:{reason}"
            if settings.rejected_label in labels:
                status = settings.rejected_label
            changed_by = text(item.get("closed_by"), "login") or None
        else:
            status, changed_by = "open", None
            if settings.rejected_label in labels:
                status = settings.rejected_label
            elif settings.validated_label in labels:
                status = settings.validated_label
        return RemoteTicket(
            ref=str(item["number"]),
            status=status,
            url=text(item, "html_url") or None,
            changed_by=changed_by,
            labels=tuple(labels),
        )

    # -- writing -------------------------------------------------------------------------------

    def create(self, draft: TicketDraft) -> RemoteTicket:
        body = {"title": draft.title, "body": _body(draft), "labels": self._labels_of(draft)}
        answer = call(self.http, "POST", f"{self.repo}/issues", json=body)
        issue = obj(answer)
        number(answer, issue)
        return self._remote(issue)

    def update(self, ref: str, draft: TicketDraft, note: str | None, delivery_id: str) -> None:
        path = self._issue(ref)
        answer = call(self.http, "PATCH", path, json={"title": draft.title, "body": _body(draft)})
        # Labels are added, never replaced: people's labels (validated, their own) stay.
        missing = [name for name in self._labels_of(draft) if name not in issue_labels(obj(answer))]
        if missing:
            call(self.http, "POST", f"{path}/labels", json={"labels": missing})
        if note is not None:
            self._comment(ref, note, delivery_id)

    def close(self, ref: str, note: str, delivery_id: str) -> None:
        # Closed first, the comment last: a comment found by `delivered` means both were done.
        state = {"state": "closed", "state_reason": "completed"}
        call(self.http, "PATCH", self._issue(ref), json=state)
        self._comment(ref, note, delivery_id)

    def attach(self, ref: str, files: Sequence[TicketFile], note: str, delivery_id: str) -> None:
        """One comment linking the files: GitHub's REST API uploads none (see `links`)."""
        from tma_github.links import linked_note

        self._comment(ref, linked_note(files, note), delivery_id)

    def _comment(self, ref: str, note: str, delivery_id: str) -> None:
        body = f"{note}\n\n{delivery_comment(delivery_id)}"
        call(self.http, "POST", f"{self._issue(ref)}/comments", json={"body": body})

    def _issue(self, ref: str) -> str:
        if not ref.isdigit():
            raise TicketRefused(NAME, self.http.url(self.repo), f"{ref!r} is not an issue number")
        return f"{self.repo}/issues/{ref}"

    def _labels_of(self, draft: TicketDraft) -> list[str]:
        # GitHub refuses a label over 50 characters (and the whole issue with it): cut them.
        return draft_labels(self.settings.labels, draft, MAX_LABEL)

    # -- setup ---------------------------------------------------------------------------------

    def check(self) -> list[str]:
        from tma_github.check import problems

        return problems(self)

    def close_connection(self) -> None:
        self.http.close()


def _body(draft: TicketDraft) -> str:
    """The draft's Markdown with the priority and estimate (GitHub has neither field) and the
    previous ticket above the marker line, which stays last; cut to GitHub's limit."""
    lines = draft.description.rstrip("\n").split("\n")
    marker = marker_line(draft.fingerprint)
    body = "\n".join(lines[:-1] if lines and lines[-1] == marker else lines)
    hours, minutes = divmod(draft.estimate_minutes, 60)
    estimate = f"{hours} h" + (f" {minutes:02d} min" if minutes else "")
    extra = f"**Priority:** {draft.priority} · **Estimate:** {estimate}"
    if draft.previous_ref:
        extra += f"\n\nFollows #{draft.previous_ref}."
    tail = f"\n\n{extra}\n\n{marker}"
    room = MAX_BODY - len(tail) - len("\n\n…(cut)")
    if len(body) > room:
        body = body[:room] + "\n\n…(cut)"
    return body + tail
