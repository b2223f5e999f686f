"""`POST /hooks/gitlab|github|jira`: a ticket system says an issue changed; the request is
read back from it at once (`tma requests sync`'s logic, for that one ticket) instead of at the
next run.

Each hook is verified before its body is even parsed: GitLab's `X-Gitlab-Token`, GitHub's
`X-Hub-Signature-256` (HMAC-SHA256 of the body), Jira's secret path token. The body only
names the ticket: what it means (validated, rejected, closed) is read from the ticket system
through the configured backend, so a forged or replayed body can change nothing by itself."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pluggy
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tma_agent.config import Config
from tma_agent.ledger.database import Ledger
from tma_agent.web.settings import Webhooks

__all__ = ["MAX_BODY_BYTES", "hook_routes"]

#: Issue events are a few kilobytes; anything much bigger is refused unread.
MAX_BODY_BYTES = 1 << 20

#: (verified?, the ticket reference in the body or None) for (request, body, secrets).
_Reader = Callable[[Request, bytes, Webhooks], tuple[bool, str | None]]


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _gitlab(request: Request, body: bytes, hooks: Webhooks) -> tuple[bool, str | None]:
    assert hooks.gitlab is not None  # noqa: S101 - routes exist only for configured hooks
    if not _same(request.headers.get("x-gitlab-token"), hooks.gitlab.token):
        return False, None
    data = _json(body)
    attributes = data.get("object_attributes")
    # Newer GitLab sends issues as work items too.
    if data.get("object_kind") not in ("issue", "work_item") or not isinstance(attributes, dict):
        return True, None
    iid = attributes.get("iid")
    return True, str(iid) if isinstance(iid, int) else None


def _github(request: Request, body: bytes, hooks: Webhooks) -> tuple[bool, str | None]:
    assert hooks.github is not None  # noqa: S101
    digest = hmac.new(hooks.github.secret.encode(), body, hashlib.sha256).hexdigest()
    if not _same(request.headers.get("x-hub-signature-256"), f"sha256={digest}"):
        return False, None
    if request.headers.get("x-github-event") != "issues":
        return True, None  # `ping` and the rest: verified, nothing to read back
    issue = _json(body).get("issue")
    number = issue.get("number") if isinstance(issue, dict) else None
    return True, str(number) if isinstance(number, int) else None


def _jira(request: Request, body: bytes, hooks: Webhooks) -> tuple[bool, str | None]:
    assert hooks.jira is not None  # noqa: S101
    if not _same(request.path_params.get("token"), hooks.jira.token):
        return False, None
    issue = _json(body).get("issue")
    key = issue.get("key") if isinstance(issue, dict) else None
    return True, key if isinstance(key, str) and 0 < len(key) <= 100 else None


async def _bounded_body(request: Request) -> bytes | None:
    """The body, or None past MAX_BODY_BYTES: read in chunks (a chunked body declares no
    length), never more than the limit held in memory."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _read_back(
    config: Config, pm: pluggy.PluginManager, ledger: Ledger, backend: str, ref: str
) -> dict[str, Any]:
    from tma_agent.tickets.registry import registered_ticket_backends
    from tma_agent.tickets.sync import sync_states
    from tma_agent.tickets.targets import Backends

    backends = Backends(config, registered_ticket_backends(pm))
    try:
        report = sync_states(ledger, backends.target_of, refs=[ref], ticket_backend=backend)
    finally:
        backends.close()
    return {
        "ticket": ref,
        "changes": [
            {"request": c.fingerprint, "status": c.status, "change": c.change}
            for c in report.changes
        ],
        "errors": report.errors,
    }


def _endpoint(
    name: str, reader: _Reader, config: Config, pm: pluggy.PluginManager, ledger: Ledger
) -> Callable[[Request], Any]:
    async def hook(request: Request) -> Response:
        body = await _bounded_body(request)
        if body is None:
            return JSONResponse({"error": "body too large"}, status_code=413)
        verified, ref = reader(request, body, config.web.webhooks)
        if not verified:
            return JSONResponse({"error": "not verified"}, status_code=401)
        if ref is None:
            return JSONResponse({"ticket": None, "changes": [], "errors": []})
        answer = await run_in_threadpool(_read_back, config, pm, ledger, name, ref)
        # A ticket system that cannot be read now: 503 makes the sender retry later.
        return JSONResponse(answer, status_code=503 if answer["errors"] else 200)

    return hook


def hook_routes(config: Config, pm: pluggy.PluginManager, ledger: Ledger) -> list[Route]:
    """One route per configured webhook; an unconfigured one does not exist (404)."""
    hooks = config.web.webhooks
    routes = []
    if hooks.gitlab is not None:
        routes.append(
            Route(
                "/hooks/gitlab", _endpoint("gitlab", _gitlab, config, pm, ledger), methods=["POST"]
            )
        )
    if hooks.github is not None:
        routes.append(
            Route(
                "/hooks/github", _endpoint("github", _github, config, pm, ledger), methods=["POST"]
            )
        )
    if hooks.jira is not None:
        routes.append(
            Route(
                "/hooks/jira/{token}",
                _endpoint("jira", _jira, config, pm, ledger),
                methods=["POST"],
            )
        )
    return routes
