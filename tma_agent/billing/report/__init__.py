"""The monthly client report: its document gathered from the ledger (`data`), frozen by a
validation (`freeze`), rendered as HTML, Markdown, CSV, JSON (`render`) and PDF (`pdf`), in
French or English (`i18n`), with the bucket's burn-down chart (`chart`).

Importing this package imports SQLAlchemy; the CLI imports it only inside its commands."""

from __future__ import annotations

from tma_agent.billing.report.data import ReportInputError, checksum, gather, month_bounds
from tma_agent.billing.report.freeze import AlreadyValidated, report_document, validate_month
from tma_agent.billing.report.render import render_csv, render_html, render_json, render_markdown

__all__ = [
    "AlreadyValidated",
    "ReportInputError",
    "checksum",
    "gather",
    "month_bounds",
    "render_csv",
    "render_html",
    "render_json",
    "render_markdown",
    "report_document",
    "validate_month",
]
