"""GitHub "attachments": linked, not uploaded. GitHub's REST API has no file upload for issues
(the web editor's uploads are not part of it), so `attach` writes one comment with the note
and, per file, a link to the dashboard's copy (`TicketFile.url`, when `web.base_url` is set),
else its label, name, size and SHA-256, so the file in the agent's state can be told apart."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tma_agent.tickets import TicketFile
from tma_agent.tickets.forge.uploads import file_line, files_note

__all__ = ["linked_note"]

#: A link the comment may show: http(s), nothing that would end a Markdown destination.
_SAFE_URL = re.compile(r"https?://[^\s<>]+")


def linked_note(files: Sequence[TicketFile], note: str) -> str:
    lines = [file_line(file, _link(file.url)) for file in files]
    return files_note(note, lines, "Files (linked, not uploaded: GitHub keeps no files):")


def _link(url: str | None) -> str | None:
    if url is None or not _SAFE_URL.fullmatch(url) or len(url) > 2000:
        return None
    return f"[on the dashboard](<{url}>)"
