"""Jira Cloud's REST API v3 as the backend uses it: Basic auth, Jira's error bodies read into
one line, and `search/jql` paged by `nextPageToken`.

`TicketHTTP` sorts 5xx, 429, timeouts and garbled answers into `TicketUnavailable`; the 4xx
answers are taken back here (`expect`) so that a refusal says what Jira said
(`errorMessages` and `errors`), not a JSON excerpt.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from tma_agent._masking import remember_secret
from tma_agent.tickets import TicketRefused, TicketUnavailable
from tma_agent.tickets.http import TicketAnswer, TicketHTTP

__all__ = ["API", "JiraAPI", "jira_reason"]

API = "/rest/api/3"
_REFUSALS = (400, 401, 403, 404, 405, 413, 422)
#: Pages of a search the backend follows before calling the answer garbled (a loop).
_MAX_PAGES = 200


def jira_reason(status: int, body: Any) -> str:
    """`HTTP 400: Field 'priority' cannot be set. (priority)`: Jira's messages on one line."""
    parts: list[str] = [body] if isinstance(body, str) and body else []
    if isinstance(body, dict):
        messages = body.get("errorMessages")
        if isinstance(messages, list):
            parts += [str(m) for m in messages if m]
        errors = body.get("errors")
        if isinstance(errors, dict):
            parts += [f"{field}: {message}" for field, message in errors.items()]
    text = " ".join("; ".join(parts).split())[:400]
    return f"HTTP {status}: {text}" if text else f"HTTP {status}"


class JiraAPI:
    def __init__(
        self,
        url: str,
        user: str,
        token: str,
        *,
        timeout: float,
        retries: int,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        credential = base64.b64encode(f"{user}:{token}".encode()).decode()
        # The header is derived from the token: mask it too, should a server echo it.
        remember_secret(credential)
        self.http = TicketHTTP(
            "jira",
            url,
            headers={"Authorization": f"Basic {credential}", "Accept": "application/json"},
            timeout=timeout,
            retries=retries,
            transport=transport,
        )

    def url(self, path: str) -> str:
        return self.http.url(f"{API}{path}")

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        allow: tuple[int, ...] = (),
    ) -> TicketAnswer:
        """One request; a 4xx not in `allow` becomes a `TicketRefused` saying Jira's words
        (`content` and `headers`: a body that is not JSON, an upload's)."""
        answer = self.http.request(
            method,
            f"{API}{path}",
            params=params,
            json=json,
            content=content,
            headers=headers,
            expect=(*_REFUSALS, 429),
        )
        if answer.status < 300 or answer.status in allow:
            return answer
        try:
            body = answer.json()
        except TicketUnavailable:
            # Not JSON (`XSRF check failed`, a proxy's page): its first words, on one line.
            body = " ".join(answer.body[:200].decode("utf-8", "replace").split())
        reason = jira_reason(answer.status, body)
        if answer.status == 429:
            wait = answer.headers.get("retry-after")
            raise TicketUnavailable(
                "jira",
                answer.url,
                f"{reason} (rate limited" + (f", retry after {wait} s)" if wait else ")"),
            )
        if answer.status in (401, 403):
            reason += " (check tickets.user, the account's email, and tickets.token)"
        raise TicketRefused("jira", answer.url, reason, status=answer.status)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.call(method, path, **kwargs).json()

    def object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        answer = self.call(method, path, **kwargs)
        data = answer.json()
        if not isinstance(data, dict):
            raise TicketUnavailable("jira", answer.url, "answer is not a JSON object")
        return data

    def search(
        self,
        jql: str,
        fields: str,
        *,
        expand: str | None = None,
        page: int = 100,
        limit: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every issue `jql` finds (the first `limit`), following `nextPageToken`."""
        token: str | None = None
        count = 0
        for _ in range(_MAX_PAGES):
            params: dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": page}
            if expand:
                params["expand"] = expand
            if token:
                params["nextPageToken"] = token
            data = self.object("GET", "/search/jql", params=params)
            issues = data.get("issues")
            if not isinstance(issues, list):
                raise TicketUnavailable("jira", self.url("/search/jql"), "answer lacks 'issues'")
            for issue in issues:
                if not isinstance(issue, dict) or not isinstance(issue.get("key"), str):
                    raise TicketUnavailable("jira", self.url("/search/jql"), "an issue lacks 'key'")
                yield issue
                count += 1
                if limit is not None and count >= limit:
                    return
            token = data.get("nextPageToken")
            last = data.get("isLast")
            if last is True or (last is None and token is None):
                return
            if not isinstance(token, str) or not token:
                raise TicketUnavailable(
                    "jira", self.url("/search/jql"), "not the last page, but no nextPageToken"
                )
        raise TicketUnavailable("jira", self.url("/search/jql"), f"over {_MAX_PAGES} pages")

    def close(self) -> None:
        self.http.close()
