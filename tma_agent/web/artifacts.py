"""The files an apply attached (visual.check's before/after/changes screenshots), served from
`GET /sites/{site}/applies/{journal_id}/files/{filename}`: only a file the apply journal
recorded for that run of that site, found inside `<state_dir>/applies/<site>/` once resolved
(symbolic links followed), bounded in size; anything else is the same 404."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tma_agent.config import Config
from tma_agent.ledger.models import ApplyRun
from tma_agent.tickets.files import apply_file_url
from tma_agent.web import data
from tma_agent.web.auth import Viewer, to_login, viewer_of

if TYPE_CHECKING:
    from tma_agent.web.pages import Pages

__all__ = ["MAX_FILE_BYTES", "apply_files", "artifact_routes"]

#: A screenshot of a long page is a few MiB; anything bigger is not served.
MAX_FILE_BYTES = 32 * 1024 * 1024
#: Shown in the page (inline); every other type is a download. SVG is not among them: it
#: may carry script.
_INLINE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
#: Types a browser could run: served as bytes whatever the file's name says.
_ACTIVE = frozenset({"text/html", "text/javascript", "application/javascript"})
_VISUAL_IMAGES = ("before", "after", "changes")


def _recorded(run: ApplyRun) -> list[dict[str, Any]]:
    return [f for f in (run.context or {}).get("files") or [] if isinstance(f, dict)]


def apply_files(run: ApplyRun) -> dict[str, Any]:
    """What the site page shows of one run's files: every file (label, address) and, per page
    of a visual check, its three images with the changed ratio."""
    files: list[dict[str, str]] = []
    pages: dict[str, dict[str, Any]] = {}
    for entry in _recorded(run):
        name = Path(str(entry.get("path", ""))).name
        url = apply_file_url(run.site, run.id, name)
        files.append({"label": str(entry.get("label", name)), "url": url})
        image, page = entry.get("image"), entry.get("page")
        if image in _VISUAL_IMAGES and isinstance(page, str):
            shown = pages.setdefault(
                page,
                {"page": page, "ratio": entry.get("ratio"), "threshold": entry.get("threshold")},
            )
            shown[image] = url
    visual = [p for p in pages.values() if all(k in p for k in _VISUAL_IMAGES)]
    return {"files": files, "visual": visual}


def _find(config: Config, pages: Pages, viewer: Viewer, params: dict[str, Any]) -> Path:
    """The file's resolved path, or NotFound: another client's site, another site's run, a
    name the journal did not record, a path that leads out of the site's applies."""
    site_id, journal_id, filename = params["site"], int(params["journal_id"]), params["filename"]
    site = next((s for s in config.sites if s.id == site_id), None)
    if site is None or not viewer.sees(site.client):
        raise data.NotFound(site_id)
    with pages.ledger.session() as session:
        run = session.get(ApplyRun, journal_id)
        recorded = _recorded(run) if run is not None and run.site == site.id else []
    wanted = [Path(str(f.get("path", ""))) for f in recorded]
    path = next((p for p in wanted if p.name == filename), None)
    if path is None:
        raise data.NotFound(filename)
    root = (config.state_path / "applies" / site.id).resolve()
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):  # gone, or a loop of links
        raise data.NotFound(filename) from None
    if not resolved.is_relative_to(root) or not resolved.is_file():
        raise data.NotFound(filename)
    return resolved


def _read_bounded(path: Path) -> bytes:
    with path.open("rb") as handle:
        body = handle.read(MAX_FILE_BYTES + 1)
    if len(body) > MAX_FILE_BYTES:
        raise data.NotFound(path.name)
    return body


def _attachment(name: str) -> str:
    """A download under the file's own name. One that needs escaping goes in `filename*`
    (RFC 6266, UTF-8 percent-encoded), which browsers decode; percent-escapes in a plain
    `filename="..."` are saved as written (`notes%20%231.txt`)."""
    quoted = quote(name, safe="")
    if quoted == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename*=UTF-8''{quoted}"


def artifact_routes(pages: Pages) -> list[Route]:
    config: Config = pages.config

    def load(viewer: Viewer, params: dict[str, Any]) -> tuple[bytes, str]:
        path = _find(config, pages, viewer, params)
        return _read_bounded(path), path.name

    async def endpoint(request: Request) -> Response:
        viewer = viewer_of(request, config.web)
        if viewer is None:
            return to_login(request)  # back here: a ticket note's link opens the file
        try:
            body, name = await run_in_threadpool(load, viewer, dict(request.path_params))
        except (data.NotFound, OSError):
            return pages.error(request, 404, "not found", api=False)
        media = mimetypes.guess_type(name)[0] or "application/octet-stream"
        headers = {}
        if media not in _INLINE:
            if media in _ACTIVE or media.endswith(("+xml", "/xml")):
                media = "application/octet-stream"  # a page or a script: bytes, never run
            headers["content-disposition"] = _attachment(name)
        return Response(body, media_type=media, headers=headers)

    path = "/sites/{site}/applies/{journal_id:int}/files/{filename}"
    return [Route(path, endpoint, methods=["GET"])]
