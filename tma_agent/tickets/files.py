"""Files on tickets, as the outbox's `attach` operation carries them: a note and the files by
reference (a path under `<state_dir>/applies/`, never the bytes: the ledger stays small), read
at send time. A file gone since (pruned), outside that folder, or over
`tickets.attachments.max_bytes` (as configured when sent) is left out, and the note says so in
one line; at most `MAX_FILES_PER_NOTE` files go with one note.

A backend with an `attach` method (`tma_agent.tickets.Attacher`) gets the files, and lists them
in its comment as it shows them best (uploaded, inline, linked); any other one gets the note
with each file named by its label and its dashboard link (or its path on the agent's host when
`web.base_url` is not set).
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tma_agent._masking import mask
from tma_agent.tickets._types import TicketFile

__all__ = [
    "MAX_FILES_PER_NOTE",
    "QueuedFile",
    "apply_file_url",
    "attached_note",
    "files_payload",
    "linked_note",
    "load_files",
    "queued_files",
]

#: Files sent with one note (a visual check makes three per page: four pages' worth).
MAX_FILES_PER_NOTE = 12
#: References kept in one outbox item; more than this is a step gone wrong, not evidence.
_MAX_QUEUED = 100
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]{0,63}/[a-z0-9][a-z0-9.+-]{0,63}")
_FILENAME = re.compile(r"[^\x00-\x1f\x7f/\\]{1,200}")


@dataclass(frozen=True)
class QueuedFile:
    path: str
    filename: str
    media_type: str
    label: str
    url: str | None = None


def apply_file_url(site: str, journal_id: int, filename: str, base_url: str = "") -> str:
    """The dashboard's address of one file of an apply (`tma serve` serves it there; ticket
    notes link to it, absolute with `web.base_url`)."""
    path = f"/sites/{quote(site, safe='')}/applies/{journal_id}/files/{quote(filename, safe='')}"
    return base_url.rstrip("/") + path


def files_payload(
    root: Path,
    files: Sequence[tuple[str, Path]],
    *,
    max_bytes: int,
    site: str,
    journal_id: int | None,
    base_url: str | None,
) -> dict[str, Any]:
    """The payload keys of an `attach` for `files` ((label, path) pairs) under `root`
    (`<state_dir>/applies`), each linked to the dashboard when `base_url` (`web.base_url`)
    and the run's journal are known."""
    queued = []
    for label, path in files[:_MAX_QUEUED]:
        name = path.name
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        url = None
        if base_url and journal_id is not None:
            url = apply_file_url(site, journal_id, name, base_url)
        queued.append(asdict(QueuedFile(str(path), name, media_type, label, url)))
    return {"files": queued, "files_root": str(root), "max_bytes": max_bytes}


def queued_files(payload: Mapping[str, Any]) -> list[QueuedFile]:
    raw = payload.get("files")
    found: list[QueuedFile] = []
    for item in raw if isinstance(raw, list) else ():
        if not isinstance(item, dict):
            continue
        fields = [item.get(k) for k in ("path", "filename", "media_type", "label")]
        strings = [v for v in fields if isinstance(v, str)]
        if len(strings) == len(fields):
            url = item.get("url")
            path, filename, media_type, label = strings
            found.append(
                QueuedFile(path, filename, media_type, label, url if isinstance(url, str) else None)
            )
    return found


def load_files(
    payload: Mapping[str, Any], queued: Sequence[QueuedFile], *, max_bytes: int | None = None
) -> tuple[list[TicketFile], list[str]]:
    """The files read now, and one line for each left out (why, by label). `max_bytes`: the
    limit configured now (else the one recorded when the note was queued)."""
    root = Path(str(payload.get("files_root") or "/nonexistent")).resolve()
    raw_limit = payload.get("max_bytes") if max_bytes is None else max_bytes
    limit = raw_limit if isinstance(raw_limit, int) and raw_limit > 0 else 0
    files: list[TicketFile] = []
    left_out: list[str] = []
    for index, item in enumerate(queued):
        if index >= MAX_FILES_PER_NOTE:
            left_out.append(f"{item.label}: not attached (at most {MAX_FILES_PER_NOTE} per note)")
            continue
        content, problem = _read(root, item, limit)
        if content is None:
            left_out.append(f"{item.label}: not attached ({problem})")
            continue
        media_type = item.media_type if _MEDIA_TYPE.fullmatch(item.media_type) else ""
        files.append(
            TicketFile(
                filename=item.filename,
                media_type=media_type or "application/octet-stream",
                content=content,
                label=item.label,
                url=item.url,
            )
        )
    return files, left_out


def _read(root: Path, item: QueuedFile, limit: int) -> tuple[bytes | None, str]:
    if root.name != "applies" or not _FILENAME.fullmatch(item.filename):
        return None, "not a file of an apply"
    path = Path(item.path).resolve()
    if not path.is_relative_to(root) or path.name != item.filename:
        return None, "not a file of an apply"
    try:
        # Resolved above; O_NOFOLLOW still refuses a symbolic link put there since.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None, "no longer on the agent's host (pruned)"
    except OSError as exc:
        return None, f"unreadable: {exc.strerror}"
    with os.fdopen(descriptor, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            return None, f"{size} bytes, over tickets.attachments.max_bytes ({limit})"
        content = handle.read(limit + 1)
    if len(content) > limit:  # grown since the stat
        return None, f"over tickets.attachments.max_bytes ({limit})"
    return content, ""


def attached_note(note: str | None, left_out: Sequence[str]) -> str:
    """The note of an attach, with a line for each file left out: the backend lists the files
    it got (label, name, size: `tma_agent.tickets.forge.uploads.file_line`), never a path."""
    lines = [note.rstrip()] if note else []
    if left_out:
        lines += ["", *(f"- {line}" for line in left_out)]
    return mask("\n".join(lines))


def linked_note(note: str | None, queued: Sequence[QueuedFile]) -> str:
    """The note for a backend that keeps no files: each one by label and link (the path on
    the agent's host without `web.base_url`)."""
    lines = [note.rstrip()] if note else []
    if queued:
        lines.append("Attachments (kept by the agent, not uploaded):")
        lines += [f"- {item.label}: {item.url or item.path}" for item in queued]
    return mask("\n".join(lines))
