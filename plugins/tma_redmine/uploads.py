"""Files on Redmine issues: each file is sent to `POST /uploads.json?filename=...` as
`application/octet-stream` (Redmine answers `{"upload": {"id", "token"}}`), then the tokens
go with the note in one `PUT /issues/{id}.json` (`issue.uploads`: token, filename,
content_type, description). An upload no note refers to is Redmine's to prune."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tma_agent.tickets import TicketFile, TicketRefused
from tma_agent.tickets.forge.uploads import file_line, files_note
from tma_redmine._answers import BACKEND, obj_of, str_of
from tma_redmine.api import RedmineAPI, errors_of

__all__ = ["files_listed", "upload_all"]

#: Redmine's `attachments.description` column is 255 characters.
_DESCRIPTION_MAX = 255


def upload_all(api: RedmineAPI, files: Sequence[TicketFile]) -> list[dict[str, Any]]:
    """Upload `files`; the `uploads` entries of the issue update that attaches them."""
    return [
        {
            "token": _upload(api, file),
            "filename": file.filename,
            "content_type": file.media_type,
            "description": file.label[:_DESCRIPTION_MAX],
        }
        for file in files
    ]


def files_listed(note: str, files: Sequence[TicketFile]) -> str:
    """The note with a line per file (label, name, size): Redmine shows the files themselves
    below the journal, the lines say what each one is."""
    return files_note(note, [file_line(file, "") for file in files], "Attachments:")


def _upload(api: RedmineAPI, file: TicketFile) -> str:
    path = "/uploads.json"
    answer = api.http.request(
        "POST",
        path,
        params={"filename": file.filename},
        content=file.content,
        headers={"Content-Type": "application/octet-stream"},
        expect={422},
    )
    if answer.status == 422:
        # Redmine's own words name its limit ("exceeds the maximum allowed file size (N)").
        why = errors_of(answer)
        raise TicketRefused(
            BACKEND,
            answer.url,
            f"{file.filename} ({len(file.content)} bytes) refused: {why[:300]} (Redmine's "
            "Administration » Settings » Files » Maximum attachment size; lower "
            "tickets.attachments.max_bytes to it)",
            status=422,
        )
    url = api.http.url(path)
    return str_of(obj_of(answer.json(), "upload", url), "token", url)
