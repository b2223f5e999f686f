"""`tma report validate` freezes a month: validating twice and changing it are refused (exit
6), and its report is built from the frozen copy alone: byte for byte the same after the
configuration changed (client renamed, new rate), with its checksum in the footer."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader
from report_ledger import seed, write_config
from sqlalchemy import select

from tma_agent.billing.record import MonthLocked, record_intervention
from tma_agent.config import load_config
from tma_agent.ledger import open_ledger
from tma_agent.ledger.models import MonthValidation
from tma_agent.testing.cli import run_tma

FORMATS = ("html", "csv", "md", "json")


def _render(config: Path, fmt: str, lang: str, month: str = "2026-03") -> bytes:
    result = run_tma(
        "report", "monthly", "--client", "acme", "--month", month, "--format", fmt,
        "--lang", lang, "--output", str(config.parent / f"out.{fmt}"), config=config,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return (config.parent / f"out.{fmt}").read_bytes()


def _validate(config: Path, by: str = "Anne Client") -> subprocess.CompletedProcess[str]:
    return run_tma(
        "report", "validate", "--client", "acme", "--month", "2026-03", "--by", by, config=config
    )


def test_a_validated_month_renders_from_its_frozen_copy_byte_for_byte(
    tmp_path: Path, database_url: str
) -> None:
    config = write_config(tmp_path, database_url)
    seed(config)
    draft = _render(config, "html", "en")
    assert b"DRAFT: this month is not validated" in draft

    done = _validate(config)
    assert done.returncode == 0, done.stderr
    printed = re.search(r"4 entries, sha256 ([0-9a-f]{64})$", done.stdout.strip())
    assert printed, done.stdout
    digest = printed[1]
    with open_ledger(load_config(config)) as ledger, ledger.session() as s:
        row = s.scalars(select(MonthValidation)).one()
        canonical = json.dumps(
            row.frozen["entries"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        assert row.checksum == digest == hashlib.sha256(canonical.encode()).hexdigest()
        assert (row.validated_by, row.source, row.frozen["client"]["name"]) == (
            "Anne Client", "cli", "ACME SA",
        )  # fmt: skip
        assert sum(e["billed_minutes"] for e in row.frozen["entries"]) == 615

    before = {(f, lang): _render(config, f, lang) for f in FORMATS for lang in ("fr", "en")}
    html = before[("html", "en")].decode()
    assert "DRAFT" not in html and "Validated by Anne Client on" in html
    assert f"Checksum (sha256): <code>{digest}</code>" in html
    assert digest in before[("csv", "fr")].decode() and digest in before[("md", "fr")].decode()

    # The client renamed, the rate and the bucket changed: a validated month does not move.
    write_config(tmp_path, database_url, name="ACME Renamed Group", rate="120")
    text = config.read_text().replace("days: '1.5'", "days: '3'")
    config.write_text(text)
    after = {(f, lang): _render(config, f, lang) for f in FORMATS for lang in ("fr", "en")}
    assert after == before
    assert b"ACME SA" in after[("html", "fr")] and b"Renamed" not in after[("html", "fr")]
    # ... while a draft month follows the configuration.
    assert b"ACME Renamed Group" in _render(config, "html", "en", month="2026-04")


def test_validating_twice_and_changing_a_validated_month_are_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    seed(config)
    assert _validate(config).returncode == 0
    again = _validate(config, by="Someone Else")
    assert again.returncode == 6, again
    assert "already validated by Anne Client on" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1 and again.stdout == ""

    loaded = load_config(config)
    locked = pytest.raises(MonthLocked, match="validated by Anne Client")
    with open_ledger(loaded) as ledger, ledger.session() as s, locked:
        record_intervention(
            s, loaded, site="acme-www", kind="corrective", action="manual",
            description="late", actor="agent", measured_minutes=30,
            spent_on=dt.date(2026, 3, 15),
        )  # fmt: skip
    blank = run_tma(
        "report", "validate", "--client", "acme", "--month", "2026-04", "--by", " ", config=config
    )
    assert (blank.returncode, blank.stderr.strip()) == (
        2,
        "error: --by: name who validated the month",
    )


def test_the_pdf_has_the_totals_and_the_validation_time_as_its_date(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    seed(config)
    draft = PdfReader(io.BytesIO(_render(config, "pdf", "fr")))
    assert "BROUILLON" in "".join(page.extract_text() for page in draft.pages)

    assert _validate(config).returncode == 0
    with open_ledger(load_config(config)) as ledger, ledger.session() as s:
        at = s.scalars(select(MonthValidation)).one().at.astimezone(dt.UTC)
    texts = []
    for _ in range(2):
        data = _render(config, "pdf", "fr")
        assert data.startswith(b"%PDF-")
        pdf = tmp_path / "out.pdf"
        extracted = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        texts.append(extracted)
        reader = PdfReader(io.BytesIO(data))
        assert reader.metadata is not None
        assert reader.metadata["/CreationDate"] == at.strftime("D:%Y%m%d%H%M%SZ")
        assert reader.metadata["/ModDate"] == at.strftime("D:%Y%m%d%H%M%SZ")
    assert texts[0] == texts[1]
    text = texts[0]
    assert "Validé par Anne Client" in text and "BROUILLON" not in text
    for total in ("10:15", "8:45", "1:30", "7:15", "17:30", "95,00"):
        assert total in text, total
