"""`tma report monthly` through the real command line on a ledger recorded with the real
`record_intervention`: every format's totals equal the ledger's sums to the minute, on SQLite
and PostgreSQL; deleted entries are left out, adjustments shown as such; fr/en formats."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from report_ledger import ENTRIES, seed, write_config
from sqlalchemy import func, select, update

from tma_agent.billing.record import record_intervention
from tma_agent.config import load_config
from tma_agent.ledger import open_ledger
from tma_agent.ledger.models import Intervention, Kind, Request, WorkState, utcnow
from tma_agent.testing.cli import run_tma

SCHEMA = Path(__file__).parent.parent / "docs" / "report.schema.json"


def _report(config: Path, *args: str, client: str = "acme", month: str = "2026-03") -> str:
    result = run_tma(
        "report", "monthly", "--client", client, "--month", month, *args, config=config
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _ledger_sums(
    config: Path, client: str, month: str
) -> tuple[int, dict[str, int], dict[str, int]]:
    live = (
        Intervention.client == client,
        Intervention.month == month,
        Intervention.deleted_at.is_(None),
    )
    with open_ledger(load_config(config)) as ledger, ledger.session() as s:
        total = s.scalar(select(func.sum(Intervention.billed_minutes)).where(*live))
        kinds = s.execute(
            select(Intervention.kind, func.sum(Intervention.billed_minutes))
            .where(*live)
            .group_by(Intervention.kind)
        ).all()
        sites = s.execute(
            select(Intervention.site, func.sum(Intervention.billed_minutes))
            .where(*live)
            .group_by(Intervention.site)
        ).all()
    return int(total or 0), {str(k): int(m) for k, m in kinds}, {k: int(m) for k, m in sites}


def _csv_rows(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def test_csv_totals_equal_the_ledger_sums_to_the_minute(tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, database_url)
    ids = seed(config)
    # A deleted entry is left out; an adjustment of February's entry is shown as one.
    with open_ledger(load_config(config)) as ledger, ledger.session() as s:
        s.execute(update(Intervention).where(Intervention.id == ids[2]).values(deleted_at=utcnow()))
        record_intervention(
            s, load_config(config), site="acme-www", kind="preventive", action="manual",
            description="Correction of February", actor="Marc", measured_minutes=25,
            spent_on=dt.date(2026, 3, 20), adjusts_id=ids[4],
        )  # fmt: skip
        # Work done for a maintenance request shows its ticket, else its fingerprint.
        for n, ticket in ((1, "#4321"), (2, None)):
            request = Request(
                fingerprint=f"acme-www:drupal:security:{n}", site="acme-www", client="acme",
                group_key="g", kind=Kind.PREVENTIVE, priority="high", estimate_minutes=60,
                title="t", description="d", target_digest="0" * 64, targets=[],
                state=WorkState.IN_PRODUCTION, ticket_ref=ticket,
            )  # fmt: skip
            s.add(request)
            s.flush()
            record_intervention(
                s, load_config(config), site="acme-www", kind="preventive", action="apply",
                description=f"Update {n}", actor="agent", measured_minutes=10,
                spent_on=dt.date(2026, 3, 25), request_id=request.id,
            )  # fmt: skip
    total, kinds, sites = _ledger_sums(config, "acme", "2026-03")
    # The evolutive 435 minutes are deleted; an adjustment bills exactly its 25 minutes (no
    # increment, no minimum: it corrects a billed amount).
    assert total == 60 + 30 + 90 + 25 + 15 + 15

    for lang, delimiter in (("fr", ";"), ("en", ",")):
        rows = _csv_rows(_report(config, "--format", "csv", "--lang", lang), delimiter)
        entries = [r for r in rows if r[0] == "entry"]
        assert [r[5] for r in entries] == [
            ENTRIES[0][5], ENTRIES[1][5], "Correction of February", "Update 1", "Update 2",
            ENTRIES[3][5],
        ]  # fmt: skip
        assert [r[9] for r in entries] == ["", "", str(ids[4]), "", "", ""]
        assert [r[3] for r in entries][3:5] == ["#4321", "acme-www:drupal:security:2"]
        assert sum(int(r[7]) for r in entries) == total
        (total_row,) = [r for r in rows if r[0] == "total"]
        assert int(total_row[7]) == total
        assert total_row[8] == f"{total // 60}:{total % 60:02d}"
        assert {r[4]: int(r[7]) for r in rows if r[0] == "kind"} == kinds
        assert {r[2]: int(r[7]) for r in rows if r[0] == "site"} == sites
        bucket = {r[5]: int(r[7]) for r in rows if r[0] == "bucket" and r[5] != "overage_amount"}
        assert bucket["consumed"] == total

    document = json.loads(_report(config, "--format", "json", "--lang", "en"))
    assert document["totals"]["billed_minutes"] == total
    assert document["entries"][2]["adjusts"] == {"id": ids[4], "month": "2026-02"}
    markdown = _report(config, "--format", "md", "--lang", "en")
    assert "adjustment of #5 (2026-02)" in markdown and "New checkout step" not in markdown


def test_the_bucket_carries_over_and_prices_the_overage_in_both_languages(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    seed(config)
    acme = json.loads(_report(config, "--format", "json"))["bucket"]
    # 1.5 days of 7 h a month; January unused leaves the cap (1 day = 420 min) to February,
    # February (60 min used) leaves the cap again to March.
    assert (acme["bought_minutes"], acme["carried_minutes"]) == (630, 420)
    assert (acme["at_month_start_minutes"], acme["consumed_minutes"]) == (1050, 615)
    assert (acme["remaining_minutes"], acme["overage_minutes"]) == (435, 0)
    assert (acme["period_start"], acme["period_end"]) == ("2026-03-01", "2026-03-31")
    assert acme["burndown"][0] == ["2026-03-01", 1050] and acme["burndown"][-1][1] == 435

    other = json.loads(_report(config, "--format", "json", client="other"))["bucket"]
    assert (other["overage_minutes"], other["overage_amount"]) == (390, "1625.00")
    french = _report(config, "--format", "html", "--lang", "fr", client="other")
    english = _report(config, "--format", "html", "--lang", "en", client="other")
    assert "1\u202f625,00\xa0€" in french and "250,00\xa0€" in french
    assert "€1,625.00" in english and "€250.00" in english
    assert "5 mars 2026" in french and "Mar 5, 2026" in english
    assert "10:00" in french and "6:30" in french
    fr_csv = _csv_rows(_report(config, "--format", "csv", "--lang", "fr", client="other"), ";")
    en_csv = _csv_rows(_report(config, "--format", "csv", "--lang", "en", client="other"), ",")
    assert [r[7] for r in fr_csv if r[5:6] == ["overage_amount"]] == ["1625,00"]
    assert [r[7] for r in en_csv if r[5:6] == ["overage_amount"]] == ["1625.00"]


def test_html_is_self_contained_escaped_and_says_draft(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    seed(config)
    html = _report(config, "--format", "html", "--lang", "fr")
    assert "Formulaire &lt;contact&gt; réparé &amp; testé" in html
    assert "<contact>" not in html
    assert "BROUILLON" in html and 'src="data:image/png;base64,' in html
    assert "http://" not in html and "https://" not in html  # nothing fetched from elsewhere
    assert "Février" not in html and "February, not in March" not in html
    with_bom = run_tma(
        "report", "monthly", "--client", "acme", "--month", "2026-03", "--format", "csv", "--bom",
        "--output", str(tmp_path / "r.csv"), config=config,
    )  # fmt: skip
    assert with_bom.returncode == 0, with_bom.stderr
    assert (tmp_path / "r.csv").read_bytes().startswith("\ufeffrow;".encode())


def test_the_json_report_follows_its_schema(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    seed(config)
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for client, month in (("acme", "2026-03"), ("other", "2026-03"), ("acme", "2025-01")):
        document = json.loads(_report(config, "--format", "json", client=client, month=month))
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
        assert errors == []
    assert validator.is_valid({**document, "entries": [{"id": "1"}]}) is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--client", "acme", "--month", "2026-13"), "--month '2026-13': expected YYYY-MM"),
        (("--client", "acme", "--month", "march"), "--month 'march': expected YYYY-MM"),
        (("--client", "nobody", "--month", "2026-03"), "--client 'nobody': no such client"),
        (("--client", "acme", "--month", "2026-03", "--lang", "de"), "'de' is not one of"),
        (("--client", "acme", "--month", "2026-03", "--output", "/nonexistent/r.html"), "--output"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    for command in ("monthly", "validate"):
        extra = ("--by", "Anne") if command == "validate" else ()
        if command == "validate" and ("--lang" in args or "--output" in args):
            continue
        result = run_tma("report", command, *args, *extra, config=config)
        assert result.returncode == 2, result
        assert message in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_deleted_entry_does_not_start_the_carry_over_earlier(tmp_path: Path) -> None:
    # Without a contract start, carry-over begins with the client's first live intervention:
    # a deleted January entry must not make January and February carry their unused bucket.
    config_path = write_config(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    document = yaml.safe_load(config_path.read_text())
    document["clients"][1]["contract"]["carry_over"] = {"mode": "all"}
    config_path.write_text(yaml.safe_dump(document))
    seed(config_path)
    config = load_config(config_path)
    with open_ledger(config) as ledger, ledger.session() as s:
        early = record_intervention(
            s, config, site="o", kind="corrective", action="manual", description="mistake",
            actor="agent", measured_minutes=30, spent_on=dt.date(2026, 1, 10),
        )  # fmt: skip
        early.deleted_at = utcnow()
    bucket = json.loads(_report(config_path, "--format", "json", client="other"))["bucket"]
    assert (bucket["carried_minutes"], bucket["overage_minutes"]) == (0, 390)
