"""A month's report as files, for the viewer who may see the month: its burn-down chart (the
PNG the report embeds), its PDF and its CSV, rendered as `tma report monthly` renders them
(`?lang=fr|en`, French by default like the CLI)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tma_agent.config import Config
from tma_agent.errors import TmaError
from tma_agent.web import data
from tma_agent.web.auth import Viewer, to_login, viewer_of

if TYPE_CHECKING:
    from tma_agent.web.pages import Pages

__all__ = ["download_routes"]

#: (document, lang) -> (bytes, media type).
_Render = Callable[[dict[str, Any], str], tuple[bytes, str]]


def _chart(document: dict[str, Any], lang: str) -> tuple[bytes, str]:
    from tma_agent.billing.report.chart import burndown_png
    from tma_agent.billing.report.i18n import Formats

    if document["bucket"] is None:
        raise data.NotFound("no contract, no bucket")
    return burndown_png(document["bucket"], Formats("en" if lang == "en" else "fr")), "image/png"


def _pdf(document: dict[str, Any], lang: str) -> tuple[bytes, str]:
    from tma_agent.billing.report.pdf import html_to_pdf
    from tma_agent.billing.report.render import render_html

    html = render_html(document, "en" if lang == "en" else "fr")
    return html_to_pdf(html, document["validation"]["at"]), "application/pdf"


def _csv(document: dict[str, Any], lang: str) -> tuple[bytes, str]:
    from tma_agent.billing.report.render import render_csv

    return render_csv(document, "en" if lang == "en" else "fr").encode(), "text/csv; charset=utf-8"


def download_routes(pages: Pages) -> list[Route]:
    """Routes answered with `pages`' configuration, ledger and error pages."""
    config: Config = pages.config

    def route(suffix: str, render: _Render, attachment: bool) -> Route:
        def build(viewer: Viewer, client: str, month: str, lang: str) -> tuple[bytes, str]:
            from tma_agent.billing.report.freeze import report_document

            if not viewer.sees(client) or not any(c.id == client for c in config.clients):
                raise data.NotFound(client)
            session: Session
            with pages.ledger.session() as session:
                document = report_document(session, config, client, month)
            return render(document, lang)

        async def endpoint(request: Request) -> Response:
            viewer = viewer_of(request, config.web)
            if viewer is None:
                return to_login(request)  # a report's link in a mail opens the report
            client, month = request.path_params["client"], request.path_params["month"]
            lang = request.query_params.get("lang", "fr")
            try:
                body, media = await run_in_threadpool(build, viewer, client, month, lang)
            except data.NotFound:
                return pages.error(request, 404, "not found", api=False)
            except TmaError as exc:  # a bad month, Chromium failing: one line
                return pages.error(request, 404, str(exc), api=False)
            headers = {}
            if attachment:
                name = f"tma-{client}-{month}.{suffix.rsplit('.', 1)[-1]}"
                headers["content-disposition"] = f'attachment; filename="{name}"'
            return Response(body, media_type=media, headers=headers)

        return Route(f"/clients/{{client}}/months/{{month}}/{suffix}", endpoint, methods=["GET"])

    return [
        route("burndown.png", _chart, attachment=False),
        route("report.pdf", _pdf, attachment=True),
        route("report.csv", _csv, attachment=True),
    ]
