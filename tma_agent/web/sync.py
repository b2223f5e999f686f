"""The requests page's "sync now" (`POST /requests/sync`): what `tma requests sync` runs
(`sync_states`), for ticket systems without webhooks (Redmine 5.0) or a hook that was missed.
Staff read back every open request's ticket; a client account its own client's only. At most
one sync per `web.sync_every_seconds` for each of them, whichever server on the ledger is
asked (`tma_agent.web.limits.Spacing`); what changed is shown on the page (or
in the fragment the page's script swaps in), a ticket system that cannot be read in one line.
Nothing is lost then: the ticket keeps what people decided, read at the next sync or run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tma_agent.errors import TmaError
from tma_agent.ledger.models import Request as LedgerRequest
from tma_agent.web import data
from tma_agent.web.auth import CSRF_FIELD, Viewer, check_csrf, viewer_of
from tma_agent.web.limits import Spacing
from tma_agent.web.prefix import redirect

if TYPE_CHECKING:
    from tma_agent.web.pages import Pages

__all__ = ["FLASH_KEY", "SHOWN_CHANGES", "SyncNow", "sync_routes"]

#: The session key carrying a sync's outcome to the page the browser is sent to next.
FLASH_KEY = "synced"
#: Changes listed on the page (the session cookie stays small); the rest are counted.
SHOWN_CHANGES = 10
_FRAGMENT = "requests"


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class SyncNow:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        # In the ledger: every server on it (workers, a restart) spaces the syncs alike.
        self.spacing = Spacing(pages.ledger, pages.config.web.sync_every_seconds)

    def _sync(self, viewer: Viewer) -> dict[str, Any]:
        from tma_agent.tickets.registry import registered_ticket_backends
        from tma_agent.tickets.sync import sync_states
        from tma_agent.tickets.targets import Backends

        config = self.pages.config
        sites = None if viewer.staff else [s.id for s in config.sites if viewer.sees(s.client)]
        backends = Backends(config, registered_ticket_backends(self.pages.pm))
        try:
            report = sync_states(self.pages.ledger, backends.target_of, sites=sites)
            changes, errors = report.changes, report.errors
        except TmaError as exc:  # a backend that cannot even be built (its settings)
            changes, errors = [], [str(exc)]
        finally:
            backends.close()
        with self.pages.ledger.session() as session:
            found = {
                fingerprint: (number, title)
                for fingerprint, number, title in session.execute(
                    select(LedgerRequest.fingerprint, LedgerRequest.id, LedgerRequest.title).where(
                        LedgerRequest.fingerprint.in_([c.fingerprint for c in changes])
                    )
                )
            }
        shown = [
            {
                "request": found.get(c.fingerprint, (None, ""))[0],
                "title": _one_line(found.get(c.fingerprint, (None, ""))[1], 60),
                "ticket": _one_line(c.ticket, 40),
                "status": _one_line(c.status, 40),
                "change": c.change,
            }
            for c in changes[:SHOWN_CHANGES]
        ]
        error = None
        if errors:
            # Staff see the ticket system's answer (masked, one line); a client only that
            # it could not be read: URLs and answers are the agency's plumbing.
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            error = (
                f"ticket system: {_one_line(errors[0])}{more}"
                if viewer.staff
                else "the ticket system could not be read now: try again later"
            )
        return {
            "changed": len(changes),
            "changes": shown,
            "more": max(0, len(changes) - SHOWN_CHANGES),
            "error": error,
            "refused": None,
        }

    async def submit(self, request: Request) -> Response:
        fragment = request.query_params.get("fragment") == _FRAGMENT
        viewer = viewer_of(request, self.pages.config.web)
        if viewer is None:
            return redirect(request, "/login")
        form = await request.form()
        if not check_csrf(request, form.get(CSRF_FIELD)):
            return self.pages.error(request, 403, "the form expired: reload the page", api=False)
        scope = "all" if viewer.staff else f"client:{viewer.client}"
        wait = await run_in_threadpool(self.spacing.wait_for, scope)
        if wait:
            outcome: dict[str, Any] = {
                "changed": 0,
                "changes": [],
                "more": 0,
                "error": None,
                "refused": f"synced a moment ago: the next sync can run in {wait} s",
            }
        else:
            outcome = await run_in_threadpool(self._sync, viewer)
        if not fragment:
            request.session[FLASH_KEY] = outcome
            return redirect(request, "/requests")
        found = await run_in_threadpool(data.requests_by_state, self.pages.ledger, viewer)
        return self.pages.render(
            request,
            "partials/requests.html.j2",
            429 if wait else 200,
            data=found,
            synced=outcome,
        )


def sync_routes(pages: Pages) -> list[Route]:
    return [Route("/requests/sync", SyncNow(pages).submit, methods=["POST"])]
