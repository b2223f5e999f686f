"""The dashboard's pages and their `/api/` twins (the same data as JSON), and the portal's
two writes: a client validating a month's report or a request, recorded exactly as
`tma report validate` / `tma requests validate` would, with the source `portal`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pluggy
from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tma_agent.config import Config
from tma_agent.errors import TmaError
from tma_agent.ledger.database import Ledger
from tma_agent.web import data
from tma_agent.web.auth import CSRF_FIELD, Viewer, check_csrf, csrf_token, to_login, viewer_of
from tma_agent.web.prefix import redirect, root_of
from tma_agent.web.sync import FLASH_KEY

__all__ = ["Pages"]

#: (config, ledger, viewer, path parameters) -> the page's data.
_Loader = Callable[[Config, Ledger, Viewer, dict[str, Any]], dict[str, Any]]


#: Query parameters a page may show back (escaped, like everything): its notices and filters.
_SHOWN_QUERY = frozenset({"client", "status", "stack", "sort"})


@dataclass
class Pages:
    config: Config
    ledger: Ledger
    templates: Environment
    pm: pluggy.PluginManager

    def render(self, request: Request, name: str, code: int = 200, **context: Any) -> Response:
        template = self.templates.get_template(name)
        viewer = viewer_of(request, self.config.web)
        # `now`: when the page (or a fragment swapped in) was made, shown on the runs page.
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        body = template.render(
            viewer=viewer,
            csrf=csrf_token(request),
            csrf_field=CSRF_FIELD,
            now=now,
            root=root_of(request),  # every link of a template starts with it
            **context,
        )
        return HTMLResponse(body, status_code=code)

    def error(self, request: Request, status: int, message: str, *, api: bool) -> Response:
        if api:
            return JSONResponse({"error": message}, status_code=status)
        return self.render(request, "error.html.j2", status, status=status, message=message)

    def twin(
        self, path: str, api_path: str, template: str, load: _Loader, fragment: str | None = None
    ) -> list[Route]:
        """The HTML page at `path` and its JSON twin at `api_path`, from one loader. With a
        `fragment`, `path?fragment=NAME` answers only the part of the page in
        `partials/NAME.html.j2` (what static/enhance.js swaps in place)."""

        async def answer(request: Request, *, api: bool) -> Response:
            viewer = viewer_of(request, self.config.web)
            if viewer is None:
                if api:
                    return JSONResponse({"error": "log in first"}, status_code=401)
                return to_login(request)
            params = {**request.path_params, "query": dict(request.query_params)}
            try:
                found = await run_in_threadpool(load, self.config, self.ledger, viewer, params)
            except data.NotFound:
                return self.error(request, 404, "not found", api=api)
            except TmaError as exc:  # a bad month in the address: one line, no traceback
                return self.error(request, 404, str(exc), api=api)
            if api:
                return JSONResponse(found)
            query = {k: v for k, v in request.query_params.items() if k in _SHOWN_QUERY}
            shown = template
            if "fragment" in request.query_params:
                if fragment is None or request.query_params["fragment"] != fragment:
                    return self.error(request, 404, "no such fragment", api=False)
                shown = f"partials/{fragment}.html.j2"
            # A "sync now" the browser was sent here from (sync.py): shown once.
            synced = request.session.pop(FLASH_KEY, None)
            return self.render(
                request, shown, data=found, params=params, request_query=query, synced=synced
            )

        async def page(request: Request) -> Response:
            return await answer(request, api=False)

        async def api(request: Request) -> Response:
            return await answer(request, api=True)

        return [Route(path, page, methods=["GET"]), Route(api_path, api, methods=["GET"])]

    async def _client_write(
        self, request: Request, client_of: Callable[[], str | None]
    ) -> tuple[Viewer | None, Response | None]:
        """The viewer allowed to write for the client the address names, or the refusal."""
        viewer = viewer_of(request, self.config.web)
        if viewer is None:
            return None, redirect(request, "/login")
        form = await request.form()
        if not check_csrf(request, form.get(CSRF_FIELD)):
            return None, self.error(request, 403, "the form expired: reload the page", api=False)
        client = await run_in_threadpool(client_of)
        if client is None or not viewer.sees(client):
            return None, self.error(request, 404, "not found", api=False)
        if viewer.staff:
            # The client's own act: the agency records one with the CLI (`--by`).
            message = "only the client's account validates (staff: tma report validate --by)"
            return None, self.error(request, 403, message, api=False)
        return viewer, None

    async def validate_month(self, request: Request) -> Response:
        from tma_agent.billing.report.freeze import validate_month

        client, month = request.path_params["client"], request.path_params["month"]
        known = any(c.id == client for c in self.config.clients)
        viewer, refused = await self._client_write(request, lambda: client if known else None)
        if refused is not None or viewer is None:
            return refused or self.error(request, 403, "refused", api=False)

        def record() -> None:
            with self.ledger.session() as session:
                validate_month(session, self.config, client, month, viewer.name, source="portal")

        try:
            await run_in_threadpool(record)
        except TmaError as exc:  # already validated, a bad month
            return self.error(request, 409, str(exc), api=False)
        from tma_agent.billing.report.notice import send_month_notice

        # Its notice ticket goes now when the ticket system answers; else with the next run.
        await run_in_threadpool(send_month_notice, self.config, self.pm, self.ledger, client, month)
        return redirect(request, f"/clients/{quote(client)}/months/{quote(month)}")

    async def validate_request(self, request: Request) -> Response:
        from tma_agent.ledger.models import Request as LedgerRequest
        from tma_agent.tickets.sync import validate_request

        request_id = int(request.path_params["request_id"])

        def client_of() -> str | None:
            with self.ledger.session() as session:
                found = session.get(LedgerRequest, request_id)
                return found.client if found is not None else None

        viewer, refused = await self._client_write(request, client_of)
        if refused is not None or viewer is None:
            return refused or self.error(request, 403, "refused", api=False)
        from tma_agent.web.writeback import send_validation_note

        await run_in_threadpool(
            validate_request, self.ledger, str(request_id), viewer.name, source="portal"
        )
        # Written back at once when the ticket system answers; else queued for the next run.
        await run_in_threadpool(send_validation_note, self.config, self.pm, self.ledger, request_id)
        return redirect(request, f"/requests/{request_id}")

    def routes(self) -> list[Route]:
        def fleet(c: Config, led: Ledger, v: Viewer, p: dict[str, Any]) -> dict[str, Any]:
            return data.filtered(data.fleet(c, led, v), p["query"])

        def site(c: Config, led: Ledger, v: Viewer, p: dict[str, Any]) -> dict[str, Any]:
            return data.site_detail(c, led, v, p["site"])

        def requests(c: Config, led: Ledger, v: Viewer, _: dict[str, Any]) -> dict[str, Any]:
            return data.requests_by_state(led, v)

        def one_request(c: Config, led: Ledger, v: Viewer, p: dict[str, Any]) -> dict[str, Any]:
            return data.request_detail(led, v, int(p["request_id"]))

        def clients(c: Config, led: Ledger, v: Viewer, _: dict[str, Any]) -> dict[str, Any]:
            return data.clients(c, led, v)

        def client(c: Config, led: Ledger, v: Viewer, p: dict[str, Any]) -> dict[str, Any]:
            return data.client_detail(c, led, v, p["client"])

        def month(c: Config, led: Ledger, v: Viewer, p: dict[str, Any]) -> dict[str, Any]:
            return data.month_report(c, led, v, p["client"], p["month"])

        def runs(c: Config, led: Ledger, v: Viewer, _: dict[str, Any]) -> dict[str, Any]:
            return data.runs(c, v)

        return [
            *self.twin("/", "/api/fleet", "fleet.html.j2", fleet),
            *self.twin("/sites/{site}", "/api/sites/{site}", "site.html.j2", site),
            *self.twin("/requests", "/api/requests", "requests.html.j2", requests, "requests"),
            *self.twin(
                "/requests/{request_id:int}",
                "/api/requests/{request_id:int}",
                "request.html.j2",
                one_request,
            ),
            Route("/requests/{request_id:int}/validate", self.validate_request, methods=["POST"]),
            *self.twin("/clients", "/api/clients", "clients.html.j2", clients),
            *self.twin("/clients/{client}", "/api/clients/{client}", "client.html.j2", client),
            *self.twin(
                "/clients/{client}/months/{month}",
                "/api/clients/{client}/months/{month}",
                "month.html.j2",
                month,
            ),
            Route(
                "/clients/{client}/months/{month}/validate", self.validate_month, methods=["POST"]
            ),
            *self.twin("/runs", "/api/runs", "runs.html.j2", runs, "runs"),
        ]
