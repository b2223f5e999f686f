"""The fake Jira's reads of issues: an issue as JSON (`fields`, `expand=changelog`) and
`search/jql` over the lagging index, paged by an opaque `nextPageToken` tied to its query."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from tma_jira.testing.jira_state import Answer, FakeIssue, JiraState, jira_error
from tma_jira.testing.jql import JQLError, parse_jql

__all__ = ["issue_json", "search"]


def issue_json(issue: FakeIssue, fields: str, expand: str, base: str) -> dict[str, Any]:
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    shown = dict(issue.fields) if "*all" in wanted else {f: issue.fields.get(f) for f in wanted}
    data: dict[str, Any] = {"id": str(10000 + issue.number), "key": issue.key,
                            "self": f"{base}/issue/{10000 + issue.number}", "fields": shown}  # fmt: skip
    if "changelog" in expand.split(","):
        # Jira's expanded changelog: the most recent first.
        histories = list(reversed(issue.histories))
        data["changelog"] = {
            "startAt": 0,
            "maxResults": len(histories),
            "total": len(histories),
            "histories": histories,
        }
    return data


def search(state: JiraState, arg: Callable[..., str], page_size: int, base: str) -> Answer:
    """`GET /search/jql`: Jira checks the query, then reads its (lagging) index."""
    jql = arg("jql")
    try:
        query = parse_jql(jql)
    except JQLError as exc:
        return jira_error(400, str(exc))
    if not query.bounded:
        return jira_error(
            400,
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
        )
    problems = [
        f"The value '{p}' does not exist for the field 'project'."
        for p in query.projects
        if p != state.project
    ]
    # Jira checks named keys against the database, not the index.
    problems += [
        f"An issue with key '{k}' does not exist for field 'key'."
        for k in query.keys
        if k not in state.issues
    ]
    if problems:
        return jira_error(400, *problems)
    found = [i for i in state.searchable() if query.test(state.view(i))]
    for name, descending in reversed(query.order or [("created", True)]):
        found.sort(
            key=lambda i: state.view(i)["number" if name == "key" else name], reverse=descending
        )
    digest = hashlib.sha256(jql.encode()).hexdigest()[:12]
    start = 0
    token = arg("nextPageToken")
    if token:
        seen_digest, _, offset = token.partition(":")
        if seen_digest != digest or not offset.isdigit():
            return jira_error(400, "The provided next page token is invalid or expired.")
        start = int(offset)
    size = min(int(arg("maxResults", "50") or 50), page_size)
    page = found[start : start + size]
    answer: dict[str, Any] = {
        "issues": [issue_json(i, arg("fields", "id"), arg("expand"), base) for i in page]
    }
    if start + size < len(found):
        answer["nextPageToken"] = f"{digest}:{start + size}"
        answer["isLast"] = False
    else:
        answer["isLast"] = True
    return 200, answer
