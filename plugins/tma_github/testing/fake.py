"""A stateful GitHub REST API (2022-11-28) on 127.0.0.1, as documented: `Authorization: Bearer`,
repositories, issues and pull requests sharing one number sequence (the issues endpoints list
both), labels (50 characters at most, created on first use), comments, the issue search,
`Link` pagination, rate-limit headers, and GitHub's error bodies (`message`,
`documentation_url`, `status`; 422 `errors[]`). Failures are queued with `fail()`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from tma_agent.testing.fake_api import Failure, FakeAPI, json_reply, page_of, params_of
from tma_agent.testing.feeds import Reply, Request
from tma_github.testing._repo import Repository

__all__ = ["FakeGitHub", "rate_limited"]

_DOCS = "https://docs.github.com/rest"
_ROUTE = re.compile(
    r"/repos/([^/]+)/([^/]+)(?:/(issues|labels)(?:/([^/]+)(?:/(comments|labels|events))?)?)?"
)
_REASONS = ("completed", "not_planned", "duplicate", "reopened")


def error(status: int, message: str, **extra: Any) -> Reply:
    return json_reply(
        {"message": message, "documentation_url": _DOCS, "status": str(status), **extra}, status
    )


def validation_failed(resource: str, field: str, code: str = "invalid", **extra: Any) -> Reply:
    """422 Validation Failed with one entry in `errors`."""
    entry = {"resource": resource, "field": field, "code": code, **extra}
    return error(422, "Validation Failed", errors=[entry])


def rate_limited(status: int = 403) -> Failure:
    """The primary rate limit's answer (a secondary limit answers `retry-after` instead)."""
    return Failure(
        status=status,
        body={"message": "API rate limit exceeded for user ID 1.", "documentation_url": _DOCS},
        headers={
            "Content-Type": "application/json",
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": "1900000000",
            "x-ratelimit-resource": "core",
        },
    )


class FakeGitHub(FakeAPI):
    def __init__(
        self,
        *,
        token: str = "ghp_fake0123456789",  # noqa: S107 - a test token
        repo: str = "agency/maintenance",
        page_size: int = 100,
        labels: tuple[str, ...] = ("tma:validated", "tma:rejected"),
    ) -> None:
        super().__init__()
        self.token = token
        self.repo = repo
        #: The most items a page holds whatever `per_page` asks (tests make it small).
        self.page_size = page_size
        self.has_issues = True
        self.permissions = {
            "admin": False,
            "maintain": False,
            "push": True,
            "triage": True,
            "pull": True,
        }
        self.data = Repository(self.url, repo, labels)
        # The state, for tests to read and change (the same objects the API serves).
        self.user = self.data.user
        self.issues = self.data.issues
        self.comments = self.data.comments
        self.labels = self.data.labels
        self.events = self.data.events

    # -- what tests use ------------------------------------------------------------------------

    def add_issue(
        self,
        title: str,
        *,
        body: str = "",
        labels: list[str] | None = None,
        state: str = "open",
        state_reason: str | None = None,
        pull_request: bool = False,
    ) -> dict[str, Any]:
        """An issue (or a pull request) a person made."""
        with self.state_lock:
            issue = self.data.new_issue(title, body, labels or [])
            if pull_request:
                issue["pull_request"] = {
                    "url": f"{self.url}/repos/{self.repo}/pulls/{issue['number']}"
                }
            if state == "closed":
                self.data.close(issue, state_reason or "completed")
            return issue

    def set_labels(self, number: int, labels: list[str], *, by: str = "client-pm") -> None:
        """What a person (`by`) does in GitHub's sidebar."""
        with self.state_lock:
            actor = {"login": by, "id": 2, "type": "User"}
            self.data.relabel(self.issues[number], labels, actor)

    # -- the API -------------------------------------------------------------------------------

    def bad_request(self) -> Reply:
        return error(400, "Problems parsing JSON")

    def handle(self, request: Request) -> Reply:
        headers = {k.lower(): v for k, v in request.headers.items()}
        if headers.get("authorization") != f"Bearer {self.token}":
            return error(401, "Bad credentials")
        reply = self._route(request, params_of(request))
        reply.headers.update(
            {
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "4999",
                "x-ratelimit-resource": "core",
            }
        )
        return reply

    def _route(self, request: Request, params: dict[str, list[Any]]) -> Reply:
        method = request.method
        if request.path == "/user" and method == "GET":
            return json_reply(self.user)
        if request.path == "/search/issues" and method == "GET":
            return self._search(request, params)
        match = _ROUTE.fullmatch(request.path)
        if not match or f"{match[1]}/{match[2]}" != self.repo:
            return error(404, "Not Found")
        collection, key, sub = match[3], match[4], match[5]
        if collection is None and method == "GET":
            return json_reply(
                {
                    "id": 1,
                    "full_name": self.repo,
                    "has_issues": self.has_issues,
                    "html_url": f"{self.url}/{self.repo}",
                    "permissions": self.permissions,
                }
            )
        if collection == "labels" and key is not None and method == "GET":
            label = self.labels.get(unquote(key))
            return json_reply(label) if label else error(404, "Not Found")
        if collection != "issues":
            return error(404, "Not Found")
        if not self.has_issues:
            return error(410, "Issues are disabled for this repo")
        if key is None:
            if method == "GET":
                return self._page(request, params, self._list(params))
            if method == "POST":
                return self._create(params)
            return error(404, "Not Found")
        issue = self.issues.get(int(key)) if key.isdigit() else None
        if issue is None:
            return error(404, "Not Found")
        if sub is None and method == "GET":
            return json_reply(issue)
        if sub is None and method == "PATCH":
            return self._update(issue, params)
        if sub == "labels" and method == "POST":
            names = [str(n) for n in params.get("labels", [])]
            invalid = self._invalid_labels(names)
            if invalid:
                return invalid
            have = [label["name"] for label in issue["labels"]]
            self.data.relabel(issue, [*have, *names], self.user)
            return json_reply(issue["labels"])
        if sub == "events" and method == "GET":
            return self._page(request, params, self.events[issue["number"]])
        if sub == "comments" and method == "GET":
            return self._page(request, params, self.comments[issue["number"]])
        if sub == "comments" and method == "POST":
            body = _one(params, "body")
            if not body:
                return error(422, 'Invalid request.\n\n"body" wasn\'t supplied.')
            return json_reply(self.data.comment(issue, body), 201)
        return error(404, "Not Found")

    def _invalid_labels(self, names: list[str]) -> Reply | None:
        too_long = [name for name in names if len(name) > 50]
        if not too_long:
            return None
        errors = [
            {"value": name, "resource": "Label", "field": "name", "code": "invalid"}
            for name in too_long
        ]
        return error(422, "Validation Failed", errors=errors)

    def _create(self, params: dict[str, list[Any]]) -> Reply:
        title = _one(params, "title")
        if not title:
            return error(422, 'Invalid request.\n\n"title" wasn\'t supplied.')
        names = [str(n) for n in params.get("labels", [])]
        invalid = self._invalid_labels(names)
        if invalid:
            return invalid
        if len(_one(params, "body")) > 65536:
            message = "body is too long (maximum is 65536 characters)"
            return validation_failed("Issue", "body", "custom", message=message)
        issue = self.data.new_issue(title, _one(params, "body"), names)
        return json_reply(issue, 201)

    def _update(self, issue: dict[str, Any], params: dict[str, list[Any]]) -> Reply:
        if "title" in params:
            issue["title"] = _one(params, "title")
        if "body" in params:
            issue["body"] = _one(params, "body")
        if "labels" in params:
            names = [str(n) for n in params["labels"]]
            invalid = self._invalid_labels(names)
            if invalid:
                return invalid
            self.data.relabel(issue, names, self.user)
        state, reason = _one(params, "state"), _one(params, "state_reason")
        if reason and reason not in _REASONS:
            return validation_failed("Issue", "state_reason")
        if state == "closed":
            self.data.close(issue, reason or "completed")
        elif state == "open" and issue["state"] == "closed":
            self.data.reopen(issue)
        return json_reply(issue)

    def _list(self, params: dict[str, list[Any]]) -> list[dict[str, Any]]:
        state = _one(params, "state") or "open"  # GitHub lists open issues unless told
        wanted = {n.strip() for n in _one(params, "labels").split(",") if n.strip()}
        return self.data.listed(state, wanted)

    def _search(self, request: Request, params: dict[str, list[Any]]) -> Reply:
        query = _one(params, "q")
        phrases = re.findall(r'"([^"]*)"', query)
        qualifiers = dict(re.findall(r"(\w+):(\S+)", re.sub(r'"[^"]*"', "", query)))
        if qualifiers.get("repo") not in (None, self.repo):
            message = "The listed users and repositories cannot be searched"
            return validation_failed("Search", "q", message=message)
        items = self.data.searched(phrases, qualifiers.get("is") == "issue")
        reply = self._page(request, params, items)
        reply.body = b'{"total_count": %d, "incomplete_results": false, "items": %s}' % (
            len(items),
            reply.payload,
        )
        return reply

    def _page(self, request: Request, params: dict[str, list[Any]], items: list[Any]) -> Reply:
        page = page_of(self.url, request, items, default=30, cap=min(100, self.page_size))
        # GitHub names only the neighbours that exist: no `last` on the last page.
        rels: tuple[str, ...] = ("next", "last") if page.number < page.last else ()
        rels += ("first", "prev") if page.number > 1 else ()
        headers = {"Link": page.link_header(rels)} if rels else {}
        return json_reply(page.items, headers=headers)


def _one(params: dict[str, list[Any]], key: str) -> str:
    values = params.get(key) or [""]
    return "" if values[0] is None else str(values[0])
