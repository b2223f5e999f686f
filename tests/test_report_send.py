"""`tma report send`: the monthly report mailed through a real local SMTP server (STARTTLS,
AUTH), its PDF and CSV attached and read back."""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from report_ledger import seed, write_config

from tma_agent.testing.cli import run_tma
from tma_agent.testing.smtp import SMTPServer

PASSWORD_ENV = "TMA_TEST_REPORT_SMTP_PASSWORD"


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    with SMTPServer(password="report-pass") as server:
        yield server


def _config(tmp_path: Path, smtp: SMTPServer, **client: object) -> Path:
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    data = yaml.safe_load(path.read_text())
    data["clients"][0].update(client)
    data["notify"] = {
        "email": {
            "host": "127.0.0.1", "port": smtp.port, "user": "tma", "password": {"$env": PASSWORD_ENV},
            "from": "tma@agency.example", "to": ["lead@agency.example"], "ca_file": str(smtp.ca_file),
        }
    }  # fmt: skip
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "report-pass")


def test_the_report_is_mailed_with_its_pdf_and_csv(tmp_path: Path, smtp: SMTPServer) -> None:
    config = _config(tmp_path, smtp, report_to=["cto@acme.example"])
    seed(config)
    done = run_tma("report", "send", "--client", "acme", "--month", "2026-03", config=config)
    assert done.returncode == 0, done.stderr
    (mail,) = smtp.messages
    assert mail["To"] == "cto@acme.example"
    assert mail["Subject"] == "Rapport mensuel TMA ACME SA : 2026-03"
    assert "pas encore validé" in mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "Rapport mensuel d&#39;interventions" in html and "BROUILLON" in html
    files = {part.get_filename(): part.get_content() for part in mail.iter_attachments()}
    assert set(files) == {"tma-acme-2026-03.pdf", "tma-acme-2026-03.csv"}
    pdf = tmp_path / "sent.pdf"
    pdf.write_bytes(files["tma-acme-2026-03.pdf"])
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    assert "ACME SA" in text.stdout
    rows = list(csv.reader(io.StringIO(files["tma-acme-2026-03.csv"])))
    # The CSV sent is the one `report monthly --format csv` writes.
    plain = run_tma(
        "report",
        "monthly",
        "--client",
        "acme",
        "--month",
        "2026-03",
        "--format",
        "csv",
        config=config,
    )
    assert rows == list(csv.reader(io.StringIO(plain.stdout)))


def test_recipients_and_failures(tmp_path: Path, smtp: SMTPServer) -> None:
    config = _config(tmp_path, smtp)
    seed(config)
    nobody = run_tma("report", "send", "--client", "acme", "--month", "2026-03", config=config)
    assert nobody.returncode == 2 and "no recipient (--to or clients[].report_to)" in nobody.stderr
    wrong = run_tma(
        "report", "send", "--client", "acme", "--month", "2026-03", "--to", "a@acme.example",
        config=config, env={PASSWORD_ENV: "not-the-password"},
    )  # fmt: skip
    assert wrong.returncode == 3 and "authentication failed" in wrong.stderr
    assert "not-the-password" not in wrong.stderr and smtp.messages == []
    dry = run_tma(
        "report", "send", "--client", "acme", "--month", "2026-03", "--to", "a@acme.example",
        "--lang", "en", "--dry-run", config=config,
    )  # fmt: skip
    assert dry.returncode == 0 and "would send 'Maintenance report ACME SA: 2026-03'" in dry.stdout
    assert smtp.messages == []
