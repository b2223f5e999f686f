"""Attachments of the fake Jira, as Jira Cloud's REST API v3 takes them: `POST
/rest/api/3/issue/{issueIdOrKey}/attachments`, `multipart/form-data` whose parts named `file`
are the files, blocked (403 `XSRF check failed`) without `X-Atlassian-Token: no-check`, 413 for
a file over the site's attachment limit, answering a JSON array of attachment objects (`self`,
`id`, `filename`, `author`, `created`, `size`, `mimeType`, `content`, `thumbnail`). Each is
also in the issue's `attachment` field."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tma_agent.testing.forge_fakes import FormPart, form_parts
from tma_jira.testing.jira_state import Answer, FakeIssue, jira_error

__all__ = ["XSRF_FAILED", "FakeAttachments"]

#: What Jira answers (403, text) to a form post without the XSRF header.
XSRF_FAILED = b"XSRF check failed"


class FakeAttachments:
    def __init__(self, author: str) -> None:
        self.author = author
        #: The site's maximum attachment size (Jira settings > System > Attachments).
        self.max_bytes = 10 * 1024 * 1024
        #: Every file kept, by attachment id: its metadata and its bytes, as received.
        self.files: dict[str, tuple[dict[str, Any], FormPart]] = {}
        self._ids = itertools.count(40001)

    def add(self, issue: FakeIssue, headers: Mapping[str, str], raw: bytes, base: str) -> Answer:
        lowered = {key.lower(): value for key, value in headers.items()}
        if lowered.get("x-atlassian-token") != "no-check":
            return 403, XSRF_FAILED
        try:
            parts = form_parts(headers, raw)
        except ValueError:
            return jira_error(400, "The request is not multipart/form-data.")
        files = [part for part in parts if part.name == "file" and part.filename]
        if any(len(part.content) > self.max_bytes for part in files):
            return jira_error(413, "The attachment is larger than the maximum attachment size.")
        added = [self._keep(issue, part, base) for part in files]
        return 200, added

    def _keep(self, issue: FakeIssue, part: FormPart, base: str) -> dict[str, Any]:
        number = str(next(self._ids))
        attachment = {
            "self": f"{base}/attachment/{number}",
            "id": number,
            "filename": part.filename,
            "author": {"accountId": "id-agent", "displayName": self.author, "active": True},
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            "size": len(part.content),
            "mimeType": part.content_type,
            "content": f"{base}/attachment/content/{number}",
            "thumbnail": f"{base}/attachment/thumbnail/{number}",
        }
        issue.fields.setdefault("attachment", []).append(attachment)
        self.files[number] = (attachment, part)
        return attachment
