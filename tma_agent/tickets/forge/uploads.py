"""Files on tickets (`TicketFile`, a visual check's images) for the backends that send them
over HTTP: the multipart body GitLab's uploads and Jira's attachments take, a bound on what is
sent, the Markdown line that names a file in a note, and a refusal that names the file.

The body is built by httpx itself (RFC 7578, the filename escaped as browsers do), then sent
through `TicketHTTP` like any other write: one deadline, a bounded answer, the same sorting of
errors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import httpx

from tma_agent.tickets._types import TicketError, TicketFile, TicketRefused, TicketUnavailable

__all__ = [
    "MAX_FILE_BYTES",
    "file_error",
    "file_line",
    "files_note",
    "human_size",
    "multipart_file",
    "plain",
    "too_large",
]

#: A file bigger than this is refused before it is sent (a screenshot is far smaller; GitLab's
#: and Jira's default limits are 100 MB and 10 MB, so a bigger one would be refused anyway).
MAX_FILE_BYTES = 20 * 1024 * 1024


def multipart_file(file: TicketFile, field: str = "file") -> tuple[bytes, Mapping[str, str]]:
    """The `multipart/form-data` body holding `file` as the form field `field`, and its
    `Content-Type` header (with the boundary)."""
    # A request that is never sent: httpx's encoder, without a second copy of RFC 7578 here.
    request = httpx.Request(
        "POST",
        "http://multipart.invalid/",
        files={field: (file.filename, file.content, file.media_type)},
    )
    return request.read(), {"Content-Type": request.headers["Content-Type"]}


def too_large(backend: str, url: str, file: TicketFile) -> TicketRefused | None:
    """The refusal of a file over `MAX_FILE_BYTES`, else None."""
    if len(file.content) <= MAX_FILE_BYTES:
        return None
    reason = f"{file.filename!r} is {human_size(len(file.content))}, over the "
    reason += f"{human_size(MAX_FILE_BYTES)} a file on a ticket may be"
    return TicketRefused(backend, url, reason, status=413)


def file_error(exc: TicketError, file: TicketFile) -> TicketError:
    """`exc` (an upload's failure) again, its reason naming the file: the same class, so a
    refusal is still parked and an outage still queued."""
    reason = f"uploading {file.filename!r}: {exc.reason}"
    if isinstance(exc, TicketRefused):
        return TicketRefused(exc.backend, exc.url, reason, status=exc.status)
    return TicketUnavailable(exc.backend, exc.url, reason)


def file_line(file: TicketFile, shown: str | None = None) -> str:
    """A Markdown list item naming `file` (label, name, size), followed by `shown` (an inline
    image, a link; "" for nothing), or else by its SHA-256 so the file can be told apart."""
    head = f"- **{plain(file.label)}**: " if file.label.strip() else "- "
    # In backticks a name is shown as it is (underscores too); a backtick would end them.
    name = " ".join(file.filename.split()).replace("`", "'")[:200]
    name = f"`{name}` ({human_size(len(file.content))})"
    tail = f"sha256 `{hashlib.sha256(file.content).hexdigest()}`" if shown is None else shown
    return f"{head}{name} {tail}".rstrip()


def plain(value: str) -> str:
    """`value` on one line, without Markdown's emphasis and link characters, 200 at most:
    a label is data, never markup."""
    flat = " ".join(value.split())
    return "".join(ch for ch in flat if ch not in "*_[]<>|\\")[:200]


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def files_note(note: str, lines: list[str], heading: str) -> str:
    """`note`, then `heading` and one line a file (Markdown), as the one comment of an attach."""
    if not lines:
        return note
    return "\n".join([note.rstrip("\n"), "", heading, "", *lines])
