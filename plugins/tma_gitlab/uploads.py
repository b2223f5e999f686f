"""GitLab attachments (`Attacher.attach`): each file is a project upload (`POST
/projects/:id/uploads`, multipart field `file`, answering `{"id", "alt", "url", "full_path",
"markdown"}`), then one note on the issue holds the note, each upload's Markdown (images shown
inline) and the delivery comment, so `delivered` finds it. A lost answer before the note sends
the uploads again: uploads no note references are GitLab's to clean up."""

from __future__ import annotations

from collections.abc import Sequence

from tma_agent.tickets import TicketError, TicketFile, TicketUnavailable
from tma_agent.tickets.forge.uploads import (
    file_error,
    file_line,
    files_note,
    multipart_file,
    too_large,
)
from tma_agent.tickets.forge.wire import obj, text
from tma_agent.tickets.http import TicketHTTP
from tma_gitlab._wire import NAME

__all__ = ["note_with_uploads", "upload"]

#: The longest `markdown` an upload answer may hold (a link to a file, never a document).
_MAX_MARKDOWN = 2000


def note_with_uploads(
    http: TicketHTTP, project: str, files: Sequence[TicketFile], note: str
) -> str:
    """Upload `files` to the project; the note's text naming and showing them."""
    lines = [file_line(file, upload(http, project, file)) for file in files]
    return files_note(note, lines, "Attached:")


def upload(http: TicketHTTP, project: str, file: TicketFile) -> str:
    """Upload one file; the Markdown GitLab answers for it (`![alt](/uploads/...)`)."""
    path = f"{project}/uploads"
    refused = too_large(NAME, http.url(path), file)
    if refused is not None:
        raise refused
    body, headers = multipart_file(file)
    try:
        answer = http.request("POST", path, content=body, headers=headers)
        markdown = text(obj(answer), "markdown")
    except TicketError as exc:
        raise file_error(exc, file) from None
    # Data from the server, put in a note: one line, a Markdown link, bounded.
    if not markdown.startswith(("![", "[")) or "](" not in markdown or "\n" in markdown:
        raise file_error(
            TicketUnavailable(NAME, answer.url, "unexpected answer (no 'markdown' link)"), file
        )
    if len(markdown) > _MAX_MARKDOWN:
        raise file_error(
            TicketUnavailable(NAME, answer.url, "unexpected answer ('markdown' too long)"), file
        )
    return markdown
