"""`tma report monthly|validate`: commands of the `report` group (tma_agent.cli_billing)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    from tma_agent.billing.report.data import ReportInputError

    data = _rendered(state, client, month, fmt, lang, bom=bom)[1]
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        try:
            output.write_bytes(data)
        except OSError as exc:
            raise ReportInputError(f"--output {output}: {exc.strerror or exc}") from None
        click.echo(f"wrote {output} ({fmt}, {lang})", err=True)


def _rendered(
    state: _State, client: str, month: str, fmt: str, lang: str, *, bom: bool = False
) -> tuple[dict[str, Any], bytes]:
    """(the report document, the report in `fmt`)."""
    from tma_agent.billing.report import render
    from tma_agent.billing.report.data import month_bounds
    from tma_agent.billing.report.freeze import report_document
    from tma_agent.billing.report.i18n import Lang
    from tma_agent.ledger import open_ledger

    month_bounds(month)  # a bad month is one line before the ledger is opened
    language: Lang = "fr" if lang == "fr" else "en"
    with open_ledger(state.config) as ledger, ledger.session() as session:
        document = report_document(session, state.config, client, month)
    if fmt == "csv":
        return document, render.render_csv(document, language, bom=bom).encode()
    if fmt == "md":
        return document, render.render_markdown(document, language).encode()
    if fmt == "json":
        return document, render.render_json(document, language).encode()
    html = render.render_html(document, language)
    if fmt == "html":
        return document, html.encode()
    from tma_agent.billing.report.pdf import html_to_pdf

    return document, html_to_pdf(html, document["validation"]["at"])


_SUBJECT = {
    "fr": "Rapport mensuel TMA {name} : {month}",
    "en": "Maintenance report {name}: {month}",
}
_BODY = {
    "fr": "Bonjour,\n\nVeuillez trouver ci-joint le rapport d'interventions de {month} pour "
    "{name}.\n{state}\n\nCordialement,\n",
    "en": "Hello,\n\nPlease find attached the maintenance report of {month} for {name}.\n"
    "{state}\n\nBest regards,\n",
}
_STATE = {
    "fr": ("Ce mois est validé.", "Ce mois n'est pas encore validé : merci de le valider."),
    "en": ("This month is validated.", "This month is not validated yet: please validate it."),
}


@report_group.command("send")
@click.option("--client", "client", required=True, metavar="ID", help="The client's id.")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month reported.")
@click.option("--to", "to", multiple=True, metavar="ADDRESS", help="Default: clients[].report_to.")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
@click.option("--dry-run", is_flag=True, help="Build the mail and say what would be sent.")
@click.pass_obj
def report_send(
    state: _State, client: str, month: str, to: tuple[str, ...], lang: str, dry_run: bool
) -> None:
    """Mail the client's monthly report (PDF and CSV attached, the HTML as the body) with the
    `notify.email` server (README: Monthly report). Exit 3 when the mail could not be sent."""
    from tma_agent.billing.report.data import ReportInputError
    from tma_agent.service.mailer import Attachment, build_message, send_mail

    config = state.config
    settings = config.notify.email
    if settings is None:
        raise ReportInputError("notify.email: no SMTP server configured to send the report")
    found = next((c for c in config.clients if c.id == client), None)
    recipients = list(to) or (list(found.report_to) if found else [])
    if not recipients:
        raise ReportInputError(f"client {client!r}: no recipient (--to or clients[].report_to)")
    document, pdf = _rendered(state, client, month, "pdf", lang)
    _, html = _rendered(state, client, month, "html", lang)
    _, csv = _rendered(state, client, month, "csv", lang)
    name = document["client"]["name"]
    validated = bool(document["validation"]["validated"])
    words = {"name": name, "month": month}
    body = _BODY[lang].format(**words, state=_STATE[lang][0 if validated else 1])
    stem = f"tma-{client}-{month}"
    message = build_message(
        settings,
        _SUBJECT[lang].format(**words),
        body,
        to=recipients,
        html=html.decode(),
        attachments=[
            Attachment(f"{stem}.pdf", pdf, "application/pdf"),
            Attachment(f"{stem}.csv", csv, "text/csv"),
        ],
    )
    if dry_run:
        click.echo(
            f"would send {message['Subject']!r} to {', '.join(recipients)} ({len(pdf)} bytes of PDF)"
        )
        return
    send_mail(settings, message)
    click.echo(f"sent {message['Subject']!r} to {', '.join(recipients)}")


@report_group.command("validate")
@click.option("--client", "client", required=True, metavar="ID", help="The client's id.")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month validated.")
@click.option("--by", "by", required=True, metavar="NAME", help="Who validated it.")
@click.pass_obj
def report_validate(state: _State, client: str, month: str, by: str) -> None:
    """Freeze the month: its report is then built from the ledger's copy alone, and changes to
    its interventions are refused (exit 6). Validating twice is refused (exit 6). The
    validation is written to the client's ticket system (a notice ticket), now or, when it
    does not answer, by the next run (exit 3)."""
    from tma_agent.billing.report.data import ReportInputError, month_bounds
    from tma_agent.billing.report.freeze import validate_month
    from tma_agent.billing.report.notice import send_month_notice
    from tma_agent.ledger import open_ledger

    month_bounds(month)
    if not by.strip():
        raise ReportInputError("--by: name who validated the month")
    with open_ledger(state.config) as ledger:
        with ledger.session() as session:
            validation = validate_month(session, state.config, client, month, by.strip())
            count = len(validation.frozen["entries"])
            at, digest = validation.at.isoformat(timespec="seconds"), validation.checksum
        click.echo(
            f"{client} {month} validated by {by.strip()} at {at}: {count} entries, sha256 {digest}"
        )
        errors = send_month_notice(state.config, state.pm, ledger, client, month)
    for error in errors:  # the notice stays queued for the next run
        click.echo(f"ticket system: {error}", err=True)
    if errors:
        sys.exit(3)
