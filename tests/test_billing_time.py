"""`tma time log|list|edit|delete` and `tma contract status` through the real command line,
on SQLite and PostgreSQL: the outbox writes of each change, totals equal to the ledger's to the
minute, a validated month refusing every change (exit 6) and taking adjustments instead."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import func, select

from tma_agent.ledger import Ledger, make_engine
from tma_agent.ledger.models import (
    BucketAlert,
    Intervention,
    Kind,
    MonthValidation,
    OutboxItem,
    Request,
    WorkState,
)
from tma_agent.testing.cli import run_tma

DOCS = Path(__file__).parent.parent / "docs"

CONFIG = """\
state_dir: {state}
database: {{url: '{url}'}}
timezone: Europe/Paris
billing: {{increment_minutes: 15, minimum_minutes: 15, non_billable: [evolutive]}}
clients:
  - id: acme
    name: ACME SA
    contract: {{days: 1, hours_per_day: 7, overage_rate: 95, currency: EUR}}
  - id: globex
    name: Globex
sites:
  - id: acme-www
    client: acme
    environments: {{production: {{path: /srv/acme}}}}
  - id: acme-shop
    client: acme
    environments: {{production: {{path: /srv/shop}}}}
  - id: globex-www
    client: globex
    environments: {{production: {{path: /srv/globex}}}}
"""


def assert_valid(document: Any, schema_name: str) -> None:
    schema = json.loads((DOCS / schema_name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert not errors, "\n".join(errors[:10])


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "tma.yaml"
    path.write_text(CONFIG.format(state=tmp_path / "state", url=database_url))
    return path


def tma(config: Path, *args: str, code: int = 0, user: str = "dev-ann") -> str:
    result = run_tma(*args, config=config, env={"TMA_USER": user})
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout if code == 0 else result.stderr


def ledger_of(config: Path) -> Ledger:
    url = config.read_text().split("url: '", 1)[1].split("'", 1)[0]
    return Ledger(make_engine(url))


def listing(config: Path, *args: str) -> dict[str, Any]:
    document = json.loads(tma(config, "time", "list", "--format", "json", *args))
    assert_valid(document, "time-list.schema.json")
    return document


def test_log_edit_delete_queue_time_entries_and_totals_equal_the_ledger(config: Path) -> None:
    said = tma(config, "time", "log", "--site", "acme-www", "--hours", "1.5", "--kind",
               "corrective", "--date", "2026-11-03", "fixed the cache")  # fmt: skip
    assert said.strip() == (
        "time entry #1 logged: 1:30 h billed (1:30 measured), acme-www 2026-11-03 corrective"
    )
    # 20 minutes bill a quarter-hour increment up: 30; evolutive is non-billable here
    tma(config, "time", "log", "--site", "acme-shop", "--hours", "0.3333333", "--kind",
        "preventive", "--date", "2026-11-04", "x", code=2)  # fmt: skip
    tma(config, "time", "log", "--site", "acme-shop", "--hours", "0.35", "--kind", "preventive",
        "--date", "2026-11-04", "--by", "Bob Été", "checked backups")  # fmt: skip
    tma(config, "time", "log", "--site", "acme-www", "--hours", "2", "--kind", "evolutive",
        "--date", "2026-11-05", "new block; \"quoted\", with commas")  # fmt: skip
    tma(config, "time", "log", "--site", "globex-www", "--hours", "1", "--kind", "corrective",
        "--date", "2026-12-01", "elsewhere")  # fmt: skip

    document = listing(config, "--client", "acme", "--month", "2026-11")
    rows = document["entries"]
    assert [
        (r["id"], r["site"], r["by"], r["measured_minutes"], r["billed_minutes"]) for r in rows
    ] == [
        (1, "acme-www", "dev-ann", 90, 90),
        (2, "acme-shop", "Bob Été", 21, 30),
        (3, "acme-www", "dev-ann", 120, 0),
    ]
    with ledger_of(config) as ledger, ledger.session() as session:
        billed = session.scalar(
            select(func.sum(Intervention.billed_minutes)).where(
                Intervention.client == "acme", Intervention.month == "2026-11"
            )
        )
        keys = set(session.scalars(select(OutboxItem.idempotency_key)))
    assert document["totals"] == {"entries": 3, "measured_minutes": 231, "billed_minutes": billed}
    assert billed == 120
    assert keys == {f"time_create:{i}:0" for i in (1, 2, 3, 4)}

    said = tma(config, "time", "edit", "1", "--hours", "2.25", "--description", "cache and CDN")
    assert "edited (revision 1): 2:15 h billed" in said
    tma(config, "time", "edit", "2", "--kind", "evolutive")
    tma(config, "time", "delete", "3")
    tma(config, "time", "delete", "3", code=2)
    tma(config, "time", "edit", "3", "--hours", "1", code=2)

    after = listing(config, "--client", "acme")
    assert [(r["id"], r["billed_minutes"], r["revision"]) for r in after["entries"]] == [
        (1, 135, 1),
        (2, 0, 1),
    ]
    assert after["entries"][0]["description"] == "cache and CDN"
    with_deleted = listing(config, "--client", "acme", "--deleted")
    assert [(r["id"], r["deleted"]) for r in with_deleted["entries"]] == [
        (1, False),
        (2, False),
        (3, True),
    ]
    assert (
        with_deleted["totals"]
        == after["totals"]
        == {
            "entries": 2,
            "measured_minutes": 156,
            "billed_minutes": 135,
        }
    )
    with ledger_of(config) as ledger, ledger.session() as session:
        writes = {
            (o.idempotency_key, o.payload["minutes"])
            for o in session.scalars(
                select(OutboxItem).where(OutboxItem.operation != "time_create")
            )
        }
    assert writes == {("time_update:1:1", 135), ("time_update:2:1", 0), ("time_delete:3:1", 0)}

    # A spreadsheet's CSV: BOM, `;`, a header, and a total row equal to the ledger's sums.
    result = run_tma("time", "list", "--format", "csv", "--csv-bom", "--delimiter", ";",
                     "--totals", "--deleted", config=config)  # fmt: skip
    assert result.returncode == 0, result.stderr
    raw = result.stdout.encode("utf-8") if isinstance(result.stdout, str) else result.stdout
    assert raw.startswith("\ufeff".encode())
    table = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff")), delimiter=";"))
    assert [r["id"] for r in table] == ["1", "2", "3", "4", "total"]
    live = [r for r in table[:-1] if r["deleted"] != "yes"]
    assert sum(int(r["billed_minutes"]) for r in live) == int(table[-1]["billed_minutes"]) == 195
    assert table[-1]["billed_hours"] == "3:15"
    assert table[1]["by"] == "Bob Été"
    assert table[2]["description"] == 'new block; "quoted", with commas'


def _validate_month(config: Path, client: str, month: str) -> None:
    # The state `tma report validate` leaves: one row per client and month.
    with ledger_of(config) as ledger, ledger.session() as session:
        session.add(
            MonthValidation(
                client=client,
                month=month,
                validated_by="Alice Client",
                source="cli",
                checksum="ab" * 32,
                frozen={"entries": []},
            )
        )


def test_a_validated_month_refuses_changes_and_takes_adjustments(config: Path) -> None:
    log = ("time", "log", "--site", "acme-www", "--kind", "corrective")
    tma(config, *log, "--hours", "2", "--date", "2026-10-30", "october work")
    tma(config, *log, "--hours", "1", "--date", "2026-11-02", "november work")
    _validate_month(config, "acme", "2026-10")

    locked = "acme 2026-10 was validated by Alice Client on "
    for args in (
        ("time", "edit", "1", "--hours", "1"),
        ("time", "edit", "1", "--date", "2026-11-03"),
        ("time", "delete", "1"),
        ("time", "edit", "2", "--date", "2026-10-31"),
        (*log, "--hours", "1", "--date", "2026-10-15", "late"),
    ):
        stderr = tma(config, *args, code=6)
        assert stderr.startswith(f"error: {locked}"), stderr
        assert "record an adjustment in an open month instead" in stderr
        assert len(stderr.splitlines()) == 1
    # Another client's month is its own.
    tma(config, "time", "log", "--site", "globex-www", "--kind", "corrective", "--hours", "1",
        "--date", "2026-10-15", "globex october")  # fmt: skip

    said = tma(config, *log, "--hours", "-0.5", "--adjusts", "1", "--date", "2026-11-20",
               "October: half an hour billed twice")  # fmt: skip
    assert said.strip().endswith("adjusts #1")
    assert "-0:30 h billed" in said
    table = tma(config, "time", "list", "--format", "table", "--month", "2026-11")
    assert "[adjusts #1] October: half an hour billed twice" in table

    # An open month's entry is edited, not adjusted; negative hours need --adjusts.
    assert "edit it (tma time edit 2)" in tma(config, *log, "--hours", "-1", "--adjusts", "2",
                                              "--date", "2026-11-20", "x", code=2)  # fmt: skip
    assert "only for an adjustment" in tma(config, *log, "--hours", "-0.5", "x", code=2)
    assert "no time entry #99" in tma(config, *log, "--hours", "1", "--adjusts", "99", "x", code=2)
    stderr = tma(config, "time", "log", "--site", "globex-www", "--kind", "corrective", "--hours",
                 "1", "--adjusts", "1", "x", code=2)  # fmt: skip
    assert "acme's" in stderr

    november = listing(config, "--month", "2026-11", "--client", "acme")
    assert [(r["id"], r["billed_minutes"], r["adjusts"]) for r in november["entries"]] == [
        (2, 60, None),
        (4, -30, 1),
    ]
    assert november["totals"]["billed_minutes"] == 30
    october = listing(config, "--month", "2026-10", "--client", "acme")
    assert october["totals"]["billed_minutes"] == 120
    # An adjustment's hours are edited like any entry of an open month; still signed.
    tma(config, "time", "edit", "4", "--hours", "-0.25")
    status = json.loads(
        tma(config, "contract", "status", "--date", "2026-11-25", "--format", "json")
    )
    assert_valid(status, "contract-status.schema.json")
    acme = status["clients"][0]
    assert (acme["client"], acme["consumed_minutes"], acme["remaining_minutes"]) == (
        "acme",
        45,
        375,
    )
    assert status["clients"][1] == {"client": "globex", "name": "Globex", "contract": False}


def test_contract_status_shows_overage_and_raises_each_alert_once(config: Path) -> None:
    log = ("time", "log", "--site", "acme-www", "--kind", "corrective", "--date")
    result = run_tma(*log, "2026-11-02", "--hours", "5.5", "work", config=config)
    assert result.returncode == 0 and "bucket alert" not in result.stderr  # 330 / 420: 78 %
    result = run_tma(*log, "2026-11-03", "--hours", "0.25", "more", config=config)
    assert result.returncode == 0
    assert "bucket alert: acme: 82 % of the bucket used since 2026-11-01 (threshold 80 %)" in (
        result.stderr
    )
    result = run_tma(*log, "2026-11-04", "--hours", "0.25", "more", config=config)
    assert "bucket alert" not in result.stderr
    # Past 100 %: recorded, shown as overage, alerted once.
    result = run_tma(*log, "2026-11-05", "--hours", "3", "big fix", config=config)
    assert result.returncode == 0, result.stderr
    assert "128 % of the bucket used since 2026-11-01 (threshold 100 %, 2:00 h of overage)" in (
        result.stderr
    )
    assert "threshold 80 %" not in result.stderr
    # The next month is another period.
    result = run_tma(*log, "2026-12-01", "--hours", "6", "december", config=config)
    assert "since 2026-12-01 (threshold 80 %)" in result.stderr
    with ledger_of(config) as ledger, ledger.session() as session:
        raised = sorted(
            (a.period_start.isoformat(), a.threshold) for a in session.scalars(select(BucketAlert))
        )
    assert raised == [("2026-11-01", 80), ("2026-11-01", 100), ("2026-12-01", 80)]

    status = json.loads(tma(config, "contract", "status", "--client", "acme", "--date",
                            "2026-11-30", "--format", "json"))  # fmt: skip
    assert_valid(status, "contract-status.schema.json")
    (acme,) = status["clients"]
    assert acme["consumed_minutes"] == 330 + 15 + 15 + 180
    assert (acme["overage_minutes"], acme["overage_amount"], acme["used_percent"]) == (
        120,
        "190.00",
        128,
    )
    table = tma(config, "contract", "status", "--date", "2026-11-30", "--format", "table")
    assert "2:00 = 190.00 EUR" in table
    assert "no contract" in table


def test_a_request_reference_links_the_entry(config: Path) -> None:
    tma(config, "time", "list", "--format", "json")  # creates the ledger
    with ledger_of(config) as ledger, ledger.session() as session:
        session.add(
            Request(
                fingerprint="acme-www:security",
                site="acme-www",
                client="acme",
                group_key="security",
                kind=Kind.CORRECTIVE,
                priority="high",
                estimate_minutes=60,
                title="Security updates",
                description="",
                target_digest="0" * 64,
                state=WorkState.NEW,
                ticket_ref="RM-42",
            )
        )
    log = ("time", "log", "--kind", "corrective", "--hours", "1", "--date", "2026-11-02")
    tma(config, *log, "--site", "acme-www", "--request", "RM-42", "applied")
    tma(config, *log, "--site", "acme-www", "--request", "#1", "tested")
    assert "request #1 is acme-www's" in tma(
        config, *log, "--site", "acme-shop", "--request", "1", "x", code=2
    )
    assert "no request 'RM-7'" in tma(config, *log, "--site", "acme-www", "--request", "RM-7", "x",
                                      code=2)  # fmt: skip
    rows = listing(config)["entries"]
    assert [(r["request"], r["request_id"]) for r in rows] == [("RM-42", 1), ("RM-42", 1)]
    with ledger_of(config) as ledger, ledger.session() as session:
        assert {o.request_id for o in session.scalars(select(OutboxItem))} == {1}


LOG = ("time", "log", "--site", "acme-www", "--kind", "corrective")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((*LOG, "--hours", "0", "x"), "error: --hours 0: an entry needs some time"),
        ((*LOG, "--hours", "500", "x"), "error: --hours 500: more than 24 h in one entry"),
        ((*LOG, "--hours", "1h30", "x"), "error: --hours '1h30': not a number of hours (1.5 is 1 h 30)"),
        ((*LOG, "--hours", "1", "--date", "2026-02-30", "x"), "error: --date '2026-02-30': not a date (YYYY-MM-DD)"),
        ((*LOG, "--hours", "1", "  "), "error: say what was done (the entry's description)"),
        (("time", "log", "--site", "nope", "--kind", "corrective", "--hours", "1", "x"), "error: --site 'nope': no such site in the configuration"),
        (("time", "list", "--month", "2026-13"), "error: --month '2026-13': not a month (YYYY-MM)"),
        (("time", "list", "--month", "2026-1"), "error: --month '2026-1': not a month (YYYY-MM)"),
        (("time", "list", "--client", "nope"), "error: --client 'nope': no such client in the configuration"),
        (("time", "list", "--format", "csv", "--delimiter", ";;"), "error: --delimiter ';;': one character (, or ;)"),
        (("time", "edit", "99", "--hours", "1"), "error: no time entry #99 (tma time list shows them)"),
        (("time", "edit", "1"), "error: nothing to change: give --hours, --kind, --date, --description or --by"),
        (("time", "delete", "7"), "error: no time entry #7 (tma time list shows them)"),
        (("contract", "status", "--client", "nope"), "error: --client 'nope': no such client (acme, globex)"),
        (("contract", "status", "--date", "02/11/2026"), "error: --date '02/11/2026': not a date (YYYY-MM-DD)"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    path = tmp_path / "tma.yaml"
    path.write_text(CONFIG.format(state=tmp_path / "state", url=f"sqlite:///{tmp_path / 'l.db'}"))
    result = run_tma(*args, config=path)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", message + "\n")
