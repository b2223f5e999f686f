"""A local Jira Cloud (REST API v3) on 127.0.0.1 for tests: Basic auth, Jira's error bodies,
ADF validation, `search/jql` paged by `nextPageToken` over an index that lags behind writes,
`startAt` paging for comments and worklogs, attachments (multipart, `X-Atlassian-Token`),
priorities and create metadata, a workflow with transitions, and failure injection (`fail_next`).

    with FakeJira() as jira:
        jira.url, jira.email, jira.token, jira.state.issue("TMA-1")
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tma_agent.testing.local_server import LocalServer
from tma_jira.testing.jira_attachments import FakeAttachments
from tma_jira.testing.jira_search import issue_json, search
from tma_jira.testing.jira_state import Answer, FakeIssue, JiraState, jira_error
from tma_jira.testing.jira_worklogs import FakeWorklogs

__all__ = ["FakeJira", "Fault", "Seen"]

API = "/rest/api/3"
_NO_ISSUE = "Issue does not exist or you do not have permission to see it."
_ATTACHMENTS = re.compile(r"/issue/([^/]+)/attachments")


@dataclass
class Fault:
    """What the next matching request gets instead of Jira's answer.

    `kind`: `status` (answer `status` with `body`, change nothing), `hang` (say nothing for
    `seconds`, then drop the connection, change nothing), `drop` (do the work, then drop the
    connection: the answer is lost), `garbage` (do the work, answer 200 with a non-JSON body).
    """

    kind: str = "status"
    status: int = 503
    body: Any = None
    headers: dict[str, str] | None = None
    seconds: float = 5.0
    method: str | None = None
    #: A regular expression the path (after /rest/api/3) must match.
    path: str | None = None


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes = b""


class FakeJira(LocalServer):
    def __init__(
        self,
        project: str = "TMA",
        *,
        token: str = "jira-test-token-5e3f",  # noqa: S107 (a test server's)
    ) -> None:
        self.state = JiraState(project)
        self.worklogs = FakeWorklogs(self.state.display_name)
        self.attachments = FakeAttachments(self.state.display_name)
        self.email = self.state.user
        self.token = token
        #: Items a search page, a comment page or a paged list holds at most.
        self.page_size = 2
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                fake._handle(self, parts.path, parse_qs(parts.query), raw)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._serve_with(Handler)

    def fail_next(self, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self.faults += [fault] * times

    def calls(self, method: str, pattern: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and re.fullmatch(pattern, s.path)]

    # -- HTTP

    def _fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self.faults):
                if (fault.method in (None, method)) and (
                    fault.path is None or re.fullmatch(fault.path, path)
                ):
                    return self.faults.pop(index)
        return None

    def _handle(
        self, handler: BaseHTTPRequestHandler, path: str, query: dict[str, list[str]], raw: bytes
    ) -> None:
        method = handler.command
        api_path = path[len(API) :] if path.startswith(API) else path
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = ...
        self.seen.append(Seen(method, api_path, query, body, dict(handler.headers.items()), raw))
        fault = self._fault(method, api_path)
        if fault and fault.kind == "hang":
            time.sleep(fault.seconds)
            handler.close_connection = True
            return
        if fault and fault.kind == "status":
            self._send(handler, fault.status, fault.body, fault.headers or {})
            return
        expected = base64.b64encode(f"{self.email}:{self.token}".encode()).decode()
        if handler.headers.get("Authorization") != f"Basic {expected}":
            status, answer = jira_error(
                401, "Client must be authenticated to access this resource."
            )
        elif method == "POST" and (attach := _ATTACHMENTS.fullmatch(api_path)):
            headers, where = dict(handler.headers.items()), self.url + API
            with self.state.lock:
                status, answer = self._with_issue(
                    attach[1], lambda i: self.attachments.add(i, headers, raw, where)
                )
        elif method in ("POST", "PUT") and "application/json" not in (
            handler.headers.get("Content-Type") or ""
        ):
            status, answer = 415, None
        elif body is ...:
            status, answer = jira_error(400, "Unexpected character: the body is not JSON.")
        else:
            with self.state.lock:
                try:
                    status, answer = self._route(method, api_path, query, body)
                except ValueError as exc:  # startAt=x, maxResults=x
                    status, answer = jira_error(400, f"Invalid request parameter: {exc}")
        if fault and fault.kind == "drop":
            handler.close_connection = True
            return
        if fault and fault.kind == "garbage":
            self._send(handler, 200, b"<html>Atlassian is thinking</html>", {})
            return
        self._send(handler, status, answer, {})

    def _send(
        self, handler: BaseHTTPRequestHandler, status: int, answer: Any, headers: dict[str, str]
    ) -> None:
        if isinstance(answer, bytes):
            payload, kind = answer, "text/html"
        else:
            payload = b"" if answer is None else json.dumps(answer).encode()
            kind = "application/json;charset=UTF-8"
        try:
            handler.send_response(status)
            for key, value in headers.items():
                handler.send_header(key, value)
            if payload:
                handler.send_header("Content-Type", kind)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Answer:
        def arg(name: str, default: str = "") -> str:
            return query.get(name, [default])[0]

        state = self.state
        routes: list[tuple[str, str, Callable[..., Answer]]] = [
            ("GET", r"/myself", lambda: (200, self._myself())),
            ("GET", r"/project/([^/]+)", self._project),
            ("GET", r"/project/([^/]+)/statuses", self._statuses),
            ("GET", r"/issue/createmeta/([^/]+)/issuetypes/([^/]+)", lambda p, t: self._createmeta(p, t, arg)),
            ("GET", r"/priority/search", lambda: self._paged([{"id": str(i + 1), "name": n} for i, n in enumerate(state.priorities)], "values", arg)),
            ("GET", r"/issueLinkType", lambda: (200, {"issueLinkTypes": [{"id": str(i), "name": n, "inward": n, "outward": n} for i, n in enumerate(state.link_types)]})),
            ("POST", r"/issue", lambda: state.create(body, f"{self.url}{API}")),
            ("GET", r"/search/jql", lambda: search(state, arg, self.page_size, self.url + API)),
            ("GET", r"/issue/([^/]+)", lambda key: self._with_issue(key, lambda i: (200, issue_json(i, arg("fields", "*all"), arg("expand"), self.url + API)))),
            ("PUT", r"/issue/([^/]+)", lambda key: self._with_issue(key, lambda i: state.edit(i, body))),
            ("GET", r"/issue/([^/]+)/comment", lambda key: self._with_issue(key, lambda i: self._comments(i, arg))),
            ("POST", r"/issue/([^/]+)/comment", lambda key: self._with_issue(key, lambda i: state.comment(i, body))),
            ("GET", r"/issue/([^/]+)/transitions", lambda key: self._with_issue(key, lambda i: (200, self._transitions(i)))),
            ("POST", r"/issue/([^/]+)/transitions", lambda key: self._with_issue(key, lambda i: state.transition(i, body))),
            ("GET", r"/issue/([^/]+)/worklog", lambda key: self._with_issue(key, lambda i: self.worklogs.page(i, arg, self.page_size))),
            ("POST", r"/issue/([^/]+)/worklog", lambda key: self._with_issue(key, lambda i: self.worklogs.add(i, body))),
            ("PUT", r"/issue/([^/]+)/worklog/([^/]+)", lambda key, w: self._with_issue(key, lambda i: self.worklogs.edit(i, w, body))),
            ("DELETE", r"/issue/([^/]+)/worklog/([^/]+)", lambda key, w: self._with_issue(key, lambda i: self.worklogs.delete(i, w))),
        ]  # fmt: skip
        for verb, pattern, answer in routes:
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                return answer(*match.groups())
        if any(re.fullmatch(pattern, path) for _, pattern, _ in routes):
            return 405, None
        return jira_error(404, "null for uri: " + path)

    # -- reads

    def _myself(self) -> dict[str, Any]:
        return {"accountId": "id-agent", "emailAddress": self.email,
                "displayName": self.state.display_name, "active": True}  # fmt: skip

    def _project(self, key: str) -> Answer:
        state = self.state
        if key != state.project:
            return jira_error(404, f"No project could be found with key '{key}'.")
        types = [
            {"id": str(10001 + i), "name": n, "subtask": False}
            for i, n in enumerate(state.issue_types)
        ]
        return 200, {"id": "10000", "key": key, "name": "Maintenance", "issueTypes": types}

    def _statuses(self, key: str) -> Answer:
        if key != self.state.project:
            return jira_error(404, f"No project could be found with key '{key}'.")
        statuses = [{"id": str(i + 1), "name": n} for i, n in enumerate(self.state.statuses)]
        return 200, [{"id": str(10001 + i), "name": n, "subtask": False, "statuses": statuses}
                     for i, n in enumerate(self.state.issue_types)]  # fmt: skip

    def _createmeta(self, key: str, type_id: str, arg: Callable[..., str]) -> Answer:
        if key != self.state.project:
            return jira_error(404, f"No project could be found with key '{key}'.")
        fields = [{"fieldId": f, "key": f, "name": f.title(), "required": f in ("summary", "issuetype", "project"),
                   "operations": ["set"]} for f in self.state.screen]  # fmt: skip
        return self._paged(fields, "fields", arg)

    def _paged(self, items: list[Any], key: str, arg: Callable[..., str]) -> Answer:
        start = int(arg("startAt", "0") or 0)
        size = min(int(arg("maxResults", "50") or 50), self.page_size)
        page = items[start : start + size]
        return 200, {"startAt": start, "maxResults": size, "total": len(items),
                     "isLast": start + size >= len(items), key: page}  # fmt: skip

    def _with_issue(self, key: str, then: Callable[[FakeIssue], Answer]) -> Answer:
        issue = self.state.issues.get(key)
        return then(issue) if issue else jira_error(404, _NO_ISSUE)

    def _comments(self, issue: FakeIssue, arg: Callable[..., str]) -> Answer:
        comments = list(issue.comments)
        if arg("orderBy") == "-created":
            comments.reverse()
        return self._paged(comments, "comments", arg)

    def _transitions(self, issue: FakeIssue) -> dict[str, Any]:
        return {"expand": "transitions", "transitions": [
            {"id": t.id, "name": t.name, "to": {"id": str(self.state.statuses.index(t.to) + 1), "name": t.to},
             "hasScreen": False, "isGlobal": not t.sources, "isInitial": False, "isConditional": False}
            for t in self.state.available(issue)]}  # fmt: skip
