"""The report's text formats: HTML (self-contained, Jinja2 with autoescape), Markdown, CSV
and JSON, each from the report document alone (tma_agent.billing.report.freeze)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from tma_agent.billing.report.chart import burndown_png, data_uri
from tma_agent.billing.report.i18n import Formats, Lang
from tma_agent.billing.report.view import totals

__all__ = ["render_csv", "render_html", "render_json", "render_markdown"]


def _request_cell(entry: dict[str, Any], formats: Formats) -> str:
    return entry["request"] or "-"


def _adjusts(entry: dict[str, Any], formats: Formats) -> str:
    adjusts = entry["adjusts"]
    return "" if adjusts is None else formats.word("adjustment", **adjusts)


def render_html(document: dict[str, Any], lang: Lang) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    formats = Formats(lang)
    environment = Environment(
        loader=PackageLoader("tma_agent.billing.report", "templates"),
        autoescape=select_autoescape(["html.j2"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    bucket = document["bucket"]
    chart = data_uri(burndown_png(bucket, formats)) if bucket else None
    return environment.get_template("monthly.html.j2").render(
        d=document,
        t=totals(document),
        f=formats,
        chart=chart,
        adjusts=lambda entry: _adjusts(entry, formats),
    )


def render_markdown(document: dict[str, Any], lang: Lang) -> str:
    f = Formats(lang)
    t = totals(document)
    client, stamp = document["client"], document["validation"]
    out = [f"# {f.word('title')}: {client['name']}, {f.month(document['month'])}", ""]
    out += [_status_line(document, f), ""]
    out += [f"## {f.word('interventions')}", ""]
    if document["entries"]:
        head = ("date", "site", "request", "kind", "description", "who", "hours")
        out.append("| " + " | ".join(f.word(h) for h in head) + " |")
        out.append("|" + "---|" * (len(head) - 1) + "---:|")
        for e in document["entries"]:
            description = e["description"] + (f" ({_adjusts(e, f)})" if e["adjusts"] else "")
            cells = (
                f.date(e["date"]), e["site"], _request_cell(e, f), f.word(e["kind"]),
                description, e["who"], f.hours(e["billed_minutes"]),
            )  # fmt: skip
            out.append("| " + " | ".join(_md(c) for c in cells) + " |")
        out.append(f"| **{f.word('total')}** |" + " |" * 5 + f" **{f.hours(t.minutes)}** |")
    else:
        out.append(f.word("none"))
    for title, rows in (
        ("by_kind", [(f.word(k), m) for k, m in t.by_kind]),
        ("by_site", t.by_site),
    ):
        out += ["", f"## {f.word(title)}", ""]
        out += [f"- {_md(name)}: {f.hours(minutes)}" for name, minutes in rows]
    out += ["", f"## {f.word('bucket')}", ""]
    bucket = document["bucket"]
    if bucket is None:
        out.append(f.word("no_contract"))
    else:
        start, end = f.date(bucket["period_start"]), f.date(bucket["period_end"])
        out += [f.word("period", start=start, end=end), ""]
        out += [f"- {label}: {value}" for label, value in _bucket_rows(document, f)]
    out += ["", "---", "", f"{f.word('checksum')}: `{stamp['checksum']}`", ""]
    return "\n".join(out)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _status_line(document: dict[str, Any], f: Formats) -> str:
    stamp = document["validation"]
    if not stamp["validated"]:
        return f"**{f.word('draft')}**"
    return f.word("validated", by=stamp["by"], at=f.moment(stamp["at"]))


def _bucket_rows(document: dict[str, Any], f: Formats) -> list[tuple[str, str]]:
    bucket, contract = document["bucket"], document["contract"]
    if bucket is None:
        return []
    rows = [
        (f.word("bought"), f.hours(bucket["bought_minutes"])),
        (f.word("carried"), f.hours(bucket["carried_minutes"])),
        (f.word("at_start"), f.hours(bucket["at_month_start_minutes"])),
        (f.word("consumed"), f.hours(bucket["consumed_minutes"])),
        (f.word("remaining"), f.hours(bucket["remaining_minutes"])),
        (f.word("overage"), f.hours(bucket["overage_minutes"])),
    ]
    if contract["overage_rate"] is not None:
        rows.append((f.word("rate"), f.money(contract["overage_rate"], contract["currency"])))
    if bucket["overage_amount"] is not None:
        rows.append(
            (f.word("overage_amount"), f.money(bucket["overage_amount"], contract["currency"]))
        )
    return rows


def render_csv(document: dict[str, Any], lang: Lang, *, bom: bool = False) -> str:
    """One row per intervention, then labelled total rows (first column `total`, `kind`,
    `site`, `bucket`). `minutes` is exact; `hours` is the same time as h:mm; `;` for fr."""
    f = Formats(lang)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if lang == "fr" else ",", lineterminator="\r\n")
    head = ("date", "site", "request", "kind", "description", "who", "minutes", "hours")
    writer.writerow(["row", *(f.word(h) for h in head), "adjusts"])
    for e in document["entries"]:
        adjusts = e["adjusts"]
        writer.writerow(
            ["entry", e["date"], e["site"], e["request"] or "", e["kind"], e["description"],
             e["who"], e["billed_minutes"], f.hours(e["billed_minutes"]),
             "" if adjusts is None else adjusts["id"]]
        )  # fmt: skip
    t = totals(document)
    blank = [""] * 5
    writer.writerow(["total", *blank, "", t.minutes, f.hours(t.minutes), ""])
    for kind, minutes in t.by_kind:
        writer.writerow(["kind", "", "", "", kind, "", "", minutes, f.hours(minutes), ""])
    for site, minutes in t.by_site:
        writer.writerow(["site", "", site, *blank[:4], minutes, f.hours(minutes), ""])
    bucket, contract = document["bucket"], document["contract"]
    if bucket is not None:
        period = f"{bucket['period_start']}/{bucket['period_end']}"
        writer.writerow(["period", period, *[""] * 8])
        for key in ("bought", "carried", "at_month_start", "consumed", "remaining", "overage"):
            minutes = bucket[f"{key}_minutes"]
            writer.writerow(["bucket", "", "", "", "", key, "", minutes, f.hours(minutes), ""])
        if bucket["overage_amount"] is not None:
            amount = f.plain_money(bucket["overage_amount"])
            writer.writerow(
                ["bucket", "", "", "", "", "overage_amount", contract["currency"], amount, "", ""]
            )
    writer.writerow(["checksum", document["validation"]["checksum"], *[""] * 8])
    return ("\ufeff" if bom else "") + buffer.getvalue()


def render_json(document: dict[str, Any], lang: Lang) -> str:
    t = totals(document)
    body = {
        **document,
        "lang": lang,
        "totals": {
            "billed_minutes": t.minutes,
            "by_kind": [{"kind": k, "billed_minutes": m} for k, m in t.by_kind],
            "by_site": [{"site": s, "billed_minutes": m} for s, m in t.by_site],
        },
    }
    return json.dumps(body, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
