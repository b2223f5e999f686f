"""Jira attachments (`Attacher.attach`): each file is `POST /issue/{key}/attachments`
(multipart field `file`, header `X-Atlassian-Token: no-check`, without which Jira blocks the
request), answering a JSON array of attachment objects; then one comment names the files next
to the note and ends with the delivery line, so `delivered` finds it. A lost answer before the
comment attaches the files again (a second copy on the issue, never a second comment)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tma_agent.tickets import TicketError, TicketFile, TicketRefused, TicketUnavailable
from tma_agent.tickets.forge.uploads import (
    file_error,
    file_line,
    files_note,
    multipart_file,
    too_large,
)
from tma_jira.api import JiraAPI

__all__ = ["attach_files", "check_key"]

_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*-\d+|\d+")


def check_key(api: JiraAPI, ref: str) -> None:
    """Refuse a reference that is not an issue key or id before anything is sent."""
    if not _KEY.fullmatch(ref):
        raise TicketRefused("jira", api.url("/issue"), f"{ref!r} is not an issue key")


def attach_files(api: JiraAPI, ref: str, files: Sequence[TicketFile], note: str) -> str:
    """Attach `files` to issue `ref`; the comment's Markdown naming them after `note`."""
    check_key(api, ref)
    for file in files:
        _attach(api, ref, file)
    lines = [file_line(file, "") for file in files]
    return files_note(note, lines, "Attached to this issue:")


def _attach(api: JiraAPI, ref: str, file: TicketFile) -> None:
    path = f"/issue/{ref}/attachments"
    refused = too_large("jira", api.url(path), file)
    if refused is not None:
        raise refused
    body, headers = multipart_file(file)
    try:
        answer = api.call(
            "POST", path, content=body, headers={**headers, "X-Atlassian-Token": "no-check"}
        )
        data = answer.json()
    except TicketError as exc:
        raise file_error(exc, file) from None
    if not isinstance(data, list) or not any(
        isinstance(item, dict) and isinstance(item.get("id"), str | int) for item in data
    ):
        lost = TicketUnavailable("jira", answer.url, "unexpected answer (no attachment listed)")
        raise file_error(lost, file)
