"""`tma report monthly|validate`: commands of the `report` group (tma_agent.cli_billing)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tma_agent.cli_billing import report_group

if TYPE_CHECKING:
    from tma_agent.cli import _State

__all__: list[str] = []

_FORMATS = ("html", "pdf", "csv", "md", "json")


@report_group.command("monthly")
@click.option("--client", "client", required=True, metavar="ID", help="The client's id.")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month reported.")
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default="html", show_default=True)
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
@click.option("--bom", is_flag=True, help="CSV: start with a UTF-8 BOM (for some spreadsheets).")
@click.pass_obj
def report_monthly(
    state: _State,
    client: str,
    month: str,
    fmt: str,
    lang: str,
    output: Path | None,
    bom: bool,
) -> None:
    """The client's monthly report: interventions, totals, the bucket and its burn-down. A
    validated month is rendered from what its validation froze (README: Monthly report)."""
    from tma_agent.billing.report import render
    from tma_agent.billing.report.data import ReportInputError, month_bounds
    from tma_agent.billing.report.freeze import report_document
    from tma_agent.billing.report.i18n import Lang
    from tma_agent.ledger import open_ledger

    month_bounds(month)  # a bad month is one line before the ledger is opened
    language: Lang = "fr" if lang == "fr" else "en"
    with open_ledger(state.config) as ledger, ledger.session() as session:
        document = report_document(session, state.config, client, month)
    data: bytes
    if fmt == "csv":
        data = render.render_csv(document, language, bom=bom).encode()
    elif fmt == "md":
        data = render.render_markdown(document, language).encode()
    elif fmt == "json":
        data = render.render_json(document, language).encode()
    else:
        html = render.render_html(document, language)
        if fmt == "html":
            data = html.encode()
        else:
            from tma_agent.billing.report.pdf import html_to_pdf

            data = html_to_pdf(html, document["validation"]["at"])
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        try:
            output.write_bytes(data)
        except OSError as exc:
            raise ReportInputError(f"--output {output}: {exc.strerror or exc}") from None
        click.echo(f"wrote {output} ({fmt}, {lang})", err=True)


@report_group.command("validate")
@click.option("--client", "client", required=True, metavar="ID", help="The client's id.")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month validated.")
@click.option("--by", "by", required=True, metavar="NAME", help="Who validated it.")
@click.pass_obj
def report_validate(state: _State, client: str, month: str, by: str) -> None:
    """Freeze the month: its report is then built from the ledger's copy alone, and changes to
    its interventions are refused (exit 6). Validating twice is refused (exit 6)."""
    from tma_agent.billing.report.data import ReportInputError, month_bounds
    from tma_agent.billing.report.freeze import validate_month
    from tma_agent.ledger import open_ledger

    month_bounds(month)
    if not by.strip():
        raise ReportInputError("--by: name who validated the month")
    with open_ledger(state.config) as ledger, ledger.session() as session:
        validation = validate_month(session, state.config, client, month, by.strip())
        count = len(validation.frozen["entries"])
        at, digest = validation.at.isoformat(timespec="seconds"), validation.checksum
    click.echo(
        f"{client} {month} validated by {by.strip()} at {at}: {count} entries, sha256 {digest}"
    )
